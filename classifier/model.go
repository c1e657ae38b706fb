package classifier

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Model is a multinomial naive Bayes topic model over word stems, trained by Train
// (`otklik train`) from labelled texts. It is combined with the dictionaries: its posterior
// probability adds to the dictionary score of each topic.
type Model struct {
	// ID identifies the model (a hash of its contents).
	ID string
	// prior is log P(topic); logp[stem][topic] is log P(stem | topic); unseen is log P of an
	// unseen stem per topic.
	prior  [len(topicIDs)]float64
	logp   map[string]*[len(topicIDs)]float64
	unseen [len(topicIDs)]float64
}

// Example is one labelled text to train on.
type Example struct {
	Text  string
	Topic string
}

// TrainOptions tunes Train.
type TrainOptions struct {
	// Alpha is the additive smoothing (default 0.5).
	Alpha float64
	// MinCount drops stems seen fewer times in all (default 3).
	MinCount int
	// MaxFeatures keeps at most this many stems, the most frequent (default 6000).
	MaxFeatures int
	// UniformPrior uses equal class priors instead of the training frequencies: the
	// training sets over-represent housing and landscaping.
	UniformPrior bool
}

func (o *TrainOptions) setDefaults() {
	if o.Alpha <= 0 {
		o.Alpha = 0.5
	}
	if o.MinCount <= 0 {
		o.MinCount = 3
	}
	if o.MaxFeatures <= 0 {
		o.MaxFeatures = 6000
	}
}

// Stems returns the stems of the words of text, the model's features.
func Stems(text string) []string {
	var out []string
	for _, t := range Tokenize(text, nil) {
		if (t.Kind == Word || t.Kind == Hashtag) && len(t.Text) > 2 && !digitOrStar(t.Text) {
			out = append(out, Stem(t.Text))
		}
	}
	return out
}

