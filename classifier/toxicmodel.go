package classifier

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/otklik/otklik"
)

// ToxicModel is a logistic regression over hashed features that scores how offensive a
// text is: character 3–5-grams of every normalised word (with word boundaries, so masked
// and misspelt forms and unseen derivations share evidence with known ones), the words'
// stems, pairs of adjacent stems, and flags for what the lexicon found. It backs up the
// point-16 lexicon: a text the lexicon finds clean but the model scores at or above
// Threshold, with at least one strongly toxic feature, is dropped as an insult, with the
// model's strongest features as the evidence. It is trained by `otklik train --toxic`
// from texts labelled toxic or not; the weights are quantised to int8.
type ToxicModel struct {
	ID        string
	Threshold float64
	bias      float64
	bits      uint    // log2 of the number of weight buckets
	scale     float64 // weight of one quantisation step
	q         []int8  // quantised weights, one per bucket
	norm      float64 // the feature sum is divided by (number of features)^norm
	strong    float64 // weight one word must reach for the model to drop a text
	// civic is subtracted from the log-odds per word of the topic dictionaries (at most
	// two): the model learnt offence on an imageboard, and a resident's complaint full of
	// civic vocabulary needs stronger evidence than the training data alone would ask.
	civic float64
	// minWords is the number of distinct model words a text needs for the model to drop
	// it: a text of two or three words is judged by the lexicon alone («хлебать щи»,
	// «мудрый мандарин», «Задолбали уже»).
	minWords int
	// mlp, when the file has one (v3), is a small network over the same features whose
	// logit replaces or adds to the linear one (see toxicmlp.go).
	mlp *toxicMLP
}

// ToxicExample is one labelled text to train the toxic model on.
type ToxicExample struct {
	Text  string
	Toxic bool
}

// toxicStop are words the toxic model ignores: pronouns and particles say how a text
// addresses someone, not whether it offends, and would make «спасибо тебе» suspect.
var toxicStop = map[string]bool{
	"ты": true, "тебе": true, "тебя": true, "тобой": true, "твой": true, "твоя": true, "твои": true, "твое": true,
	"вы": true, "вам": true, "вас": true, "вами": true, "ваш": true, "ваша": true, "ваши": true, "ваше": true,
	"он": true, "она": true, "они": true, "его": true, "ее": true, "их": true, "им": true, "ему": true, "ей": true,
	"себе": true, "себя": true, "это": true,
	// Euphemisms do not count for point 16 (labels.md).
	"блин": true, "блина": true, "нахрен": true, "хрен": true, "хрена": true, "охренели": true, "охренеть": true,
	"офигели": true, "фиг": true, "нафиг": true, "фига": true, "черт": true, "блинский": true, "этот": true, "эта": true, "эти": true, "вот": true, "ну": true,
	"так": true, "там": true, "тут": true, "уже": true, "еще": true, "только": true, "даже": true, "все": true, "всех": true,
	// Verbs that address the reader («знаешь?», «пишите в комментариях») say, like the
	// pronouns, that a text speaks to someone, not that it offends: on the imageboard they
	// come with insults, in a community's post they invite answers.
	"знаешь": true, "знаете": true, "пишите": true, "напишите": true, "скажите": true, "подскажите": true,
	"смотри": true, "смотрите": true, "слушай": true, "слушайте": true, "понимаешь": true, "понимаете": true,
	"видишь": true, "видите": true, "представляете": true,
}

// Feature codes. A feature is a uint64 whose top four bits are its kind and whose other
// bits spell it (7 bits per letter, see runeCode), so the evidence can name it without a
// name table; the weight bucket is a hash of the code.
const (
	kindFlag  = 1 // lexicon finding or #caps; low bits: flag number
	kindGram  = 2 // character n-gram of a word, up to 5 letters
	kindStem  = 3 // stem, its first 8 letters
	kindPair  = 4 // adjacent stems, the first 4 letters of each
	kindCount = 5 // not weighted: the number of weighted features (for the norm)
	kindWord  = 6 // not weighted: the next features are of this word (its first 8 letters)

	flagObscene = 1
	flagInsult  = 2
	flagThreat  = 3
	flagCaps    = 4
	flagCivic   = 8  // + 0..4 words of the topic dictionaries
	flagPron    = 16 // + 0..2 pronouns
	flagLen     = 24 // + bit length of the number of words

	codeStart = 1
	codeEnd   = 2
	codeStar  = 3
	codeOther = 72

	gramMin, gramMax = 3, 5
)

