package classifier

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TokenKind tells words from the other kinds of tokens a text is split into.
type TokenKind uint8

// Token kinds.
const (
	// Word is a run of letters (and digits or masking characters inside a word).
	Word TokenKind = iota
	// Number is a run of digits.
	Number
	// URL is a link (http://, https://, www.).
	URL
	// Mention is an @name.
	Mention
	// Hashtag is a #tag; its Text is the tag without '#', normalised like a word.
	Hashtag
	// Joined is a word spelt out in separated letters («х.у.й», «б л я»), glued back. It
	// overlaps the single-letter words it was made of and is only used by the point-16 check.
	Joined
)

// String names the kind.
func (k TokenKind) String() string {
	switch k {
	case Word:
		return "word"
	case Number:
		return "number"
	case URL:
		return "url"
	case Mention:
		return "mention"
	case Hashtag:
		return "hashtag"
	case Joined:
		return "joined"
	}
	return "unknown"
}

// Token is one unit of a normalised text.
type Token struct {
	// Text is the normalised form: lower case, ё→е, NFKC, Latin and digit look-alikes folded
	// to Cyrillic in otherwise Cyrillic words, stretched letters squeezed. Masking characters
	// inside a word («е*аный») are kept as '*'.
	Text string

	wi *wordInfo // the cached analysis, when tokenized by a Classifier

	Kind TokenKind
	// Cap reports that the word began with an upper-case letter in the original text.
	Cap bool
	// SentenceStart reports that the word is the first of a sentence (or of the text).
	SentenceStart bool
	// Masked reports that the word contains a masking character ('*').
	Masked bool
	// Dash reports that a free-standing dash («—», «-») came right before the token.
	Dash bool
}

// Normalize returns the normalised text: its tokens' Text joined by single spaces. It is
// the function the fuzz test exercises; classification works on Tokenize.
func Normalize(s string) string {
	toks := Tokenize(s, nil)
	var b strings.Builder
	for i, t := range toks {
		if t.Kind == Joined {
			continue
		}
		if i > 0 && b.Len() > 0 {
			b.WriteByte(' ')
		}
		if t.Kind == Hashtag {
			b.WriteByte('#')
		}
		b.WriteString(t.Text)
	}
	return b.String()
}

// needsNFKC reports whether s has anything outside ASCII and the basic Cyrillic block, the
// only case where NFKC can change it (composed Cyrillic letters are already NFC and have no
// compatibility decomposition).
func needsNFKC(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			continue
		}
		// Basic Cyrillic U+0400–U+04FF is encoded as 0xD0–0xD3 followed by one byte.
		if c >= 0xD0 && c <= 0xD3 && i+1 < len(s) {
			i++
			continue
		}
		return true
	}
	return false
}

// prepare makes s valid UTF-8 and NFKC. Text of ASCII and basic Cyrillic only (nearly
// all of it) is returned after one pass over its bytes.
func prepare(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			continue
		}
		if c >= 0xD0 && c <= 0xD3 && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i++
			continue
		}
		return prepareSlow(s)
	}
	return s
}

// prepareSlow is prepare for text with anything beyond ASCII and basic Cyrillic.
func prepareSlow(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	if !needsNFKC(s) {
		return s
	}
	if t, ok := nfkcCommon(s); ok {
		return t
	}
	return norm.NFKC.String(s)
}

// nfkcCommon is norm.NFKC.String for text whose characters beyond ASCII and basic
// Cyrillic are all common punctuation and signs of residents' posts (see nfkcOf); ok is
// false for any other text, which needs the full normalisation.
func nfkcCommon(s string) (string, bool) {
	var b []byte
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= 0xD0 && c <= 0xD3 && i+1 < len(s) {
			i += 2
			continue
		}
		r, n := decodeAt(s, i)
		to, ok := nfkcOf(r)
		if !ok {
			return "", false
		}
		if to != "" {
			if b == nil {
				b = make([]byte, 0, len(s)+8)
			}
			b = append(b, s[last:i]...)
			b = append(b, to...)
			last = i + n
		}
		i += n
	}
	if b == nil {
		return s, true
	}
	return string(append(b, s[last:]...)), true
}

