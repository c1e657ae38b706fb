package classifier

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func words(toks []Token, kinds ...TokenKind) []string {
	var out []string
	for _, t := range toks {
		for _, k := range kinds {
			if t.Kind == k {
				out = append(out, t.Text)
			}
		}
	}
	return out
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		name, in string
		kind     TokenKind
		want     string // space-joined texts of tokens of kind
	}{
		{"lower and yo", "ЁЛКИ Зелёные", Word, "елки зеленые"},
		{"latin look-alikes in a cyrillic word", "oхуeть Cаратов", Word, "охуеть саратов"},
		{"upper-case latin look-alikes", "ВOДA", Word, "вода"},
		{"digit look-alikes", "3аебали 6ля", Word, "заебали бля"},
		{"at sign as а inside a word", "бл@ть", Word, "блать"},
		{"digits stay digits in numbers and codes", "дом 153, маршрут 2Д, 11Б", Word, "дом маршрут 2д 11б"},
		{"numbers", "дом 153, кв. 12", Number, "153 12"},
		{"pure latin words stay latin", "wi-fi Google", Word, "wi fi google"},
		{"stretched letters", "оооочень хорошоооо", Word, "очень хорошо"},
		{"double letters kept", "длинный ссора", Word, "длинный ссора"},
		{"masking stars kept as one", "е**ный п***ц", Word, "е*ный п*ц"},
		{"leading stars dropped", "*важно*", Word, "важно*"},
		{"spelled-out word glued", "х.у.й тебе", Joined, "хуй"},
		{"spaced letters glued", "б л я", Joined, "бля"},
		{"two single letters are not glued", "а я", Joined, ""},
		{"url", "смотри https://vk.com/wall-1_2. ок", URL, "https://vk.com/wall-1_2"},
		{"mention", "@saratov_news привет", Mention, "@saratov_news"},
		{"hashtag", "#Саратов #мамы64 #ЖКХ", Hashtag, "саратов мамы64 жкх"},
		{"NFKC fullwidth", "ＡＢＣ", Word, "abc"},
		{"hyphenated words split", "дармоеды-дегенераты", Word, "дармоеды дегенераты"},
		{"emoji skipped", "парк 🙏 туалеты", Word, "парк туалеты"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(words(Tokenize(tc.in, nil), tc.kind), " ")
			if tc.name == "two single letters are not glued" {
				if got != "" {
					t.Fatalf("got %q, want nothing glued", got)
				}
				return
			}
			if got != tc.want {
				t.Errorf("Tokenize(%q) %v = %q, want %q", tc.in, tc.kind, got, tc.want)
			}
		})
	}
}

func TestTokenFlags(t *testing.T) {
	toks := Tokenize("Светлый. В светлом — Энгельс", nil)
	ws := []Token{}
	for _, x := range toks {
		if x.Kind == Word {
			ws = append(ws, x)
		}
	}
	if len(ws) != 4 {
		t.Fatalf("got %d words", len(ws))
	}
	if !ws[0].Cap || !ws[0].SentenceStart || !ws[1].SentenceStart || ws[2].SentenceStart || ws[2].Cap {
		t.Errorf("capital / sentence flags wrong: %+v", ws)
	}
	if !ws[3].Dash || ws[2].Dash {
		t.Errorf("dash flag wrong: %+v", ws)
	}
}