// runeCode maps a normalised letter to 7 bits: 4–35 Cyrillic а–я, 36–61 Latin, 62–71
// digits, 3 the mask star, 72 anything else.
func runeCode(r rune) uint64 {
	switch {
	case r >= 'а' && r <= 'я':
		return 4 + uint64(r-'а')
	case r == 'ё':
		return 4 + uint64('е'-'а')
	case r >= 'a' && r <= 'z':
		return 36 + uint64(r-'a')
	case r >= '0' && r <= '9':
		return 62 + uint64(r-'0')
	case r == '*':
		return codeStar
	}
	return codeOther
}

func codeRune(c uint64) rune {
	switch {
	case c == codeStart:
		return '<'
	case c == codeEnd:
		return '>'
	case c == codeStar:
		return '*'
	case c >= 4 && c <= 35:
		return 'а' + rune(c-4)
	case c >= 36 && c <= 61:
		return 'a' + rune(c-36)
	case c >= 62 && c <= 71:
		return '0' + rune(c-62)
	}
	return '?'
}

// packRunes packs up to max letters of s, 7 bits each.
func packRunes(s string, max int) uint64 {
	var v uint64
	for i, n := 0, 0; i < len(s) && n < max; n++ {
		r, k := decodeAt(s, i)
		v |= runeCode(r) << (7 * n)
		i += k
	}
	return v
}

func unpack(v uint64, max int) string {
	var b strings.Builder
	for i := 0; i < max; i++ {
		c := (v >> (7 * i)) & 127
		if c == 0 {
			break
		}
		b.WriteRune(codeRune(c))
	}
	return b.String()
}

// featureName spells a feature code for the evidence.
func featureName(f uint64) string {
	v := f & (1<<60 - 1)
	switch f >> 60 {
	case kindFlag:
		switch {
		case v < 8:
			return [...]string{"", "#obscene", "#insult", "#threat", "#caps", "", "", ""}[v]
		case v < 16:
			return "#civic" + strconv.Itoa(int(v-8))
		case v < 24:
			return "#pronouns" + strconv.Itoa(int(v-16))
		}
		return "#length" + strconv.Itoa(int(v-24))
	case kindGram:
		return unpack(v, gramMax)
	case kindStem:
		return unpack(v, 8)
	case kindPair:
		return unpack(v, 4) + "_" + unpack(v>>28, 4)
	}
	return "?"
}

// bucket maps a feature code to a weight index.
func (m *ToxicModel) bucket(f uint64) uint64 {
	f ^= f >> 33
	f *= 0xff51afd7ed558ccd
	f ^= f >> 33
	f *= 0xc4ceb9fe1a85ec53
	f ^= f >> 33
	return f >> (64 - m.bits)
}

// modelWord reports whether a word feeds the model: not a pronoun, not a word of the topic
// dictionaries (civic vocabulary such as «мусор», «крысы» is never evidence of offence),
// not a number.
func modelWord(wi *wordInfo) bool { return wi.model }

// wordCodes writes the letter codes of "<word>" into codes and returns their number.
func wordCodes(word string, codes *[48]uint64) int {
	n := 0
	codes[n] = codeStart
	n++
	for i := 0; i < len(word) && n < len(codes)-1; n++ {
		r, k := decodeAt(word, i)
		codes[n] = runeCode(r)
		i += k
	}
	codes[n] = codeEnd
	return n + 1
}

// bannedWord reports whether a word contains a root of bannedGrams3 or bannedGrams4: the
// lexicon, which found nothing, has told it apart from obscene words («скипидар»,
// «хлебать», «колебаться», «мудрый», «оскорблять», «уродился», «Задолбали» — a
// euphemism), so the model does not take it as evidence either.
func bannedWord(codes *[48]uint64, n int) bool {
	for i := 0; i+3 <= n; i++ {
		if !bannedFirst[codes[i]&127] {
			continue
		}
		c3 := codes[i] | codes[i+1]<<7 | codes[i+2]<<14
		if slices.Contains(bannedGrams3, c3) || i+4 <= n && slices.Contains(bannedGrams4, c3|codes[i+3]<<21) {
			return true
		}
	}
	return false
}

