package classifier

import (
	"bufio"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/otklik/otklik"
)

// runeSet is one position of a root pattern: the letters allowed there.
type runeSet []rune

func (s runeSet) has(r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}

// parseRoot parses "ху[йеияю]" into per-position letter sets.
func parseRoot(s string) ([]runeSet, error) {
	var out []runeSet
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		if rs[i] == '[' {
			j := i + 1
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			if j == len(rs) || j == i+1 {
				return nil, fmt.Errorf("bad letter class in %q", s)
			}
			out = append(out, runeSet(rs[i+1:j]))
			i = j
			continue
		}
		out = append(out, runeSet{rs[i]})
	}
	return out, nil
}

type rootRule struct {
	term string
	sets []runeSet
}

// wordMatcher matches single normalised words against one kind of lexicon entry.
type wordMatcher struct {
	words map[string]string
	// starts and excepts are indexed by index(): a word is only compared with the entries
	// that share its first letter.
	starts   firstTwo[string]
	anys     []string
	prefixed []rootRule
	masks    [][]rune
	excepts  firstTwo[string]
}

func newWordMatcher() *wordMatcher { return &wordMatcher{words: map[string]string{}} }

// index builds the first-letter indexes of starts and excepts.
func (m *wordMatcher) index() {
	m.starts = newFirstTwo(m.starts.all, same)
	m.excepts = newFirstTwo(m.excepts.all, same)
}

func same(s string) string { return s }

// firstTwo is a list indexed by the first two bytes (one Cyrillic letter) of each entry's
// key, in order, for entries matched as prefixes of a word. It has no index when a key is
// shorter than two bytes: then every word is compared with the whole list. Keys that
// start with а–я (and ё) are indexed by an array, others by a map.
type firstTwo[T any] struct {
	all     []T
	indexed bool
	cyr     [128][]T // by cyrIndex
	other   map[string][]T
}

// cyrIndex is the index in firstTwo.cyr of a key starting with the bytes b0 b1, or -1
// when b0 is not 0xD0 or 0xD1 (the lead bytes of а–я, ё and the capitals).
func cyrIndex(b0, b1 byte) int {
	if b0-0xD0 > 1 {
		return -1
	}
	return int(b0-0xD0)<<6 | int(b1&0x3F)
}

func newFirstTwo[T any](list []T, key func(T) string) firstTwo[T] {
	x := firstTwo[T]{all: list, indexed: true}
	for _, e := range list {
		k := key(e)
		if len(k) < 2 {
			return firstTwo[T]{all: list}
		}
		if ci := cyrIndex(k[0], k[1]); ci >= 0 {
			x.cyr[ci] = append(x.cyr[ci], e)
			continue
		}
		if x.other == nil {
			x.other = map[string][]T{}
		}
		x.other[k[:2]] = append(x.other[k[:2]], e)
	}
	return x
}

// of returns the entries whose key may be a prefix of w.
func (x *firstTwo[T]) of(w string) []T {
	if !x.indexed {
		return x.all
	}
	if len(w) < 2 {
		return nil
	}
	if ci := cyrIndex(w[0], w[1]); ci >= 0 {
		return x.cyr[ci]
	}
	return x.other[w[:2]]
}

// excepted reports whether w is a hard negative of the matcher (it starts with one of its
// except entries).
func (m *wordMatcher) excepted(w string) bool {
	for _, e := range m.excepts.of(w) {
		if strings.HasPrefix(w, e) {
			return true
		}
	}
	return false
}

// match returns the lexicon term w, not excepted, matches, or "".
func (m *wordMatcher) match(w string, prefixes []string) string {
	if t, ok := m.words[w]; ok {
		return t
	}
	for _, s := range m.starts.of(w) {
		if strings.HasPrefix(w, s) {
			return s
		}
	}
	for _, s := range m.anys {
		if strings.Contains(w, s) {
			return s
		}
	}
	if len(m.prefixed) > 0 {
		// The prefixes w starts with, in lexicon order, found once for all rules.
		var buf [8]int
		cut := buf[:0]
		for _, p := range prefixes {
			if len(p) < len(w) && strings.HasPrefix(w, p) {
				cut = append(cut, len(p))
			}
		}
		for _, r := range m.prefixed {
			if matchSetsStr(w, r.sets) {
				return r.term
			}
			for _, n := range cut {
				if matchSetsStr(w[n:], r.sets) {
					return r.term
				}
			}
		}
	}
	// Masked words: at most 4 star runs and 30 letters, which keeps the backtracking of
	// globMatch small.
	if n := strings.Count(w, "*"); n > 0 && n <= 4 && len(m.masks) > 0 && utf8.RuneCountInString(w) <= 30 {
		rs := []rune(w)
		for _, s := range m.masks {
			if globMatch(rs, s, 0, 0, 0) {
				return string(s)
			}
		}
	}
	return ""
}