// TestChunkCacheSameTokens checks that tokenizing through the classifier's caches gives
// the same tokens as the plain tokenizer.
func TestChunkCacheSameTokens(t *testing.T) {
	c, err := New(Config{NoModel: true})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"ВНИМАНИЕ!!! Саратов, ул. Чернышевского 153. В подвале вода — третий месяц.\nРепост! #Саратов",
		"Торгаши на Крытом — крысы, х.у.й вам",
		"Светлый. Возле школы",
		// Line breaks, leading and trailing space and non-ASCII spaces between chunks.
		"\n  Вода\u00a0есть\u2003— нет\n\nСвета  тоже нет \r\n",
		"—\nЗабор упал\n— на дорогу",
		"ВНИМАНИЕ!!! Саратов, ул. Чернышевского 153. В подвале вода — третий месяц.\nРепост! #Саратов",
	}
	for _, s := range texts {
		for pass := 0; pass < 2; pass++ {
			a := c.analyse(s)
			want := Tokenize(s, nil)
			if len(a.toks) != len(want) {
				t.Fatalf("%q: %d tokens via caches, %d plain", s, len(a.toks), len(want))
			}
			for i := range want {
				g, w := a.toks[i], want[i]
				g.wi = nil
				if g != w {
					t.Errorf("%q token %d: cached %+v, plain %+v", s, i, g, w)
				}
			}
			c.release(a)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "х.у.й", "oхуeть", "ВНИМАНИЕ!!! #Саратов @id1 https://vk.com", "бл@ть 6ля 3аебали",
		"\xff\xfe", "e\u0301", "ＡＢＣ", "ооооочень", "п***ц", "*", "@", "#", "—", "х у й"} {
		f.Add(s)
	}
	c, err := New(Config{NoModel: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q: invalid UTF-8", s, n)
		}
		plain := Tokenize(s, nil)
		for _, tok := range plain {
			if !utf8.ValidString(tok.Text) || tok.Text == "" {
				t.Fatalf("Tokenize(%q): bad token %+v", s, tok)
			}
		}
		// The classifier tokenizes through its chunk cache: the same tokens.
		a := c.analyse(s)
		if len(a.toks) != len(plain) {
			t.Fatalf("%q: %d tokens via caches, %d plain", s, len(a.toks), len(plain))
		}
		for i := range plain {
			if g := a.toks[i]; g.Text != plain[i].Text || g.Kind != plain[i].Kind || g.SentenceStart != plain[i].SentenceStart || g.Dash != plain[i].Dash || g.Cap != plain[i].Cap || g.Masked != plain[i].Masked {
				t.Fatalf("%q token %d: cached %+v, plain %+v", s, i, g, plain[i])
			}
		}
		c.release(a)
		p := publication(s)
		c.Classify(p)
		if p.Class == nil || p.Class.Topic == "" || p.Class.Priority == "" {
			t.Fatalf("Classify(%q) gave %+v", s, p.Class)
		}
	})
}

// TestNFKCCommon holds the hand-written normalisation of common punctuation to
// golang.org/x/text/unicode/norm, character by character and in context.
func TestNFKCCommon(t *testing.T) {
	for _, r := range []rune("«»°©·×–—‘’“”„•−₽\ufffc\u200b№\u00a0…\u2011") {
		to, ok := nfkcOf(r)
		if !ok {
			t.Errorf("%U not handled", r)
			continue
		}
		want := norm.NFKC.String(string(r))
		if to == "" {
			to = string(r)
		}
		if to != want {
			t.Errorf("%U: %q, NFKC %q", r, to, want)
		}
	}
	for _, s := range []string{
		"Дом №5, «Тихая» — ул.\u00a0Мира… 25°", "и\u0306 №5", "№", "a№b", "ёлка № 3 ₽", "😀 № 1", "ﬁ №",
	} {
		if got, want := prepare(s), norm.NFKC.String(s); got != want {
			t.Errorf("prepare(%q) = %q, NFKC %q", s, got, want)
		}
	}
}

