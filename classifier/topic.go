package classifier

import (
	"bufio"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/otklik/otklik"
)

// topicTerm is one line of data/topics.tsv.
type topicTerm struct {
	topic  int
	weight float64
	text   string
	parts  []termPart // the words of the term, in order
}

// termPart is one word of a term: the word matches when its stem is one of stems, it
// starts with one of prefixes or it is one of words. A word written «горит*|горят*» in
// the dictionary has two alternatives; they are one term, so a text with both forms
// counts it once. «=дороги» is the exact word (not «дорогие», which has the same stem).
type termPart struct {
	stems    []string
	prefixes []string // normalised prefixes (the word ends with '*' in the dictionary)
	words    []string // exact normalised words (the word starts with '=' in the dictionary)
}

// matches reports whether a word of a text (with its stem) matches the part.
func (p *termPart) matches(word, stem string) bool {
	if slices.Contains(p.stems, stem) || slices.Contains(p.words, word) {
		return true
	}
	for _, x := range p.prefixes {
		if strings.HasPrefix(word, x) {
			return true
		}
	}
	return false
}

// prefixTerm is a single-word term matched by a prefix.
type prefixTerm struct {
	prefix string
	term   int32
}

// termDict is a parsed dictionary of weighted terms with labels (topics, or priority
// levels).
type termDict struct {
	name     string
	labels   []string
	terms    []topicTerm
	byStem   map[string][]int32
	byWord   map[string][]int32 // single-word terms matched by the exact word
	prefixes firstTwo[prefixTerm]
	phrases  map[string][]int32 // multi-word terms by their first stem
	minScore float64
	// negation: a single word right after «не» does not count («не горит» is not a fire).
	negation bool
}

func topicIndex(id string) int { return labelIndex(topicIDs[:], id) }

func labelIndex(labels []string, id string) int {
	for i, t := range labels {
		if t == id {
			return i
		}
	}
	return -1
}

// parseTopics parses data/topics.tsv: TOPIC <tab> WEIGHT <tab> TERM, where TERM is a word
// or phrase in ordinary spelling (stemmed on load) and a word ending in '*' matches every
// word that starts with it. A line "min_score <tab> X" sets the score below which the topic
// is "other".
func parseTopics(data string) (*termDict, error) { return parseTerms("topics.tsv", data, topicIDs[:]) }

// parseTerms parses a dictionary in the format of topics.tsv with the given labels.
func parseTerms(name, data string, labels []string) (*termDict, error) {
	d := &termDict{name: name, labels: labels, byStem: map[string][]int32{}, byWord: map[string][]int32{}, phrases: map[string][]int32{}, minScore: 1}
	sc := bufio.NewScanner(strings.NewReader(data))
	n := 0
	seen := map[string]bool{}
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) == 2 && f[0] == "min_score" {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, n, err)
			}
			d.minScore = v
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want TOPIC<tab>WEIGHT<tab>TERM, got %q", name, n, line)
		}
		ti := labelIndex(labels, f[0])
		if ti < 0 {
			return nil, fmt.Errorf("%s:%d: unknown label %q", name, n, f[0])
		}
		w, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: weight: %w", name, n, err)
		}
		t := topicTerm{topic: ti, weight: w, text: f[2]}
		for _, field := range strings.Fields(f[2]) {
			// «a|b»: alternatives of one word (forms that do not share a stem); otherwise
			// every word of the field is a part of its own («qr-код» is two words).
			alts := strings.Split(field, "|")
			var p termPart
			for _, alt := range alts {
				exact := strings.HasPrefix(alt, "=")
				for _, tok := range Tokenize(strings.TrimPrefix(alt, "="), nil) {
					if tok.Kind != Word {
						continue
					}
					if exact {
						p.words = append(p.words, tok.Text)
					} else if tok.Masked && strings.HasSuffix(tok.Text, "*") {
						p.prefixes = append(p.prefixes, strings.TrimSuffix(tok.Text, "*"))
					} else {
						p.stems = append(p.stems, Stem(tok.Text))
					}
					if len(alts) == 1 {
						t.parts = append(t.parts, p)
						p = termPart{}
					}
				}
			}
			if len(p.stems)+len(p.prefixes)+len(p.words) > 0 {
				t.parts = append(t.parts, p)
			}
		}
		if len(t.parts) == 0 {
			return nil, fmt.Errorf("%s:%d: empty term", name, n)
		}
		key := f[0] + "\x00" + fmt.Sprint(t.parts)
		if seen[key] {
			// Another form of a word already listed (same stems): harmless, keep the first.
			continue
		}
		seen[key] = true
		idx := int32(len(d.terms))
		d.terms = append(d.terms, t)
		first := &t.parts[0]
		switch {
		case len(t.parts) == 1:
			for _, st := range first.stems {
				if !slices.Contains(d.byStem[st], idx) {
					d.byStem[st] = append(d.byStem[st], idx)
				}
			}
			for _, x := range first.prefixes {
				d.prefixes.all = append(d.prefixes.all, prefixTerm{prefix: x, term: idx})
			}
			for _, x := range first.words {
				d.byWord[x] = append(d.byWord[x], idx)
			}
		case len(first.prefixes) > 0 || len(first.words) > 0:
			return nil, fmt.Errorf("%s:%d: a phrase cannot start with a prefix or exact word", name, n)
		default:
			for _, st := range first.stems {
				if !slices.Contains(d.phrases[st], idx) {
					d.phrases[st] = append(d.phrases[st], idx)
				}
			}
		}
	}
	if len(d.terms) == 0 {
		return nil, fmt.Errorf("%s: no terms", name)
	}
	d.prefixes = newFirstTwo(d.prefixes.all, func(p prefixTerm) string { return p.prefix })
	return d, sc.Err()
}