// matchSetsStr reports whether s starts with the pattern.
func matchSetsStr(s string, sets []runeSet) bool {
	i := 0
	for _, set := range sets {
		if i >= len(s) {
			return false
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !set.has(r) {
			return false
		}
		i += n
	}
	return true
}

// matchSets reports whether rs starts with the pattern.
func matchSets(rs []rune, sets []runeSet) bool {
	if len(rs) < len(sets) {
		return false
	}
	for i, s := range sets {
		if !s.has(rs[i]) {
			return false
		}
	}
	return true
}

// globMatch reports whether the masked word w (where '*' stands for one to five hidden
// letters) spells s, or s followed by an ending, with at least two letters of s visible.
// i, j index w and s; seen counts visible letters matched so far.
func globMatch(w, s []rune, i, j, seen int) bool {
	if j == len(s) {
		// s fully spelt; the rest of w is the ending (letters or stars).
		return seen >= 2 && i > 0
	}
	if i == len(w) {
		return false
	}
	if w[i] == '*' {
		for k := 1; k <= 5 && j+k <= len(s); k++ {
			if j+k == len(s) && i+1 < len(w) {
				// A star may end the stem only at the end of the word: «пи*дец» must not
				// read as «пидор» + «ец».
				break
			}
			if globMatch(w, s, i+1, j+k, seen) {
				return true
			}
		}
		// The star may also hide the rest of s and part of the ending.
		if len(s)-j <= 5 && i == len(w)-1 {
			return seen >= 2
		}
		return false
	}
	if w[i] != s[j] {
		return false
	}
	return globMatch(w, s, i+1, j+1, seen+1)
}

// phrase is a sequence of word alternatives matched in order with small gaps.
type phrase struct {
	text  string
	parts [][]string // alternatives; a trailing '*' marks a prefix
}

func (p phrase) partMatches(k int, w string) bool {
	for _, a := range p.parts[k] {
		if strings.HasSuffix(a, "*") {
			if strings.HasPrefix(w, a[:len(a)-1]) {
				return true
			}
		} else if a == w {
			return true
		}
	}
	return false
}

// maxGap is how many other words may stand between the words of a phrase.
const maxGap = 3

// findAt reports whether p occurs in words starting at s (whose word matches the first
// part), and where it ends.
func (p phrase) findAt(words []string, s int) (int, bool) {
	{
		k, pos := 1, s
		for k < len(p.parts) {
			found := false
			for q := pos + 1; q < len(words) && q <= pos+1+maxGap; q++ {
				if p.partMatches(k, words[q]) {
					pos, found = q, true
					break
				}
			}
			if !found {
				break
			}
			k++
		}
		if k == len(p.parts) {
			return pos, true
		}
	}
	return 0, false
}

// toxicLexicon is the parsed data/toxic.txt.
type toxicLexicon struct {
	// prefixes are the verbal prefixes a root may follow («за», «на», «вы»…).
	prefixes    firstTwo[string]
	obscene     *wordMatcher
	insult      *wordMatcher
	animals     map[string]bool
	pointers    map[string]bool
	threatWords map[string]bool
	threats     []phrase
	// threatsByFirst lists, for the first two bytes of a word, the threat phrases whose
	// first part may match it (in order); nil when an entry is too short to index.
	threatsByFirst map[string][]int
}

// index builds the lookup tables of the lexicon.
func (lx *toxicLexicon) index() {
	lx.obscene.index()
	lx.insult.index()
	lx.prefixes = newFirstTwo(lx.prefixes.all, same)
	lx.threatsByFirst = map[string][]int{}
	for i, p := range lx.threats {
		for _, a := range p.parts[0] {
			a = strings.TrimSuffix(a, "*")
			if len(a) < 2 {
				lx.threatsByFirst = nil
				return
			}
			if l := lx.threatsByFirst[a[:2]]; len(l) == 0 || l[len(l)-1] != i {
				lx.threatsByFirst[a[:2]] = append(l, i)
			}
		}
	}
}

// threatsFor returns the indices of the threat phrases whose first part w may match.
func (lx *toxicLexicon) threatsFor(w string) []int {
	if lx.threatsByFirst == nil || len(w) < 2 {
		all := make([]int, len(lx.threats))
		for i := range all {
			all[i] = i
		}
		return all
	}
	return lx.threatsByFirst[w[:2]]
}

func parseToxic(data string) (*toxicLexicon, error) {
	lx := &toxicLexicon{
		obscene: newWordMatcher(), insult: newWordMatcher(),
		animals: map[string]bool{}, pointers: map[string]bool{}, threatWords: map[string]bool{},
	}
	sc := bufio.NewScanner(strings.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("toxic.txt:%d: want KIND MODE TERM", n)
		}
		kind, mode, term := f[0], f[1], strings.Join(f[2:], " ")
		var m *wordMatcher
		switch kind {
		case "prefix":
			lx.prefixes.all = append(lx.prefixes.all, f[2:]...)
			continue
		case "pointer":
			for _, w := range f[2:] {
				lx.pointers[w] = true
			}
			continue
		case "obscene":
			m = lx.obscene
		case "insult":
			m = lx.insult
		case "threat":
			switch mode {
			case "word":
				lx.threatWords[term] = true
			case "phrase":
				p := phrase{text: strings.ReplaceAll(term, "|", "/")}
				for _, part := range f[2:] {
					p.parts = append(p.parts, strings.Split(part, "|"))
				}
				lx.threats = append(lx.threats, p)
			default:
				return nil, fmt.Errorf("toxic.txt:%d: unknown threat mode %q", n, mode)
			}
			continue
		default:
			return nil, fmt.Errorf("toxic.txt:%d: unknown kind %q", n, kind)
		}
		switch mode {
		case "word":
			m.words[term] = term
		case "start":
			m.starts.all = append(m.starts.all, term)
		case "any":
			m.anys = append(m.anys, term)
		case "prefixed":
			sets, err := parseRoot(term)
			if err != nil {
				return nil, fmt.Errorf("toxic.txt:%d: %w", n, err)
			}
			// The evidence shows the root spelt with the first letter of each class.
			var disp []rune
			for _, s := range sets {
				disp = append(disp, s[0])
			}
			m.prefixed = append(m.prefixed, rootRule{term: string(disp), sets: sets})
		case "mask":
			m.masks = append(m.masks, []rune(term))
		case "except":
			m.excepts.all = append(m.excepts.all, term)
		case "animal":
			if kind != "insult" {
				return nil, fmt.Errorf("toxic.txt:%d: animal is for insults", n)
			}
			lx.animals[term] = true
		default:
			return nil, fmt.Errorf("toxic.txt:%d: unknown mode %q", n, mode)
		}
	}
	lx.index()
	if len(lx.obscene.words)+len(lx.obscene.starts.all) == 0 || len(lx.threatWords) == 0 {
		return nil, fmt.Errorf("toxic.txt: lexicon is empty")
	}
	return lx, sc.Err()
}