// FuzzPrepare holds prepare (with its fast paths) to the full normalisation: valid UTF-8,
// then NFKC.
func FuzzPrepare(f *testing.F) {
	for _, s := range []string{"Дом №5, «Тихая» — ул.\u00a0Мира…", "и\u0306", "\xff№", "ﬁ", "a\u2011b", "ё"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := s
		if !utf8.ValidString(want) {
			want = strings.ToValidUTF8(want, " ")
		}
		want = norm.NFKC.String(want)
		if got := prepare(s); got != want {
			t.Errorf("prepare(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestDecodeAt holds decodeAt to utf8.DecodeRuneInString on valid and invalid bytes.
func TestDecodeAt(t *testing.T) {
	inputs := []string{"", "abc", "ёжик Ёж", "Ъ\xd0", "\xd0\x41", "\xd1\xbf\xd3\x80", "\xd4\x80", "€😀", "\xff\xfe", "№«»—…\u00a0"}
	for b1 := 0xC0; b1 <= 0xDF; b1++ {
		for b2 := 0; b2 < 256; b2 += 7 {
			inputs = append(inputs, string([]byte{byte(b1), byte(b2), 'x'}))
		}
	}
	for _, s := range inputs {
		for i := 0; i < len(s); i++ {
			r, n := decodeAt(s, i)
			wr, wn := utf8.DecodeRuneInString(s[i:])
			if r != wr || n != wn {
				t.Fatalf("decodeAt(%q, %d) = %U, %d; want %U, %d", s, i, r, n, wr, wn)
			}
		}
	}
}

// TestIsSpace holds isSpace to unicode.IsSpace over all of Unicode.
func TestIsSpace(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if isSpace(r) != unicode.IsSpace(r) {
			t.Fatalf("isSpace(%U) = %v", r, isSpace(r))
		}
	}
}

// TestChunkEnd checks chunkEnd's ends and its plain words, which the classifier looks up
// in the word cache without tokenizing them: the tokenizer's one token of a plain word is
// a Word whose text is the chunk itself.
func TestChunkEnd(t *testing.T) {
	for _, tc := range []struct {
		s     string
		end   int
		plain bool
	}{
		{"вода", 8, true},
		{"вода есть", 8, true},
		{"вода\u00a0есть", 8, true},
		{"яма", 6, true},
		{"ссылка", 12, true}, // two identical letters in a row stay, three are squeezed
		{"сссылка", 14, false},
		{"оооочень", 16, false},
		{"Вода", 8, false},
		{"ёлка", 8, false}, // ё is folded to е
		{"вода,", 9, false},
		{"из-за", 9, false},
		{"х*й", 5, false},
		{"бл@ть", 9, false},
		{"3аебали", 13, false},
		{"вoда", 7, false}, // a Latin o
		{"мамы64", 10, false},
		{"ї", 2, false},
		{"", 0, false},
		{" вода", 0, false},
	} {
		end, plain := chunkEnd(tc.s, 0)
		if end != tc.end || plain != tc.plain {
			t.Errorf("chunkEnd(%q) = %d, %v; want %d, %v", tc.s, end, plain, tc.end, tc.plain)
		}
	}
	// Every plain word, among random chunks over letters that make them plain or not.
	letters := []rune("абвгдежзийклмнопрстуфхцчшщъыьэюяёАЯaо-*3")
	rng := rand.New(rand.NewPCG(1, 2))
	plains := 0
	for n := 0; n < 200000; n++ {
		rs := make([]rune, 1+rng.IntN(8))
		for i := range rs {
			if i > 0 && rng.IntN(4) == 0 {
				rs[i] = rs[i-1]
			} else if rng.IntN(10) == 0 {
				rs[i] = letters[rng.IntN(len(letters))]
			} else {
				rs[i] = letters[rng.IntN(32)]
			}
		}
		s := string(rs)
		end, plain := chunkEnd(s, 0)
		if end != len(s) {
			t.Fatalf("chunkEnd(%q) = %d, want %d", s, end, len(s))
		}
		if !plain {
			continue
		}
		plains++
		toks := Tokenize(s, nil)
		if len(toks) != 1 || toks[0].Kind != Word || toks[0].Text != s || toks[0].Cap || toks[0].Masked {
			t.Fatalf("plain word %q tokenized as %+v", s, toks)
		}
	}
	if plains < 10000 {
		t.Errorf("only %d plain words among the random chunks", plains)
	}
}