// nfkcOf returns the NFKC form of a common character of residents' texts outside ASCII and
// basic Cyrillic ("" when NFKC leaves it as it is); ok is false for any other character.
// TestNFKCCommon holds it to golang.org/x/text/unicode/norm.
func nfkcOf(r rune) (to string, ok bool) {
	switch r {
	case '«', '»', '°', '©', '·', '×', '–', '—', '‘', '’', '“', '”', '„', '•', '−', '₽', '\ufffc', '\u200b':
		return "", true
	case '№':
		return "No", true
	case '\u00a0':
		return " ", true
	case '…':
		return "...", true
	case '\u2011':
		return "\u2010", true
	}
	return "", false
}

func isCyr(r rune) bool { return r >= 0x0400 && r <= 0x04FF }

// maskRune reports characters used to mask letters inside words.
func maskRune(r rune) bool {
	switch r {
	case '*', '@', '#', '$', '%', '…':
		return true
	}
	return false
}

// lookalike folds a Latin letter or digit that looks like a Cyrillic letter, in the case
// it was written. ok is false when r has no look-alike.
func lookalike(r rune) (rune, bool) {
	switch r {
	case 'A', 'a':
		return 'а', true
	case 'B':
		return 'в', true
	case 'b':
		return 'б', true
	case 'C', 'c':
		return 'с', true
	case 'E', 'e':
		return 'е', true
	case 'H':
		return 'н', true
	case 'K', 'k':
		return 'к', true
	case 'M', 'm':
		return 'м', true
	case 'O', 'o':
		return 'о', true
	case 'P', 'p':
		return 'р', true
	case 'T':
		return 'т', true
	case 'X', 'x':
		return 'х', true
	case 'Y', 'y':
		return 'у', true
	case 'u':
		return 'и', true
	case 'n':
		return 'п', true
	case '0':
		return 'о', true
	case '3':
		return 'з', true
	case '6':
		return 'б', true
	case '4':
		return 'ч', true
	case '1':
		return 'и', true
	case '@':
		return 'а', true
	}
	return 0, false
}

// Tokenize splits s into normalised tokens, appending to buf (which may be nil).
func Tokenize(s string, buf []Token) []Token {
	var z tokenizer
	return z.tokenize(s, buf)
}

// tokenizer holds the scratch space of Tokenize, and an optional intern function that
// turns a normalised word into its canonical string (and its cached analysis).
type tokenizer struct {
	piece  []rune
	out    []rune
	b      []byte
	intern func([]byte) (string, *wordInfo)
	chunks *cache[chunk, *chunk]
	// words and analyseWord are the word cache and how it analyses a new word: a chunk
	// that is a plain word (see chunkEnd) is looked up there directly.
	words       *cache[wordInfo, *wordInfo]
	analyseWord func(string) *wordInfo
	// lookups counts chunk lookups since the last flush to chunks.lookups.
	lookups uint64
	// alt is set by makeWord to the masked spelling of a word written with '@'.
	alt string
	// spans is tokenize's scratch list of a text's chunks.
	spans []chunkSpan
	// touched accumulates what touch read, so that the reads are not optimised away.
	touched uint64
}

// touch reads, for each chunk of a text, the value in the first cache slot where its key
// would be (see cache.first), then a word of that value, and returns what it read.
// Called before the chunks are looked up one by one, it brings their slots and values
// into the processor's cache with loads that do not wait for each other.
func (z *tokenizer) touch(spans []chunkSpan) uint64 {
	for k := range spans {
		switch sp := &spans[k]; {
		case sp.end < 0:
		case sp.word:
			sp.wv = z.words.first(sp.h)
		default:
			sp.v = z.chunks.first(sp.h)
		}
	}
	var sum uint64
	for k := range spans {
		if v := spans[k].v; v != nil {
			sum += uint64(v.klen)
		} else if wv := spans[k].wv; wv != nil {
			sum += wv.h
		}
	}
	return sum
}