// Train fits a model on examples; it returns the serialised model (see ParseModel).
func Train(examples []Example, opt TrainOptions) ([]byte, error) {
	opt.setDefaults()
	var docs [len(topicIDs)]float64
	counts := map[string]*[len(topicIDs)]float64{}
	total := map[string]int{}
	n := 0
	for _, e := range examples {
		ti := topicIndex(e.Topic)
		if ti < 0 {
			return nil, fmt.Errorf("train: unknown topic %q", e.Topic)
		}
		docs[ti]++
		n++
		seen := map[string]bool{}
		for _, s := range Stems(e.Text) {
			if seen[s] { // binary features: a word counts once per text
				continue
			}
			seen[s] = true
			c := counts[s]
			if c == nil {
				c = new([len(topicIDs)]float64)
				counts[s] = c
			}
			c[ti]++
			total[s]++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("train: no examples")
	}
	var feats []string
	for s, t := range total {
		if t >= opt.MinCount {
			feats = append(feats, s)
		}
	}
	sort.Slice(feats, func(i, j int) bool {
		if total[feats[i]] != total[feats[j]] {
			return total[feats[i]] > total[feats[j]]
		}
		return feats[i] < feats[j]
	})
	if len(feats) > opt.MaxFeatures {
		feats = feats[:opt.MaxFeatures]
	}
	sort.Strings(feats)
	var b bytes.Buffer
	fmt.Fprintf(&b, "otklik-nb\tv1\talpha=%g\tuniform=%t\texamples=%d\n", opt.Alpha, opt.UniformPrior, n)
	b.WriteString("docs")
	for i := range topicIDs {
		fmt.Fprintf(&b, "\t%s=%g", topicIDs[i], docs[i])
	}
	b.WriteByte('\n')
	for _, s := range feats {
		b.WriteString(s)
		c := counts[s]
		for i := range topicIDs {
			b.WriteByte('\t')
			b.WriteString(strconv.FormatFloat(c[i], 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// ParseModel reads a model written by Train.
func ParseModel(data []byte) (*Model, error) {
	sum := sha1.Sum(data)
	m := &Model{ID: hex.EncodeToString(sum[:4]), logp: map[string]*[len(topicIDs)]float64{}}
	r := bufio.NewReader(bytes.NewReader(data))
	head, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "otklik-nb\tv1\t") {
		return nil, fmt.Errorf("not an otklik-nb v1 model")
	}
	alpha, uniform := 0.5, false
	for _, f := range strings.Split(strings.TrimSpace(head), "\t")[2:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "alpha":
			if alpha, err = strconv.ParseFloat(v, 64); err != nil || alpha <= 0 {
				return nil, fmt.Errorf("model: bad alpha %q", v)
			}
		case "uniform":
			uniform = v == "true"
		}
	}
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "docs\t") {
		return nil, fmt.Errorf("model: missing docs line")
	}
	var docs [len(topicIDs)]float64
	for _, f := range strings.Split(strings.TrimSpace(line), "\t")[1:] {
		k, v, _ := strings.Cut(f, "=")
		ti := topicIndex(k)
		if ti < 0 {
			return nil, fmt.Errorf("model: unknown topic %q", k)
		}
		if docs[ti], err = strconv.ParseFloat(v, 64); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	var ndocs float64
	for _, d := range docs {
		ndocs += d
	}
	raw := map[string][len(topicIDs)]float64{}
	var tot [len(topicIDs)]float64
	for {
		line, err := r.ReadString('\n')
		if line = strings.TrimRight(line, "\n"); line != "" {
			f := strings.Split(line, "\t")
			if len(f) != len(topicIDs)+1 {
				return nil, fmt.Errorf("model: bad line %q", line)
			}
			var c [len(topicIDs)]float64
			for i := range topicIDs {
				if c[i], err = strconv.ParseFloat(f[i+1], 64); err != nil {
					return nil, fmt.Errorf("model: %w", err)
				}
				tot[i] += c[i]
			}
			raw[f[0]] = c
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	v := float64(len(raw))
	for i := range topicIDs {
		switch {
		case docs[i] == 0:
			m.prior[i] = math.Inf(-1)
		case uniform:
			m.prior[i] = 0
		default:
			m.prior[i] = math.Log(docs[i] / ndocs)
		}
		m.unseen[i] = math.Log(alpha / (tot[i] + alpha*v))
	}
	for s, c := range raw {
		lp := new([len(topicIDs)]float64)
		for i := range topicIDs {
			lp[i] = math.Log((c[i] + alpha) / (tot[i] + alpha*v))
		}
		m.logp[s] = lp
	}
	return m, nil
}

// posteriorOf is Posterior over analysed words, with each word's log-probabilities looked
// up once per word (cached in its info).
func (m *Model) posteriorOf(words []*wordInfo) []float64 {
	ll := m.prior
	known := 0
	for i, wi := range words {
		if wi.nb == nil {
			continue
		}
		dup := false
		for _, p := range words[:min(i, 64)] {
			if p.nb == wi.nb { // the same stem
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		known++
		for k := range ll {
			ll[k] += wi.nb[k]
		}
	}
	if known == 0 {
		return nil
	}
	return softmax(ll[:])
}

func softmax(ll []float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range ll {
		mx = max(mx, v)
	}
	out := make([]float64, len(ll))
	var z float64
	for i, v := range ll {
		out[i] = math.Exp(v - mx)
		z += out[i]
	}
	for i := range out {
		out[i] /= z
	}
	return out
}

// Posterior returns P(topic | stems) for the known stems, or nil when none is known.
func (m *Model) Posterior(stems []string) []float64 {
	var ll [len(topicIDs)]float64
	ll = m.prior
	known := 0
	var seen [64]string
	ns := 0
outer:
	for _, s := range stems {
		lp, ok := m.logp[s]
		if !ok {
			continue
		}
		for k := 0; k < ns; k++ {
			if seen[k] == s {
				continue outer
			}
		}
		if ns < len(seen) {
			seen[ns] = s
			ns++
		}
		known++
		for i := range ll {
			ll[i] += lp[i]
		}
	}
	if known == 0 {
		return nil
	}
	return softmax(ll[:])
}