// wordFeatures calls emit with the features of one word: its character n-grams (with
// boundary marks) and its stem. It reports false, emitting nothing, for a banned word.
func wordFeatures(wi *wordInfo, mark bool, emitMark, emit func(uint64)) bool {
	var codes [48]uint64
	n := wordCodes(wi.word, &codes)
	if bannedWord(&codes, n) {
		return false
	}
	if mark {
		emitMark(uint64(kindWord)<<60 | packRunes(wi.word, 8))
	}
	for g := gramMin; g <= gramMax; g++ {
		for i := 0; i+g <= n; i++ {
			v := uint64(kindGram) << 60
			for k := 0; k < g; k++ {
				v |= codes[i+k] << (7 * k)
			}
			emit(v)
		}
	}
	emit(uint64(kindStem)<<60 | packRunes(wi.stem, 8))
	return true
}

// bannedGrams3 and bannedGrams4 are the letters of the obscene lexicon's roots (and a
// few roots of insults and euphemisms that are parts of ordinary words). The model runs
// only on texts the lexicon found clean, where a word containing one is an ordinary word
// the lexicon has already told apart; the model ignores such words (see bannedWord).
var bannedGrams3, bannedGrams4 = packAll(3, "хуй", "хуе", "хуя", "хую", "хуи", "еба", "ебу", "ебл", "ебн", "ебо", "ебе", "ебы",
	"ебк", "бля", "пиз", "пид", "муд"), packAll(4, "долб", "урод", "манд", "сучк", "чмош")

// bannedFirst marks the letter codes that start a banned root (a filter in front of the
// lists).
var bannedFirst = func() (t [128]bool) {
	for _, g := range append(slices.Clone(bannedGrams3), bannedGrams4...) {
		t[g&127] = true
	}
	return t
}()

func packAll(n int, ws ...string) []uint64 {
	out := make([]uint64, 0, len(ws))
	for _, w := range ws {
		if utf8.RuneCountInString(w) != n {
			panic("packAll: " + w)
		}
		out = append(out, packRunes(w, n))
	}
	return out
}

// pairCode is the feature of two adjacent model words (their stems' first four letters).
func pairCode(a, b *wordInfo) uint64 {
	return uint64(kindPair)<<60 | uint64(a.pair) | uint64(b.pair)<<28
}

// eachFeature calls emit for every feature of an analysed text (each distinct model word
// once, pairs of adjacent model words) and returns the number of features.
// With mark, each distinct word's features are preceded by a kindWord entry naming it.
func eachFeature(a *analysis, mark bool, emit func(uint64)) int {
	n := 0
	count := func(f uint64) { n++; emit(f) }
	walkFeatures(a, func(wi *wordInfo, dup bool) bool {
		if dup {
			var codes [48]uint64
			return !bannedWord(&codes, wordCodes(wi.word, &codes))
		}
		return wordFeatures(wi, mark, emit, count)
	}, count)
	return n
}