// chunkEnd returns the end of the chunk (the run of non-space characters) that starts at
// s[i], and whether the chunk is a plain word: lower-case basic Cyrillic letters only (а–я;
// not ё), without a run of three identical letters. The tokenizer's one token of a plain
// word is a Word whose text is the chunk itself (TestChunkEnd). s is valid UTF-8.
func chunkEnd(s string, i int) (int, bool) {
	j := i
	// bad collects, without branches, a letter beyond а–я or a third identical letter in a
	// row; p1 and p2 are the two letters before.
	var bad, p1, p2 uint32
	for j < len(s) {
		c := s[j]
		if c < 0x80 {
			if asciiSpace[c] {
				break
			}
			bad = 1
			j++
			continue
		}
		if c-0xD0 <= 3 {
			// Basic Cyrillic (two bytes) is never a space.
			r := uint32(c&0x1F)<<6 | uint32(s[j+1]&0x3F)
			bad |= (r-0x430)>>5 | b2u(r == p1 && r == p2)
			p2, p1 = p1, r
			j += 2
			continue
		}
		r, n := decodeAt(s, j)
		if isSpace(r) {
			break
		}
		bad = 1
		j += n
	}
	return j, bad == 0 && j > i
}

// b2u is 1 for true, 0 for false.
func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// chunkSpan is a chunk of the text being tokenized, s[start:end] with the hash h of its
// key in the chunk cache, or in the word cache when word is set (a plain word), or a line
// break (end < 0).
type chunkSpan struct {
	start, end int
	h          uint64
	word       bool
	// v and wv are set by touch: the value in the first slot of h's run.
	v  *chunk
	wv *wordInfo
}

// decodeAt is utf8.DecodeRuneInString(s[i:]) with the two-byte Cyrillic letters decoded
// inline.
func decodeAt(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	if t := s[i:]; len(t) > 1 && t[0]-0xD0 <= 3 && t[1]&0xC0 == 0x80 {
		return rune(t[0]&0x1F)<<6 | rune(t[1]&0x3F), 2
	}
	return utf8.DecodeRuneInString(s[i:])
}

// asciiSpace marks the ASCII white space of isSpace.
var asciiSpace = [utf8.RuneSelf]bool{' ': true, '\n': true, '\t': true, '\r': true, '\v': true, '\f': true}

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiSpace[r]
	}
	if uint32(r)-0x400 <= 0xFF {
		return false // no Cyrillic character is white space
	}
	return unicodeSpace(r)
}

// unicodeSpace is unicode.IsSpace, kept out of line so that isSpace is inlined.
//
//go:noinline
func unicodeSpace(r rune) bool { return unicode.IsSpace(r) }

// wordRune reports letters, digits and masking characters.
func wordRune(r rune) bool {
	switch {
	case r < 0x80:
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '*' || r == '@' || r == '#' || r == '$' || r == '%'
	case r >= 0x400 && r <= 0x4FF:
		return cyrillicLetter[r-0x400]
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '…'
}

// cyrillicLetter is unicode.IsLetter over the Cyrillic block U+0400–U+04FF (read-only).
var cyrillicLetter = func() (t [0x100]bool) {
	for i := range t {
		t[i] = unicode.IsLetter(rune(0x400 + i))
	}
	return t
}()

func (z *tokenizer) tokenize(s string, buf []Token) []Token {
	s = prepare(s)
	toks := buf[:0]
	if z.chunks == nil {
		toks, _, _ = z.scan(s, toks, true, false)
		return z.joinSpelled(toks)
	}
	// With a chunk cache: split at white space, then replay each chunk's tokens. The
	// chunks' hashes are computed and their places in the cache touched before any is
	// replayed, so that the memory loads of all the lookups of a text overlap instead of
	// waiting one after another.
	spans := z.spans[:0]
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if isSpace(rune(c)) {
				if c == '\n' {
					spans = append(spans, chunkSpan{start: i, end: -1}) // a line break
				}
				i++
				continue
			}
		} else if c-0xD0 > 3 { // basic Cyrillic (0xD0–0xD3 lead bytes) is never a space
			if r, n := decodeAt(s, i); isSpace(r) {
				i += n
				continue
			}
		}
		j, plain := chunkEnd(s, i)
		if key := s[i:j]; plain && z.words != nil {
			spans = append(spans, chunkSpan{start: i, end: j, h: z.words.hash(key), word: true})
		} else {
			spans = append(spans, chunkSpan{start: i, end: j, h: z.chunks.hash(key)})
		}
		i = j
	}
	z.spans = spans
	z.touched += z.touch(spans)
	sentence, dash := true, false
	for _, sp := range spans {
		if sp.end < 0 {
			sentence = true
			continue
		}
		z.lookups++
		if sp.word {
			// A plain word is its own one token: what the chunk cache would hold for it.
			wi, missed := z.words.lookup(sp.h, s[sp.start:sp.end], z.analyseWord)
			if missed {
				z.chunks.misses.Add(1)
			}
			toks = append(toks, Token{Text: wi.word, wi: wi, Kind: Word, SentenceStart: sentence, Dash: dash})
			sentence, dash = false, false
			continue
		}
		e := z.chunks.getHashed(sp.h, s[sp.start:sp.end], z.scanChunk)
		if e.ntoks == 0 {
			sentence, dash = sentence || e.sentence, dash || e.dash
		} else {
			k := len(toks)
			if e.ntoks == 1 {
				toks = append(toks, e.one)
			} else {
				toks = append(toks, e.toks...)
			}
			toks[k].SentenceStart = toks[k].SentenceStart || sentence
			toks[k].Dash = toks[k].Dash || dash
			sentence, dash = e.sentence, e.dash
		}
	}
	if z.lookups >= 1024 {
		z.chunks.lookups.Add(z.lookups)
		z.lookups = 0
	}
	return z.joinSpelled(toks)
}

