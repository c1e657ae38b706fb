package classifier

import (
	"github.com/kljensen/snowball/russian"
)

// Stem returns the Snowball (Russian) stem of a normalised word: the stem of
// github.com/kljensen/snowball/russian.Stem (stop words kept as they are), always.
//
// Words of lower-case basic Cyrillic letters (а–я, nearly all words of a normalised
// text) take a fast path that follows russian.Stem step by step on the word's bytes: every
// step of that stemmer only removes letters from the end, so the stem is a prefix of the
// word and costs no allocation, where russian.Stem converts the word and each candidate
// suffix to runes. Every other word (Latin, digits, masks, ё, very long words) goes to
// russian.Stem itself. TestStemMatchesSnowball and FuzzStem hold the two to the same
// output.
func Stem(w string) string {
	if s, ok := stemCyrillic(w); ok {
		return s
	}
	if plainASCII(w) {
		return w // no Russian suffix or stop word can match, and nothing to lower-case or trim
	}
	return russian.Stem(w, false)
}

// plainASCII reports a word of ASCII bytes other than capitals and white space (numbers,
// Latin words, masked words), which russian.Stem returns as it is.
func plainASCII(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c >= 0x80 || c >= 'A' && c <= 'Z' || c <= ' ' {
			return false
		}
	}
	return true
}

// stemCyrillic is the fast path of Stem; ok is false when w has a byte outside the
// two-byte encodings of а–я (U+0430–U+044F), which it leaves to russian.Stem.
//
// Positions are in bytes: each letter is two bytes, so a region start of n letters is 2n.
func stemCyrillic(w string) (string, bool) {
	if len(w) == 0 || len(w)%2 != 0 || len(w) > 2*maxFastStem {
		return "", false
	}
	for i := 0; i < len(w); i += 2 {
		// а–п are D0 B0–D0 BF, р–я are D1 80–D1 8F.
		b0, b1 := w[i], w[i+1]
		if !(b0 == 0xD0 && b1 >= 0xB0 && b1 <= 0xBF || b0 == 0xD1 && b1 >= 0x80 && b1 <= 0x8F) {
			return "", false
		}
	}
	// Short words and stop words are returned as they are.
	if len(w) <= 4 || russian.IsStopWord(w) {
		return w, true
	}
	s := snowballState{w: w, end: len(w)}
	s.regions()
	s.step1()
	// Step 2: a final «и» in RV.
	s.removeFirst(s.rv, sufI)
	// Step 3: a derivational «ост»/«ость» in R2.
	s.removeFirst(s.r2, sufDerivational)
	s.step4()
	return w[:s.end], true
}

// maxFastStem is the longest word (in letters) the fast path takes; longer ones are left
// to russian.Stem (they are rare, and not worth a second code path for huge inputs).
const maxFastStem = 64

// snowballState is a word being stemmed: the word, the end of what is left of it, and the
// starts of the regions R1, R2 and RV, all in bytes. Removing letters clamps the regions to
// the end, as snowballword.SnowballWord.RemoveLastNRunes does.
type snowballState struct {
	w          string
	end        int
	r1, r2, rv int
}

// vowel reports the Russian vowels of the Snowball algorithm (а е и о у ы э ю я) for the
// letter at byte position i.
func (s *snowballState) vowel(i int) bool {
	switch s.w[i : i+2] {
	case "а", "е", "и", "о", "у", "ы", "э", "ю", "я":
		return true
	}
	return false
}

// regions computes R1, R2 and RV as russian.Stem's preprocess does (romance.VnvSuffix:
// the position after the first non-vowel following a vowel, searched from a start).
func (s *snowballState) regions() {
	vnv := func(start int) int {
		for j := start + 2; j < s.end; j += 2 {
			if s.vowel(j-2) && !s.vowel(j) {
				return j + 2
			}
		}
		return s.end
	}
	s.r1 = vnv(0)
	s.r2 = vnv(s.r1)
	s.rv = s.end
	for i := 0; i < s.end; i += 2 {
		if s.vowel(i) {
			s.rv = i + 2
			break
		}
	}
}

// cut removes n bytes from the end and clamps the regions.
func (s *snowballState) cut(n int) {
	s.end -= n
	s.r1 = min(s.r1, s.end)
	s.r2 = min(s.r2, s.end)
	s.rv = min(s.rv, s.end)
}

// firstSuffix returns the first of sufs (in their order, not the longest) that ends the
// word and fits in the region starting at start, as SnowballWord.FirstSuffixIn does; ""
// when none does. Only the suffixes that end in the word's last letter are compared.
func (s *snowballState) firstSuffix(start int, sufs *suffixList) string {
	if s.end < 2 {
		return ""
	}
	for _, suf := range sufs.byLast[letterIndex(s.w[s.end-2], s.w[s.end-1])] {
		if len(suf) <= s.end-start && s.w[s.end-len(suf):s.end] == suf {
			return suf
		}
	}
	return ""
}

// letterIndex is the index 0–31 of the letter а–я encoded as b0 b1.
func letterIndex(b0, b1 byte) int {
	if b0 == 0xD0 {
		return int(b1-0xB0) & 31
	}
	return int(b1-0x80+16) & 31
}