// walkFeatures is the one walk over an analysed text that both the feature list and the
// quick score make. For each model word it calls word (dup: the word was seen before in
// the text), which handles the word's own features and reports whether the word counts (a
// word with a banned root does not, and breaks the chain of pairs); it emits the pair
// features of adjacent counting words and the text's flags (caps, civic, pronouns, length).
func walkFeatures(a *analysis, word func(wi *wordInfo, dup bool) bool, emit func(uint64)) {
	caps, civic, pron := 0, 0, 0
	var prev *wordInfo
	// Words are told apart by their text: two workers that analyse a new word at once
	// may each hold an info of it.
	// A long text's words go through a set kept with the scratch space (cleared, not
	// reallocated, for each text); a short one's are compared with those before them.
	var seen map[string]struct{}
	if len(a.winfo) > 48 {
		if a.seen == nil {
			a.seen = make(map[string]struct{}, len(a.winfo))
		}
		seen = a.seen
		clear(seen)
	}
	for i, wi := range a.winfo {
		if a.toks[a.wpos[i]].Cap {
			caps++
		}
		if !modelWord(wi) {
			if len(wi.hits.topics) > 0 {
				civic++
			} else if wi.stop {
				pron++
			}
			prev = nil
			continue
		}
		dup := false
		if seen != nil {
			_, dup = seen[wi.word]
			seen[wi.word] = struct{}{}
		} else {
			for _, p := range a.winfo[:i] {
				// Infos of the same word come from the same cache and so carry the same
				// hash: comparing it first spares most string comparisons.
				if p == wi || p.h == wi.h && p.word == wi.word {
					dup = true
					break
				}
			}
		}
		if !word(wi, dup) {
			prev = nil
			continue
		}
		if prev != nil {
			emit(pairCode(prev, wi))
		}
		prev = wi
	}
	if len(a.winfo) >= 4 && caps*2 > len(a.winfo) {
		emit(uint64(kindFlag)<<60 | flagCaps)
	}
	// How civic the text is (words of the topic dictionaries), whether it addresses
	// someone, and its length, in bins.
	emit(uint64(kindFlag)<<60 | flagCivic + uint64(min(civic, 4)))
	emit(uint64(kindFlag)<<60 | flagPron + uint64(min(pron, 2)))
	emit(uint64(kindFlag)<<60 | flagLen + uint64(bits.Len(uint(len(a.winfo)))))
}

func flagCode(r otklik.DropReason) uint64 {
	switch r {
	case otklik.Obscene:
		return uint64(kindFlag)<<60 | flagObscene
	case otklik.Insult:
		return uint64(kindFlag)<<60 | flagInsult
	}
	return uint64(kindFlag)<<60 | flagThreat
}

// toxicFeatures lists the features of an analysed text (with repeats: a letter n-gram of
// two different words counts twice), the lexicon's findings, and a kindCount entry with
// the number of weighted features. names is unused (features spell themselves).
func (c *Classifier) toxicFeatures(a *analysis, found []otklik.DropReason, out []uint64, _ map[uint64]string) []uint64 {
	out = out[:0]
	for _, r := range found {
		out = append(out, flagCode(r))
	}
	n := eachFeature(a, true, func(f uint64) { out = append(out, f) })
	return append(out, uint64(kindCount)<<60|uint64(n+len(found)))
}

// weight is the dequantised weight of a feature.
func (m *ToxicModel) weight(f uint64) float64 { return float64(m.q[m.bucket(f)]) * m.scale }

func (m *ToxicModel) normOf(n int) float64 {
	if m.norm == 0 || n <= 1 {
		return 1
	}
	return math.Pow(float64(n), -m.norm)
}

// quickToxic is the model's probability for a text the lexicon found clean; it sums the
// quantised weights of the features without building the feature list.
func (c *Classifier) quickToxic(a *analysis) float64 {
	m := c.tmodel
	var acc int32
	n := 0
	walkFeatures(a, func(wi *wordInfo, dup bool) bool {
		if wi.tbanned {
			return false
		}
		if !dup {
			acc += wi.tq
			n += int(wi.tn)
		}
		return true
	}, func(f uint64) { n++; acc += int32(m.q[m.bucket(f)]) })
	s := float64(acc) * m.scale
	return 1 / (1 + math.Exp(-(m.bias + s*m.normOf(n))))
}

// quickMargin is how far below the threshold quickToxic may stop looking: 0 when the
// model's civic shift is not negative (the quick estimate then bounds the exact score from
// above), a safety margin otherwise.
func (m *ToxicModel) quickMargin() float64 {
	if m.mlp != nil {
		// The linear estimate does not bound the network's score: always score exactly.
		return 1
	}
	if m.civic >= 0 {
		return 0
	}
	return 0.1
}