// chunk is the cached tokenization of a run of non-space characters, scanned as if it
// stood alone; sentence and dash are the states it leaves behind.
//
// A cache hit on a chunk of at most 24 bytes with at most one token (nearly all) reads only
// the first 64 bytes; the struct is padded to 128 bytes, a size class whose objects are
// aligned to cache lines (TestChunkSize).
type chunk struct {
	// short holds a key of up to 24 bytes inline; longer keys are compared through key.
	short [24]byte
	klen  uint32
	// ntoks is the number of tokens, 2 meaning two or more (then they are in toks).
	ntoks          uint8
	sentence, dash bool
	// one is the token of a one-token chunk.
	one  Token
	key  string
	toks []Token
	_    [24]byte
}

func (e *chunk) setCacheHash(uint64) {} // the key is compared inline: see cachedAs

// cachedAs reports whether the chunk's key is k (without a hash: the key is at hand in
// the chunk's first cache line).
func (e *chunk) cachedAs(_ uint64, k string) bool {
	if uint64(len(k)) != uint64(e.klen) && !(e.klen == math.MaxUint32 && len(k) > math.MaxUint32) {
		return false
	}
	if len(k) <= len(e.short) {
		return string(e.short[:len(k)]) == k
	}
	return e.key == k
}

func (z *tokenizer) scanChunk(s string) *chunk {
	toks, sentence, dash := z.scan(s, nil, false, false)
	// klen saturates: a key longer than 4 GiB is then compared in full through key.
	e := &chunk{key: s, klen: uint32(min(len(s), math.MaxUint32)), sentence: sentence, dash: dash}
	switch len(toks) {
	case 0:
	case 1:
		// Most chunks are one word: keep its token in the same allocation.
		e.ntoks = 1
		e.one = toks[0]
	default:
		e.ntoks = 2
		e.toks = slices.Clip(toks)
	}
	copy(e.short[:], s)
	return e
}

