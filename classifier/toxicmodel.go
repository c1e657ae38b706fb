package classifier

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
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
	w         map[string]float64
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

// toxicFeatures lists the features of an analysed text: its distinct stems (no digits)
// and flags for what the lexicon found.
func (c *Classifier) toxicFeatures(a *analysis, found []otklik.DropReason, out []string) []string {
	out = out[:0]
	for _, r := range found {
		switch r {
		case otklik.Obscene:
			out = append(out, featObscene)
		case otklik.Insult:
			out = append(out, featInsult)
		case otklik.Threat:
			out = append(out, featThreat)
		}
	}
	caps := 0
	prev := ""
	for i, wi := range a.winfo {
		if tok := a.toks[a.wpos[i]]; tok.Cap {
			caps++
		}
		s := wi.stem
		// Words of the topic dictionaries are the residents' civic vocabulary («мусор»,
		// «крысы», «повесить объявление»): they are never evidence of offence.
		if len(s) < 3 || strings.ContainsAny(s, "0123456789*") || toxicStop[wi.word] || len(wi.topics) > 0 {
			prev = ""
			continue
		}
		out = append(out, s)
		if p := wi.prefix5; p != "" {
			out = append(out, p)
		}
		if prev != "" {
			out = append(out, prev+"_"+s)
		}
		prev = s
	}
	if len(a.winfo) >= 4 && caps*2 > len(a.winfo) {
		out = append(out, featCaps)
	}
	sort.Strings(out)
	return compactStrings(out)
}

func compactStrings(s []string) []string {
	if len(s) < 2 {
		return s
	}
	j := 1
	for i := 1; i < len(s); i++ {
		if s[i] != s[j-1] {
			s[j] = s[i]
			j++
		}
	}
	return s[:j]
}

// minStrongWeight is the weight one feature must reach for the model to drop a text: a
// high score made of many weak hints («повесить объявление») is not enough.
const minStrongWeight = 1.0

// Score returns the model's probability that the features are toxic, and the features
// that pushed it up most (strongest first).
func (m *ToxicModel) Score(feats []string) (float64, []otklik.Evidence) {
	z := m.bias
	var top []otklik.Evidence
	for _, f := range feats {
		w, ok := m.w[f]
		if !ok {
			continue
		}
		z += w
		if w > 0.5 {
			top = append(top, otklik.Evidence{Term: f, Weight: round2(w)})
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
		f []string
		y float64
	}
	data := make([]ex, 0, len(examples))
	count := map[string]int{}
	for _, e := range examples {
		a := c.analyse(e.Text)
		var res toxicResult
		res.evidence = map[string][]otklik.Evidence{}
		c.detectToxic(a, &res)
		f := c.toxicFeatures(a, res.reasons, nil)
		c.bufs.Put(a)
		for _, x := range f {
			count[x]++
		}
		y := 0.0
		if e.Toxic {
			y = 1
		}
		data = append(data, ex{f, y})
	}
	w := map[string]float64{}
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
			feats = append(feats, f)
		}
	}
	sort.Strings(feats)
	var b bytes.Buffer
	fmt.Fprintf(&b, "otklik-lr\tv1\tthreshold=%g\texamples=%d\n", opt.Threshold, len(examples))
	fmt.Fprintf(&b, "bias\t%.4f\n", bias)
	for _, f := range feats {
		fmt.Fprintf(&b, "%s\t%.4f\n", f, w[f])
	}
	return b.Bytes(), nil
}

// ParseToxicModel reads a model written by TrainToxic.
func ParseToxicModel(data []byte) (*ToxicModel, error) {
	sum := sha1.Sum(data)
	m := &ToxicModel{ID: hex.EncodeToString(sum[:4]), w: map[string]float64{}, Threshold: 0.7}
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
			m.w[k] = x
		}
	}
	return m, sc.Err()
}