// wordSum is the toxic model's view of one word on its own, cached in its wordInfo: the sum
// of the quantised weights of its features (letter n-grams and stem), their number, and
// whether it has a banned root (then it has no features).
//
// It walks the features of wordFeatures in another order (all n-grams starting at a letter
// together), which leaves the integer sum unchanged (TestWordSumMatchesFeatures).
func (m *ToxicModel) wordSum(wi *wordInfo) (acc, n int32, banned bool) {
	var codes [48]uint64
	k := wordCodes(wi.word, &codes)
	if bannedWord(&codes, k) {
		return 0, 0, true
	}
	for i := 0; i+gramMin <= k; i++ {
		v := uint64(kindGram) << 60
		for g := 0; g < gramMax && i+g < k; g++ {
			v |= codes[i+g] << (7 * g)
			if g+1 >= gramMin {
				acc += int32(m.q[m.bucket(v)])
				n++
			}
		}
	}
	acc += int32(m.q[m.bucket(uint64(kindStem)<<60|packRunes(wi.stem, 8))])
	return acc, n + 1, false
}

// minStrongWeight is the weight the strongest evidence returned by Score must reach; Score
// itself returns no evidence when no word reaches the model's own strong weight, so that a
// high score made of many weak hints («повесить объявление») is not enough.
const minStrongWeight = 0

// Score returns the model's probability that the features are toxic, and the words that
// pushed it up most (strongest first, each with the sum of its features' weights); no
// words when none reaches the model's strong weight.
func (m *ToxicModel) Score(feats []uint64) (float64, []otklik.Evidence) {
	var acc, word int32
	n := 0
	civic := 0.0
	words := 0
	var top []otklik.Evidence
	name := ""
	flush := func() {
		if w := float64(word) * m.scale; name != "" && w >= m.strong && w > 0 {
			top = append(top, otklik.Evidence{Term: name, Weight: round2(w)})
		}
		name, word = "", 0
	}
	for _, f := range feats {
		switch f >> 60 {
		case kindCount:
			n = int(f & (1<<60 - 1))
			continue
		case kindWord:
			flush()
			name = unpack(f, 8)
			words++
			continue
		case kindFlag, kindPair:
			qv := int32(m.q[m.bucket(f)])
			acc += qv
			if v := f & (1<<60 - 1); f>>60 == kindFlag && v >= flagCivic && v < flagCivic+8 {
				civic = float64(min(v-flagCivic, 2))
			}
			continue
		}
		qv := int32(m.q[m.bucket(f)])
		acc += qv
		word += qv
	}
	flush()
	z := m.bias + float64(acc)*m.scale*m.normOf(n)
	if m.mlp != nil {
		z = m.netLogit(feats, n, z)
	}
	p := 1 / (1 + math.Exp(-(z - m.civic*civic)))
	if words < m.minWords {
		return p, nil
	}
	sort.SliceStable(top, func(i, j int) bool { return top[i].Weight > top[j].Weight })
	if len(top) > 5 {
		top = top[:5]
	}
	return p, top
}

// ToxicTrainOptions tunes TrainToxic.
type ToxicTrainOptions struct {
	Epochs    int     // default 6
	Rate      float64 // AdaGrad learning rate, default 0.3
	L2        float64 // regularisation per update, default 1e-5
	Threshold float64 // stored decision threshold, default 0.5
	Strong    float64 // stored weight one word must reach to drop a text
	Civic     float64 // stored log-odds shift per civic word (at most two)
	MinWords  int     // stored number of distinct model words a text needs to be dropped
	NB        float64 // > 0: NB-weighted features with this smoothing
	Residual  bool    // train only on the texts the lexicon finds clean
	Bits      uint    // log2 of the number of weight buckets, default 19
	Norm      float64 // divide the feature sum by n^Norm, default 0.5
	// Average > 0: the stored weights are the mean of the weights at the end of each of
	// the last Average epochs (Polyak averaging); 0: the last weights.
	Average int
	// Balance: weigh each example's loss by n/(2·n of its class), so that both classes
	// weigh the same in total.
	Balance bool
	// Interp in (0, 1): NBSVM interpolation β of the weights with their mean magnitude.
	Interp float64
	// Mix > 0 (with NB): add Mix times the naive Bayes log-count ratios to the weights,
	// an ensemble of the regression with a multinomial NB over the same buckets.
	Mix  float64
	Seed uint64
	// Hidden > 0: a network over the same features as well (see toxicmlp.go): an
	// embedding bag of Hidden dimensions per hashed feature, a nonlinearity, an optional
	// second hidden layer of Hidden2 units and a logistic output, combined with the linear
	// model as MLPMode says.
	Hidden, Hidden2 int
	MLPMode         string  // MLPAlone, MLPJoint (default), MLPResidual or MLPMean
	MLPBits         uint    // log2 of the number of embedding rows, at most Bits; default 16
	MLPEpochs       int     // default Epochs
	MLPRate         float64 // AdaGrad rate of the network, default 0.1
	MLPL2           float64 // L2 on the embeddings per update, default 0
	MLPNorm         float64 // the embedding sum is divided by n^MLPNorm, default 0.5 (as Norm)
	MLPAct          string  // "relu" (default) or "tanh"
	MLPInit         float64 // embeddings start uniform in ±MLPInit, default 0.1
	MLPNB           bool    // (with NB) scale each feature's vector by its NB log-count ratio
	// MLPStack ≥ 2 (MLPResidual): the offsets are the logits of linear models trained on
	// MLPStack-1 of MLPStack parts of the data, each scoring the part it did not see.
	MLPStack int
}