// scan tokenizes s (white-space separated chunks), starting in the given states, and
// returns the states it ends in.
func (z *tokenizer) scan(s string, toks []Token, sentence, dash bool) ([]Token, bool, bool) {
	i := 0
	for i < len(s) {
		// Skip separators, noting sentence ends.
		r, n := decodeAt(s, i)
		if isSpace(r) || !wordRune(r) || r == '…' {
			switch r {
			case '.', '!', '?', '\n', '…':
				sentence = true
			case '—', '–', '-':
				dash = true
			}
			i += n
			continue
		}
		// A chunk is a run of non-space characters.
		j := i
		for j < len(s) {
			c := s[j]
			if c < 0x80 {
				if isSpace(rune(c)) {
					break
				}
				j++
				continue
			}
			r2, n2 := decodeAt(s, j)
			if isSpace(r2) {
				break
			}
			j += n2
		}
		chunk := s[i:j]
		if k := special(chunk); k > 0 {
			kind, text, used := z.specialToken(chunk, k)
			if text != "" {
				toks = append(toks, Token{Kind: kind, Text: text, SentenceStart: sentence, Dash: dash})
				sentence, dash = false, false
			}
			i += used
			continue
		}
		// Split the chunk into word pieces at punctuation (hyphens, dots, commas …).
		p := i
		for p < j {
			r2, n2 := decodeAt(s, p)
			if !wordRune(r2) || r2 == '…' {
				switch r2 {
				case '.', '!', '?', '…':
					sentence = true
				}
				p += n2
				continue
			}
			z.piece = z.piece[:0]
			q := p
			for q < j {
				r3, n3 := decodeAt(s, q)
				if !wordRune(r3) || r3 == '…' {
					break
				}
				z.piece = append(z.piece, r3)
				q += n3
			}
			z.alt = ""
			if t, ok := z.makeWord(z.piece); ok {
				t.SentenceStart, t.Dash = sentence, dash
				toks = append(toks, t)
				sentence, dash = false, false
				if z.alt != "" {
					if a, ok := z.makeWord([]rune(z.alt)); ok {
						a.Kind = Joined // an alternative spelling, for point 16 only
						toks = append(toks, a)
					}
				}
			}
			p = q
		}
		i = j
	}
	return toks, sentence, dash
}

// special tells whether chunk starts a URL (1), mention (2) or hashtag (3).
func special(chunk string) int {
	switch chunk[0] {
	case 'h', 'H', 'w', 'W':
		lc := chunk
		if len(lc) > 8 {
			lc = lc[:8]
		}
		lc = strings.ToLower(lc)
		if strings.HasPrefix(lc, "http://") || strings.HasPrefix(lc, "https://") || strings.HasPrefix(lc, "www.") {
			return 1
		}
		return 0
	}
	if len(chunk) > 2 && (chunk[0] == '@' || chunk[0] == '#') {
		r, _ := utf8.DecodeRuneInString(chunk[1:])
		if chunk[0] == '@' && (r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_')) {
			return 2
		}
		if chunk[0] == '#' && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return 3
		}
	}
	return 0
}

// specialToken makes the token of a URL, mention or hashtag at the start of chunk and says
// how many bytes it used.
func (z *tokenizer) specialToken(chunk string, k int) (TokenKind, string, int) {
	switch k {
	case 1:
		end := len(chunk)
		for end > 0 && strings.ContainsRune(".,;:!?)»\"'", rune(chunk[end-1])) {
			end--
		}
		return URL, strings.ToLower(chunk[:end]), len(chunk)
	case 2:
		end := 1
		for end < len(chunk) {
			c := chunk[end]
			if c < 0x80 && (c == '_' || c == '.' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')) {
				end++
				continue
			}
			break
		}
		for end > 1 && chunk[end-1] == '.' {
			end--
		}
		return Mention, strings.ToLower(chunk[:end]), end
	default:
		end := 1
		var rs []rune
		for end < len(chunk) {
			r, n := utf8.DecodeRuneInString(chunk[end:])
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
				break
			}
			rs = append(rs, r)
			end += n
		}
		t, ok := z.makeWord(rs)
		if !ok {
			return Hashtag, "", end
		}
		return Hashtag, t.Text, end
	}
}

// lower lower-cases r, with fast paths for ASCII and Cyrillic, and folds ё to е.
func lower(r rune) rune {
	switch {
	case r >= 'A' && r <= 'Z':
		return r + 32
	case r < 0x80:
		return r
	case r >= 'А' && r <= 'Я':
		return r + 32
	case r >= 'а' && r <= 'я':
		return r
	case r == 'ё' || r == 'Ё':
		return 'е'
	}
	return unicode.ToLower(r)
}

func isUpper(r rune) bool {
	switch {
	case r >= 'A' && r <= 'Z', r >= 'А' && r <= 'Я', r == 'Ё':
		return true
	case r < 0x80, r >= 'а' && r <= 'я':
		return false
	}
	return unicode.IsUpper(r)
}

