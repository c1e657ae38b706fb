package classifier

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/otklik/otklik"
)

// ToxicModel is a logistic regression over word stems and the lexicon's findings that
// scores how offensive a text is. It backs up the point-16 lexicon: a text the lexicon
// finds clean but the model scores at or above Threshold is dropped as an insult, with the
// model's strongest stems as the evidence. It is trained by `otklik train --toxic` from
// texts labelled toxic or not.
type ToxicModel struct {
	ID        string
	Threshold float64
	bias      float64
	w         map[uint64]float64
	names     map[uint64]string
	firsts    map[uint64]bool // stems that start a weighed pair
}

// fhash is the feature id of a feature name: 64-bit FNV-1a, stable across processes.
func fhash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// pairID is the feature id of two adjacent stems, written "a_b" in the model file.
func pairID(a, b uint64) uint64 { return (a^0x9e3779b97f4a7c15)*1099511628211 + b }

func featureID(name string) uint64 {
	if a, b, ok := strings.Cut(name, "_"); ok && a != "" && b != "" {
		return pairID(fhash(a), fhash(b))
	}
	return fhash(name)
}

// ToxicExample is one labelled text to train the toxic model on.
type ToxicExample struct {
	Text  string
	Toxic bool
}

// Feature names of the lexicon's findings.
const (
	featObscene = "#obscene"
	featInsult  = "#insult"
	featThreat  = "#threat"
	featCaps    = "#caps"
)

// toxicStop are words the toxic model ignores: pronouns and particles say how a text
// addresses someone, not whether it offends, and would make «спасибо тебе» suspect.
var toxicStop = map[string]bool{
	"ты": true, "тебе": true, "тебя": true, "тобой": true, "твой": true, "твоя": true, "твои": true, "твое": true,
	"вы": true, "вам": true, "вас": true, "вами": true, "ваш": true, "ваша": true, "ваши": true, "ваше": true,
	"он": true, "она": true, "они": true, "его": true, "ее": true, "их": true, "им": true, "ему": true, "ей": true,
	"себе": true, "себя": true, "это": true, "этот": true, "эта": true, "эти": true, "вот": true, "ну": true,
	"так": true, "там": true, "тут": true, "уже": true, "еще": true, "только": true, "даже": true, "все": true, "всех": true,
}