// SetDefaults fills the zero fields.
func (o *ToxicTrainOptions) SetDefaults() {
	if o.Epochs <= 0 {
		o.Epochs = 6
	}
	if o.Rate <= 0 {
		o.Rate = 0.3
	}
	if o.L2 <= 0 {
		o.L2 = 1e-5
	}
	if o.Threshold <= 0 {
		o.Threshold = 0.5
	}
	if o.Strong < 0 {
		o.Strong = 0
	}
	if o.Bits == 0 {
		o.Bits = 19
	}
	if o.Norm < 0 {
		o.Norm = 0
	}
	if o.Hidden > 0 {
		o.mlpDefaults()
	}
}

// TrainToxic fits the toxic model; it returns the serialised model (see ParseToxicModel).
func (c *Classifier) TrainToxic(examples []ToxicExample, opt ToxicTrainOptions) ([]byte, error) {
	opt.SetDefaults()
	if len(examples) == 0 {
		return nil, fmt.Errorf("train toxic: no examples")
	}
	if opt.Bits < 10 || opt.Bits > 24 {
		return nil, fmt.Errorf("train toxic: bits %d out of 10..24", opt.Bits)
	}
	if opt.Hidden > 0 {
		if err := opt.mlpCheck(); err != nil {
			return nil, fmt.Errorf("train toxic: %w", err)
		}
	}
	m := &ToxicModel{bits: opt.Bits, norm: opt.Norm}
	type ex = toxicEx
	data := make([]ex, 0, len(examples))
	var feats []uint64
	for _, e := range examples {
		a := c.analyse(e.Text)
		var res toxicResult
		res.evidence = map[string][]otklik.Evidence{}
		c.detectToxic(a, &res)
		feats = c.toxicFeatures(a, res.reasons, feats, nil)
		c.release(a)
		d := ex{norm: 1}
		for _, f := range feats {
			if f>>60 == kindCount {
				d.n = int(f & (1<<60 - 1))
				d.norm = m.normOf(d.n)
				continue
			}
			if f>>60 == kindWord {
				continue
			}
			d.b = append(d.b, uint32(m.bucket(f)))
		}
		if e.Toxic {
			d.y = 1
		}
		if opt.Residual && len(res.reasons) > 0 {
			continue
		}
		data = append(data, d)
	}
	size := 1 << opt.Bits
	// x holds each bucket's feature value: 1, or with NB the naive Bayes log-count ratio
	// of the bucket (NB-weighted logistic regression); the stored weight is w·x, so
	// scoring costs the same either way.
	x := make([]float64, size)
	for i := range x {
		x[i] = 1
	}
	if opt.NB > 0 {
		pos, neg := make([]float64, size), make([]float64, size)
		var sp, sn float64
		for _, d := range data {
			for _, b := range d.b {
				if d.y == 1 {
					pos[b]++
					sp++
				} else {
					neg[b]++
					sn++
				}
			}
		}
		for i := range x {
			x[i] = math.Log((pos[i] + opt.NB) / (sp + opt.NB*float64(size)) * (sn + opt.NB*float64(size)) / (neg[i] + opt.NB))
		}
	}
	w := make([]float64, size)
	g2 := make([]float64, size)
	bias, bg2 := 0.0, 0.0
	var avg []float64
	avgBias, navg := 0.0, 0
	cw := [2]float64{1, 1}
	if opt.Balance {
		npos := 0
		for _, d := range data {
			npos += int(d.y)
		}
		if npos > 0 && npos < len(data) {
			cw = [2]float64{float64(len(data)) / float64(2*(len(data)-npos)), float64(len(data)) / float64(2*npos)}
		}
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 1))
	var mlp *toxicMLP
	if opt.Hidden > 0 && opt.MLPMode == MLPJoint {
		// The linear weights and the network learn together, one loss on the sum of
		// their logits.
		mlp = trainToxicMLP(data, opt, &toxicJoint{w: w, x: x, g2: g2, bias: &bias, bg2: &bg2}, x, rng)
	}
	for ep := 0; ep < opt.Epochs && mlp == nil; ep++ {
		rng.Shuffle(len(data), func(i, j int) { data[i], data[j] = data[j], data[i] })
		for i := range data {
			adagradStep(&data[i], w, x, g2, &bias, &bg2, cw, opt)
		}
		if opt.Average > 0 && ep >= opt.Epochs-opt.Average {
			if avg == nil {
				avg = make([]float64, size)
			}
			for i, v := range w {
				avg[i] += v
			}
			avgBias += bias
			navg++
		}
	}
	if navg > 0 {
		for i := range w {
			w[i] = avg[i] / float64(navg)
		}
		bias = avgBias / float64(navg)
	}
	if opt.Interp > 0 && opt.Interp < 1 {
		// NBSVM interpolation (Wang & Manning 2012): w = (1-β)·mean|w| + β·w over the
		// buckets in use.
		sum, n := 0.0, 0
		for _, v := range w {
			if v != 0 {
				sum += math.Abs(v)
				n++
			}
		}
		if n > 0 {
			mean := sum / float64(n)
			for i, v := range w {
				if v != 0 {
					w[i] = (1-opt.Interp)*mean + opt.Interp*v
				}
			}
		}
	}
	for i := range w {
		w[i] *= x[i]
		if opt.NB > 0 {
			w[i] += opt.Mix * x[i]
		}
	}
	if opt.Hidden > 0 && opt.MLPMode != MLPJoint {
		if opt.MLPMode == MLPResidual && opt.MLPStack >= 2 {
			// Honest residuals: each example's offset comes from a linear model that
			// did not see it.
			stackedLogits(data, x, opt, cw, rng)
		} else if opt.MLPMode == MLPResidual {
			// The network learns what the finished linear model gets wrong: each
			// example's linear logit is a fixed offset of its own.
			for i := range data {
				z := bias
				for _, b := range data[i].b {
					z += w[b] * data[i].norm
				}
				data[i].off = z
			}
		}
		mlp = trainToxicMLP(data, opt, nil, x, rng)
	}
	qw, _, scale := quantise(w)
	var b bytes.Buffer
	version := "v2"
	if mlp != nil {
		version = "v3"
	}
	fmt.Fprintf(&b, "otklik-lr\t%s\tthreshold=%g\tstrong=%g\tcivic=%g\tminwords=%d\tbits=%d\tnorm=%g\tscale=%g\tbias=%g\texamples=%d\n",
		version, opt.Threshold, opt.Strong, opt.Civic, opt.MinWords, opt.Bits, opt.Norm, scale, bias, len(examples))
	fmt.Fprintf(&b, "# int8 weights, one per hashed feature bucket, deflate then base64\n")
	writeInt8s(&b, qw)
	if mlp != nil {
		mlp.write(&b)
	}
	return b.Bytes(), nil
}