// analyse fills the point-16 fields of a word's info.
func (lx *toxicLexicon) analyse(w string, wi *wordInfo) {
	if utf8.RuneCountInString(w) < 2 {
		return
	}
	prefixes := lx.prefixes.of(w)
	obsceneExc, insultExc := lx.obscene.excepted(w), lx.insult.excepted(w)
	if !obsceneExc {
		wi.obscene = lx.obscene.match(w, prefixes)
	}
	if !insultExc {
		wi.insult = lx.insult.match(w, prefixes)
	}
	// A hard negative («уродуют», «малолетними», «недоумение») is an ordinary word the
	// lexicon has told apart: the toxic model does not weigh it either.
	wi.lexNeutral = obsceneExc || insultExc
	wi.animal = lx.animals[w]
}

// toxicResult is what point 16 found in one text.
type toxicResult struct {
	reasons  []otklik.DropReason
	evidence map[string][]otklik.Evidence
}

// detectToxic runs point 16 over the tokens whose infos are given (parallel slices; infos
// of non-word tokens are nil).
func (c *Classifier) detectToxic(a *analysis, res *toxicResult) {
	lx := c.toxic
	toks, infos, words := a.toks, a.infos, a.words
	var obs, ins, thr []otklik.Evidence
	add := func(list *[]otklik.Evidence, kind, term, text string) {
		for _, e := range *list {
			if e.Term == term {
				return
			}
		}
		e := otklik.Evidence{Term: term, Weight: 1}
		if text != term {
			e.Text = text
		}
		*list = append(*list, e)
	}
	prevPointer := false
	for i, t := range toks {
		wi := infos[i]
		if wi == nil {
			continue
		}
		if wi.obscene != "" {
			add(&obs, "o", wi.obscene, t.Text)
		}
		if t.Kind == Joined {
			continue
		}
		if wi.insult != "" {
			add(&ins, "i", wi.insult, t.Text)
		} else if wi.animal && (prevPointer || t.Dash) {
			add(&ins, "i", t.Text, t.Text)
		}
		if wi.threat {
			add(&thr, "t", t.Text, t.Text)
		}
		prevPointer = wi.pointer
	}
	for wi, info := range a.winfo {
		for _, pi := range info.hits.threatPhr {
			p := lx.threats[pi]
			if e, ok := p.findAt(words, wi); ok {
				add(&thr, "t", p.text, strings.Join(words[wi:e+1], " "))
			}
		}
	}
	if len(obs) > 0 {
		res.reasons = append(res.reasons, otklik.Obscene)
		res.evidence["obscene"] = obs
	}
	if len(ins) > 0 {
		res.reasons = append(res.reasons, otklik.Insult)
		res.evidence["insult"] = ins
	}
	if len(thr) > 0 {
		res.reasons = append(res.reasons, otklik.Threat)
		res.evidence["threat"] = thr
	}
}
