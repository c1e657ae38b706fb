package classifier

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"

	"github.com/kljensen/snowball/russian"
)

func TestStem(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"энгельсе", "энгельс"},
		{"балакова", "балаков"},
		{"дорогами", "дорог"},
		{"отремонтировали", "отремонтирова"},
		{"красивейший", "красив"},
		{"сделавшись", "сдела"},
		{"гадость", "гадост"},
		{"и", "и"},                              // short
		{"было", "было"},                        // stop word
		{"ёлка", russian.Stem("ёлка", false)},   // ё: the slow path
		{"x*йня", russian.Stem("x*йня", false)}, // not Cyrillic: the slow path
		{"дом2", russian.Stem("дом2", false)},
	} {
		if got := Stem(tc.in); got != tc.want {
			t.Errorf("Stem(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestStemMatchesSnowball holds the fast path to russian.Stem on every distinct word of the
// shared data sets.
func TestStemMatchesSnowball(t *testing.T) {
	words := map[string]bool{}
	for _, rel := range []string{
		"data/toxic-2ch-pikabu/dev.jsonl", "data/saratov/dev.jsonl",
		"data/complaints-kursk/dev.jsonl", "data/complaints-spb-nashspb/dev.jsonl",
	} {
		for _, text := range readTexts(t, rel) {
			for _, tok := range Tokenize(text, nil) {
				words[tok.Text] = true
			}
		}
	}
	fast := 0
	for w := range words {
		if _, ok := stemCyrillic(w); ok {
			fast++
		}
		if got, want := Stem(w), russian.Stem(w, false); got != want {
			t.Errorf("Stem(%q) = %q, russian.Stem = %q", w, got, want)
		}
	}
	if fast*10 < len(words)*8 {
		t.Errorf("fast path took %d of %d words, want most", fast, len(words))
	}
	t.Logf("%d words, %d on the fast path", len(words), fast)
}

func FuzzStem(f *testing.F) {
	for _, s := range []string{"энгельсе", "сделавшись", "красивейшее", "ннн", "вши", "ее", "ость", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		if got, want := Stem(s), russian.Stem(s, false); got != want {
			t.Errorf("Stem(%q) = %q, russian.Stem = %q", s, got, want)
		}
	})
}

// TestStemRandomWords holds the fast path to russian.Stem on words made of random stems and
// the suffixes the stemmer looks for (in random combinations, so that every branch and
// region boundary is reached), without the shared data.
func TestStemRandomWords(t *testing.T) {
	var pieces []string
	for _, l := range []*suffixList{sufGerund, sufReflexive, sufAdjective, sufParticiple, sufVerb, sufNoun, sufDerivational, sufSuperlative, sufNN, sufSoft} {
		pieces = append(pieces, l.all...)
	}
	letters := []rune("абвгдежзийклмнопрстуфхцчшщъыьэюя")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		var b []rune
		for range rng.IntN(6) {
			b = append(b, letters[rng.IntN(len(letters))])
		}
		w := string(b)
		for range rng.IntN(4) {
			w += pieces[rng.IntN(len(pieces))]
		}
		if got, want := Stem(w), russian.Stem(w, false); got != want {
			t.Fatalf("Stem(%q) = %q, russian.Stem = %q", w, got, want)
		}
	}
	// Words of ASCII bytes, capitals and white space included, and mixed with Cyrillic.
	for range 100_000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(0x80))
		}
		w := string(b)
		if rng.IntN(4) == 0 {
			w += string(letters[rng.IntN(len(letters))])
		}
		if got, want := Stem(w), russian.Stem(w, false); got != want {
			t.Fatalf("Stem(%q) = %q, russian.Stem = %q", w, got, want)
		}
	}
}