// adagradStep is one AdaGrad step of the toxic model's logistic regression on example d:
// weights w of the feature values x, squared-gradient sums g2, the bias and its sum bg2,
// class weights cw.
func adagradStep(d *toxicEx, w, x, g2 []float64, bias, bg2 *float64, cw [2]float64, opt ToxicTrainOptions) {
	z := *bias
	for _, b := range d.b {
		z += w[b] * x[b] * d.norm
	}
	p := 1 / (1 + math.Exp(-z))
	g := (p - d.y) * cw[int(d.y)]
	*bg2 += g * g
	*bias -= opt.Rate * g / math.Sqrt(*bg2+1e-8)
	for _, b := range d.b {
		gi := g*x[b]*d.norm + opt.L2*w[b]
		g2[b] += gi * gi
		w[b] -= opt.Rate * gi / math.Sqrt(g2[b]+1e-8)
	}
}

// ParseToxicModel reads a model written by TrainToxic.
func ParseToxicModel(data []byte) (*ToxicModel, error) {
	sum := sha1.Sum(data)
	m := &ToxicModel{ID: hex.EncodeToString(sum[:4]),
		Threshold: 0.5}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "otklik-lr\tv2\t") && !strings.HasPrefix(sc.Text(), "otklik-lr\tv3\t") {
		return nil, fmt.Errorf("not an otklik-lr v2 or v3 model")
	}
	v3 := strings.HasPrefix(sc.Text(), "otklik-lr\tv3\t")
	for _, f := range strings.Split(sc.Text(), "\t")[2:] {
		k, v, _ := strings.Cut(f, "=")
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("toxic model header: %s: %w", k, err)
		}
		switch k {
		case "threshold":
			if x <= 0 || x >= 1 {
				return nil, fmt.Errorf("toxic model: bad threshold %q", v)
			}
			m.Threshold = x
		case "strong":
			m.strong = x
		case "bits":
			if x < 10 || x > 24 {
				return nil, fmt.Errorf("toxic model: bad bits %q", v)
			}
			m.bits = uint(x)
		case "norm":
			m.norm = x
		case "civic":
			m.civic = x
		case "minwords":
			m.minWords = int(x)
		case "scale":
			m.scale = x
		case "bias":
			m.bias = x
		}
	}
	if m.bits == 0 || m.scale <= 0 {
		return nil, fmt.Errorf("toxic model: header lacks bits or scale")
	}
	var enc strings.Builder
	mlpSection := false
	for sc.Scan() {
		l := sc.Text()
		if l == mlpMarker {
			mlpSection = true
			break
		}
		if l != "" && l[0] != '#' {
			enc.WriteString(l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("toxic model: %w", err)
	}
	if mlpSection != v3 {
		return nil, fmt.Errorf("toxic model: a v3 model has a %s section and a v2 model none", mlpMarker)
	}
	z, err := base64.StdEncoding.DecodeString(enc.String())
	if err != nil {
		return nil, fmt.Errorf("toxic model weights: %w", err)
	}
	q, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), 1<<m.bits+1))
	if err != nil {
		return nil, fmt.Errorf("toxic model weights: %w", err)
	}
	if len(q) != 1<<m.bits {
		return nil, fmt.Errorf("toxic model: %d weights, want %d", len(q), 1<<m.bits)
	}
	m.q = make([]int8, len(q))
	for i, v := range q {
		m.q[i] = int8(v)
	}
	if v3 {
		var err error
		if m.mlp, err = parseToxicMLP(sc, m.bits); err != nil {
			return nil, fmt.Errorf("toxic model: %w", err)
		}
	}
	return m, nil
}