// makeWord normalises one word piece.
func (z *tokenizer) makeWord(piece []rune) (Token, bool) {
	letters, digits, cyr := 0, 0, 0
	for _, r := range piece {
		switch {
		case r >= 0x400 && r <= 0x4FF:
			letters++
			cyr++
		case r >= '0' && r <= '9':
			digits++
		case r < 0x80:
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				letters++
			}
		case unicode.IsLetter(r):
			letters++
		case unicode.IsDigit(r):
			digits++
		}
	}
	// Trim masking characters at the start that are not part of a word («*важно*»), but
	// keep a trailing run after letters («бл*», «нах**»).
	for len(piece) > 0 && maskRune(piece[0]) && piece[0] != '@' {
		piece = piece[1:]
	}
	if len(piece) == 0 || letters == 0 {
		if digits > 0 && letters == 0 {
			z.b = z.b[:0]
			for _, r := range piece {
				if unicode.IsDigit(r) {
					z.b = utf8.AppendRune(z.b, r)
				}
			}
			if len(z.b) > 0 {
				return Token{Kind: Number, Text: string(z.b)}, true
			}
		}
		return Token{}, false
	}
	t := Token{Kind: Word, Cap: isUpper(piece[0])}
	fold := cyr > 0
	foldDigits := fold && letters > digits
	out := z.out[:0]
	for i, r := range piece {
		switch {
		case fold && (r < 0x80 || r == '@'):
			// A digit is a look-alike only right before a letter («3аебали», «6ля»), not in
			// «мамы64» or «2д».
			if r >= '0' && r <= '9' && (!foldDigits || i+1 == len(piece) || !(unicode.IsLetter(piece[i+1]) || maskRune(piece[i+1]))) {
				break
			}
			if c, ok := lookalike(r); ok {
				r = c
			} else if maskRune(r) {
				r = '*'
			}
		case maskRune(r):
			r = '*'
		}
		r = lower(r)
		if r == '*' {
			t.Masked = true
		}
		out = append(out, r)
	}
	z.out = out
	z.b = squeeze(z.b[:0], out)
	if len(z.b) == 0 || (len(z.b) == 1 && z.b[0] == '*') {
		return Token{}, false
	}
	if z.intern != nil {
		t.Text, t.wi = z.intern(z.b)
	} else {
		t.Text = string(z.b)
	}
	if fold && slices.Contains(piece, '@') {
		// «бл@ть»: '@' reads as «а» in the word, but for point 16 it is also a mask.
		z.alt = strings.ReplaceAll(string(piece), "@", "*")
	}
	return t, true
}

// squeeze appends rs to b, turning runs of three or more identical letters into one
// («оооочень» → «очень») and runs of masking stars into one star; digits are left alone.
func squeeze(b []byte, rs []rune) []byte {
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		r := rs[i]
		n := j - i
		switch {
		case r >= '0' && r <= '9':
		case r == '*':
			n = 1
		case n >= 3:
			n = 1
		}
		for k := 0; k < n; k++ {
			b = utf8.AppendRune(b, r)
		}
		i = j
	}
	return b
}

// joinSpelled appends a Joined token for every run of three or more single-letter words
// («х у й», «б.л.я.т.ь»).
func (z *tokenizer) joinSpelled(toks []Token) []Token {
	n := len(toks)
	for i := 0; i < n; {
		if !single(toks[i]) {
			i++
			continue
		}
		j := i
		var b strings.Builder
		for j < n && single(toks[j]) {
			b.WriteString(toks[j].Text)
			j++
		}
		if j-i >= 3 {
			t := Token{Kind: Joined, Text: b.String()}
			if z.intern != nil {
				t.Text, t.wi = z.intern([]byte(t.Text))
			}
			toks = append(toks, t)
		}
		i = j
	}
	return toks
}

func single(t Token) bool {
	// One letter is one or two bytes: most words are ruled out by their length.
	if t.Kind != Word || len(t.Text) > 2 {
		return false
	}
	r, n := utf8.DecodeRuneInString(t.Text)
	return n == len(t.Text) && (isCyr(r) || r == '*')
}