// wordHits returns the single-word terms matched by a word (cached per word).
func (d *termDict) wordHits(w, stem string) []termHit {
	var hits []termHit
	for _, i := range d.byStem[stem] {
		hits = append(hits, termHit{term: i})
	}
	for _, i := range d.byWord[w] {
		if !slices.Contains(hits, termHit{term: i}) {
			hits = append(hits, termHit{term: i})
		}
	}
	for _, p := range d.prefixes.of(w) {
		if strings.HasPrefix(w, p.prefix) && !slices.Contains(hits, termHit{term: p.term}) {
			hits = append(hits, termHit{term: p.term})
		}
	}
	return hits
}

func (d *termDict) partMatches(t *topicTerm, k int, word, stem string) bool {
	return t.parts[k].matches(word, stem)
}

// scores sums the weights of the distinct terms found in a, per topic, and returns the
// matched term indexes.
// Words without hits (info.has&bit == 0) are skipped without reading their hits.
func (d *termDict) scores(a *analysis, bit uint8, hits func(*wordInfo) ([]termHit, []int32), out []float64) []int32 {
	var matched []int32
	has := func(i int32) bool { return slices.Contains(matched, i) }
	for wi, info := range a.winfo {
		if info.has&bit == 0 {
			continue
		}
		single, phr := hits(info)
		negated := d.negation && wi > 0 && a.words[wi-1] == "не"
		for _, h := range single {
			if !has(h.term) && !negated {
				matched = append(matched, h.term)
			}
		}
		for _, i := range phr {
			if has(i) {
				continue
			}
			t := &d.terms[i]
			k, q := 1, wi
			for k < len(t.parts) {
				ok := false
				for r := q + 1; r < len(a.words) && r <= q+2; r++ {
					if d.partMatches(t, k, a.words[r], a.stems[r]) {
						q, ok = r, true
						break
					}
				}
				if !ok {
					break
				}
				k++
			}
			if k == len(t.parts) {
				matched = append(matched, i)
			}
		}
	}
	for _, i := range matched {
		out[d.terms[i].topic] += d.terms[i].weight
	}
	return matched
}

// defaultModelWeight is how much the model's probability counts against dictionary
// weights.
const defaultModelWeight = 2.0

// modelGate is the dictionary lead above which the model is not consulted.
const modelGate = 1.5

// topicOf decides the topic and its evidence.
func (c *Classifier) topicOf(a *analysis) (string, []otklik.Evidence) {
	sc := make([]float64, len(topicIDs))
	matched := c.topics.scores(a, hasTopic, func(wi *wordInfo) ([]termHit, []int32) { return wi.hits.topics, wi.hits.topicPhr }, sc)
	dictMax := 0.0
	for _, s := range sc {
		dictMax = max(dictMax, s)
	}
	var probs []float64
	// The model speaks when the dictionaries are not sure: their best topic leads the
	// second by less than modelGate.
	first, second := 0.0, 0.0
	for _, s := range sc {
		if s > first {
			first, second = s, first
		} else if s > second {
			second = s
		}
	}
	if c.model != nil && first-second < modelGate {
		probs = c.model.posteriorOf(a.winfo)
		if probs != nil {
			for i := range sc {
				sc[i] += c.cfg.ModelWeight * probs[i]
			}
		}
	}
	best, bestScore := len(topicIDs)-1, 0.0
	for i, s := range sc {
		if s > bestScore {
			best, bestScore = i, s
		}
	}
	if bestScore < c.topics.minScore {
		best = len(topicIDs) - 1
	}
	var ev []otklik.Evidence
	for _, i := range matched {
		t := &c.topics.terms[i]
		if t.topic == best {
			ev = append(ev, otklik.Evidence{Term: t.text, Weight: t.weight})
		}
	}
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].Weight > ev[j].Weight })
	if probs != nil && probs[best] > 0.05 {
		ev = append(ev, otklik.Evidence{Term: c.modelTerm, Weight: round2(c.cfg.ModelWeight * probs[best])})
	}
	return topicIDs[best], ev
}

func round2(x float64) float64 { return float64(int(x*100+0.5)) / 100 }