// WithStrong returns a copy of m that needs one feature of at least weight s to drop a
// text (for tuning by cross-validation).
func (m *ToxicModel) WithStrong(s float64) *ToxicModel {
	mm := *m
	mm.strong = s
	return &mm
}

// WithMinWords returns a copy of m that needs n distinct model words to drop a text (for
// tuning by cross-validation).
func (m *ToxicModel) WithMinWords(n int) *ToxicModel {
	mm := *m
	mm.minWords = n
	return &mm
}

// WithCivic returns a copy of m with the civic shift c (for tuning by cross-validation).
func (m *ToxicModel) WithCivic(c float64) *ToxicModel {
	mm := *m
	mm.civic = c
	return &mm
}

// ToxicProbability is m's probability that text is toxic on its own: the lexicon's
// findings are features, as in training, but neither decide nor guard (no civic shift,
// no minimum of words, no strong word). It measures the learner by cross-validation.
func (c *Classifier) ToxicProbability(m *ToxicModel, text string) float64 {
	a := c.analyse(text)
	var res toxicResult
	res.evidence = map[string][]otklik.Evidence{}
	c.detectToxic(a, &res)
	feats := c.toxicFeatures(a, res.reasons, nil, nil)
	c.release(a)
	p, _ := m.WithCivic(0).Score(feats)
	return p
}
