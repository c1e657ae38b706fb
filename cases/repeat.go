package cases

import (
	"context"
	"strings"
	"unicode"
)

// findRepeat returns the most recent earlier case that c repeats, or nil: the same author
// (network and author id) about the same topic and place, or a near-identical text
// (word-set Jaccard similarity at least Config.RepeatSimilarity), detected within
// Config.RepeatWindow before c.
func (s *Service) findRepeat(ctx context.Context, c *Case) (*Case, error) {
	cands, _, err := s.store.Search(ctx, Query{DetectedAfter: c.DetectedAt.Add(-s.cfg.RepeatWindow)})
	if err != nil {
		return nil, err
	}
	words := s.words(c.ID, c.Publication.Text)
	var best *Case
	for i := range cands {
		e := &cands[i]
		if e.ID == c.ID || e.Stage == Merged || e.DetectedAt.After(c.DetectedAt) {
			continue
		}
		if best != nil && !e.DetectedAt.After(best.DetectedAt) {
			continue
		}
		sameAuthor := c.Publication.Author.ID != "" && e.Publication.Network == c.Publication.Network &&
			e.Publication.Author.ID == c.Publication.Author.ID && e.Topic == c.Topic && e.Location == c.Location
		if sameAuthor || jaccard(words, s.words(e.ID, e.Publication.Text)) >= s.cfg.RepeatSimilarity {
			best = e
		}
	}
	if len(s.wordCache) > 2*len(cands)+1000 { // forget cases that left the window
		keep := make(map[string]map[string]bool, len(cands)+1)
		for i := range cands {
			if w, ok := s.wordCache[cands[i].ID]; ok {
				keep[cands[i].ID] = w
			}
		}
		s.wordCache = keep
	}
	return best, nil
}

// words returns the word set of a case's text, cached (a case's publication text never
// changes). The caller holds s.mu.
func (s *Service) words(id, text string) map[string]bool {
	if w, ok := s.wordCache[id]; ok {
		return w
	}
	w := wordSet(text)
	s.wordCache[id] = w
	return w
}

// wordSet is the set of lower-cased words of at least two letters or digits.
func wordSet(text string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len([]rune(w)) >= 2 {
			out[strings.ReplaceAll(w, "ё", "е")] = true
		}
	}
	return out
}

// jaccard is |a∩b| / |a∪b|; 0 when either set has fewer than three words.
func jaccard(a, b map[string]bool) float64 {
	if len(a) < 3 || len(b) < 3 {
		return 0
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	inter := 0
	for w := range a {
		if b[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