// toxicFeatures lists the feature ids of an analysed text: its distinct stems (no digits,
// no pronouns, no civic vocabulary), long words' first five letters, adjacent stem pairs,
// and flags for what the lexicon found. With names non-nil it records each id's name.
func (c *Classifier) toxicFeatures(a *analysis, found []otklik.DropReason, out []uint64, names map[uint64]string) []uint64 {
	out = out[:0]
	for _, r := range found {
		f := "#" + string(r)
		out = append(out, fhash(f))
		if names != nil {
			names[fhash(f)] = f
		}
	}
	caps := 0
	var prev *wordInfo
	for i, wi := range a.winfo {
		if tok := a.toks[a.wpos[i]]; tok.Cap {
			caps++
		}
		if wi.stemH == 0 {
			prev = nil
			continue
		}
		out = append(out, wi.stemH)
		if wi.prefixH != 0 {
			out = append(out, wi.prefixH)
		}
		if prev != nil {
			out = append(out, pairID(prev.stemH, wi.stemH))
			if names != nil {
				names[pairID(prev.stemH, wi.stemH)] = prev.stem + "_" + wi.stem
			}
		}
		if names != nil {
			names[wi.stemH] = wi.stem
			if wi.prefixH != 0 {
				names[wi.prefixH] = "p:" + string([]rune(wi.word)[:5])
			}
		}
		prev = wi
	}
	if len(a.winfo) >= 4 && caps*2 > len(a.winfo) {
		out = append(out, fhash(featCaps))
		if names != nil {
			names[fhash(featCaps)] = featCaps
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// quickToxic estimates the toxic model's probability from the per-word weights cached in
// the word infos (each distinct word once) and the pairs that can matter.
func (c *Classifier) quickToxic(a *analysis) float64 {
	m := c.tmodel
	z := m.bias
	caps := 0
	var prev *wordInfo
	var seen map[*wordInfo]bool
	if len(a.winfo) > 48 {
		seen = make(map[*wordInfo]bool, len(a.winfo))
	}
	for i, wi := range a.winfo {
		if a.toks[a.wpos[i]].Cap {
			caps++
		}
		if wi.stemH == 0 {
			prev = nil
			continue
		}
		dup := false
		if seen != nil {
			dup = seen[wi]
			seen[wi] = true
		} else {
			for _, p := range a.winfo[:i] {
				if p == wi {
					dup = true
					break
				}
			}
		}
		if !dup {
			z += wi.tw
		}
		if prev != nil && prev.pairFirst {
			z += m.w[pairID(prev.stemH, wi.stemH)]
		}
		prev = wi
	}
	if len(a.winfo) >= 4 && caps*2 > len(a.winfo) {
		z += m.w[fhash(featCaps)]
	}
	return 1 / (1 + math.Exp(-z))
}

// minStrongWeight is the weight one feature must reach for the model to drop a text: a
// high score made of many weak hints («повесить объявление») is not enough.
const minStrongWeight = 1.0

// Score returns the model's probability that the features are toxic, and the features
// that pushed it up most (strongest first).
func (m *ToxicModel) Score(feats []uint64) (float64, []otklik.Evidence) {
	z := m.bias
	var top []otklik.Evidence
	for _, f := range feats {
		w, ok := m.w[f]
		if !ok {
			continue
		}
		z += w
		if w > 0.5 {
			top = append(top, otklik.Evidence{Term: m.names[f], Weight: round2(w)})
		}
	}
	sort.Slice(top, func(i, j int) bool { return top[i].Weight > top[j].Weight })
	if len(top) > 5 {
		top = top[:5]
	}
	return 1 / (1 + math.Exp(-z)), top
}

// ToxicTrainOptions tunes TrainToxic.
type ToxicTrainOptions struct {
	Epochs    int     // default 8
	Rate      float64 // learning rate, default 0.2
	L2        float64 // regularisation, default 1e-4
	Threshold float64 // stored decision threshold, default 0.7
	MinCount  int     // drop features seen fewer times, default 2
	Seed      uint64
}

// TrainToxic fits the toxic model; it returns the serialised model (see ParseToxicModel).
func (c *Classifier) TrainToxic(examples []ToxicExample, opt ToxicTrainOptions) ([]byte, error) {
	if opt.Epochs <= 0 {
		opt.Epochs = 8
	}
	if opt.Rate <= 0 {
		opt.Rate = 0.2
	}
	if opt.L2 <= 0 {
		opt.L2 = 1e-4
	}
	if opt.Threshold <= 0 {
		opt.Threshold = 0.7
	}
	if opt.MinCount <= 0 {
		opt.MinCount = 2
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("train toxic: no examples")
	}
	type ex struct {
		f []uint64
		y float64
	}
	data := make([]ex, 0, len(examples))
	count := map[uint64]int{}
	names := map[uint64]string{}
	for _, e := range examples {
		a := c.analyse(e.Text)
		var res toxicResult
		res.evidence = map[string][]otklik.Evidence{}
		c.detectToxic(a, &res)
		f := c.toxicFeatures(a, res.reasons, nil, names)
		c.release(a)
		for _, x := range f {
			count[x]++
		}
		y := 0.0
		if e.Toxic {
			y = 1
		}
		data = append(data, ex{f, y})
	}
	w := map[uint64]float64{}
	bias := 0.0
	rng := rand.New(rand.NewPCG(opt.Seed, 1))
	for ep := 0; ep < opt.Epochs; ep++ {
		rate := opt.Rate / (1 + float64(ep))
		rng.Shuffle(len(data), func(i, j int) { data[i], data[j] = data[j], data[i] })
		for _, d := range data {
			z := bias
			for _, f := range d.f {
				if count[f] >= opt.MinCount {
					z += w[f]
				}
			}
			p := 1 / (1 + math.Exp(-z))
			g := d.y - p
			bias += rate * g
			for _, f := range d.f {
				if count[f] >= opt.MinCount {
					w[f] += rate * (g - opt.L2*w[f])
				}
			}
		}
	}
	var feats []string
	for f, v := range w {
		if math.Abs(v) >= 0.2 {
			feats = append(feats, names[f])
		}
	}
	sort.Strings(feats)
	var b bytes.Buffer
	fmt.Fprintf(&b, "otklik-lr\tv1\tthreshold=%g\texamples=%d\n", opt.Threshold, len(examples))
	fmt.Fprintf(&b, "bias\t%.4f\n", bias)
	for _, f := range feats {
		fmt.Fprintf(&b, "%s\t%.4f\n", f, w[featureID(f)])
	}
	return b.Bytes(), nil
}

// ParseToxicModel reads a model written by TrainToxic.
func ParseToxicModel(data []byte) (*ToxicModel, error) {
	sum := sha1.Sum(data)
	m := &ToxicModel{ID: hex.EncodeToString(sum[:4]), w: map[uint64]float64{}, names: map[uint64]string{}, firsts: map[uint64]bool{}, Threshold: 0.7}
	sc := bufio.NewScanner(bytes.NewReader(data))
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "otklik-lr\tv1\t") {
		return nil, fmt.Errorf("not an otklik-lr v1 model")
	}
	for _, f := range strings.Split(sc.Text(), "\t")[2:] {
		if k, v, _ := strings.Cut(f, "="); k == "threshold" {
			t, err := strconv.ParseFloat(v, 64)
			if err != nil || t <= 0 || t >= 1 {
				return nil, fmt.Errorf("toxic model: bad threshold %q", v)
			}
			m.Threshold = t
		}
	}
	n := 1
	for sc.Scan() {
		n++
		k, v, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			return nil, fmt.Errorf("toxic model line %d: no tab", n)
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("toxic model line %d: %w", n, err)
		}
		if k == "bias" {
			m.bias = x
		} else {
			m.w[featureID(k)] = x
			m.names[featureID(k)] = k
			if a, b, ok := strings.Cut(k, "_"); ok && a != "" && b != "" {
				m.firsts[fhash(a)] = true
			}
		}
	}
	return m, sc.Err()
}