// suffixList is a list of suffixes of a step, grouped by their last letter in their
// order.
type suffixList struct {
	all    []string
	byLast [32][]string
}

// suffixes makes a suffixList of а–я suffixes.
func suffixes(list ...string) *suffixList {
	l := &suffixList{all: list}
	for _, s := range list {
		i := letterIndex(s[len(s)-2], s[len(s)-1])
		l.byLast[i] = append(l.byLast[i], s)
	}
	return l
}

// removeFirst removes the first of sufs found by firstSuffix and returns it.
func (s *snowballState) removeFirst(start int, sufs *suffixList) string {
	suf := s.firstSuffix(start, sufs)
	s.cut(len(suf))
	return suf
}

// precededByAR reports that the letter before a suffix of n bytes is «а» or «я» and lies
// in RV.
func (s *snowballState) precededByAR(n int) bool {
	i := s.end - n - 2
	return i >= s.rv && (s.w[i:i+2] == "а" || s.w[i:i+2] == "я")
}

// step1 removes a perfective gerund ending, or else a reflexive, then an adjectival, a
// verb or a noun ending, as russian's step1 does.
func (s *snowballState) step1() {
	if suf := s.firstSuffixAR(sufGerund, gerundNeedsAR); suf != "" {
		s.cut(len(suf))
		return
	}
	s.removeFirst(s.rv, sufReflexive)
	if s.removeFirst(s.rv, sufAdjective) != "" {
		s.cut(len(s.firstSuffixAR(sufParticiple, participleNeedsAR)))
		return
	}
	if suf := s.firstSuffixAR(sufVerb, verbNeedsAR); suf != "" {
		s.cut(len(suf))
		return
	}
	s.removeFirst(s.rv, sufNoun)
}

// firstSuffixAR is firstSuffix in RV, except that a suffix for which needsAR is true
// counts only after «а» or «я» in RV; otherwise no suffix is found (the later ones of the
// list are not tried), as in russian's step 1.
func (s *snowballState) firstSuffixAR(sufs *suffixList, needsAR func(string) bool) string {
	suf := s.firstSuffix(s.rv, sufs)
	if suf != "" && needsAR(suf) && !s.precededByAR(len(suf)) {
		return ""
	}
	return suf
}

// The suffixes of step 1 that need a preceding «а» or «я» (group 1 of the algorithm).
func gerundNeedsAR(suf string) bool { return suf == "в" || suf == "вши" || suf == "вшись" }

func participleNeedsAR(suf string) bool {
	switch suf {
	case "ем", "нн", "вш", "ющ", "щ":
		return true
	}
	return false
}

func verbNeedsAR(suf string) bool {
	switch suf {
	case "ла", "на", "ете", "йте", "ли", "й", "л", "ем", "н",
		"ло", "но", "ет", "ют", "ны", "ть", "ешь", "нно":
		return true
	}
	return false
}

// step4 undoubles «нн», removes a superlative ending, or removes a soft sign — over the
// whole word, not only RV, as russian's step4 does.
func (s *snowballState) step4() {
	if s.firstSuffix(0, sufNN) != "" {
		s.cut(2)
		return
	}
	if s.removeFirst(0, sufSuperlative) != "" {
		if s.firstSuffix(0, sufNN) != "" {
			s.cut(2)
		}
		return
	}
	if s.firstSuffix(0, sufSoft) != "" {
		s.cut(2)
	}
}

// The suffix lists of russian's steps, in its order (which decides between suffixes that
// both match).
var (
	sufGerund    = suffixes("ившись", "ывшись", "вшись", "ивши", "ывши", "вши", "ив", "ыв", "в")
	sufReflexive = suffixes("ся", "сь")
	sufAdjective = suffixes(
		"ими", "ыми", "его", "ого", "ему", "ому", "ее", "ие",
		"ые", "ое", "ей", "ий", "ый", "ой", "ем", "им", "ым",
		"ом", "их", "ых", "ую", "юю", "ая", "яя", "ою", "ею",
	)
	sufParticiple = suffixes("ивш", "ывш", "ующ", "ем", "нн", "вш", "ющ", "щ")
	sufVerb       = suffixes(
		"уйте", "ейте", "ыть", "ыло", "ыли", "ыла", "уют", "ует",
		"нно", "йте", "ишь", "ить", "ите", "ило", "или", "ила",
		"ешь", "ете", "ены", "ено", "ена", "ят", "ют", "ыт", "ым",
		"ыл", "ую", "уй", "ть", "ны", "но", "на", "ло", "ли", "ла",
		"ит", "им", "ил", "ет", "ен", "ем", "ей", "ю", "н", "л", "й",
	)
	sufNoun = suffixes(
		"иями", "ями", "иях", "иям", "ием", "ией", "ами", "ях",
		"ям", "ья", "ью", "ье", "ом", "ой", "ов", "ия", "ию",
		"ий", "ии", "ие", "ем", "ей", "еи", "ев", "ах", "ам",
		"я", "ю", "ь", "ы", "у", "о", "й", "и", "е", "а",
	)
	sufI            = suffixes("и")
	sufDerivational = suffixes("ост", "ость")
	sufNN           = suffixes("нн")
	sufSuperlative  = suffixes("ейше", "ейш")
	sufSoft         = suffixes("ь")
)
