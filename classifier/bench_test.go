package classifier

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/kljensen/snowball/russian"
	"github.com/otklik/otklik"
)

func benchClassify(b *testing.B, rel string) {
	texts := readTexts(b, rel)
	c, err := New(Config{NoModel: true})
	if err != nil {
		b.Fatal(err)
	}
	var bytes int64
	for _, t := range texts {
		bytes += int64(len(t))
	}
	b.SetBytes(bytes / int64(len(texts)))
	// Warm the word cache with one pass, as a running daemon has it.
	for _, t := range texts {
		p := otklik.Publication{Text: t}
		c.Classify(&p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := otklik.Publication{Text: texts[i%len(texts)]}
		c.Classify(&p)
	}
}

// BenchmarkClassifyToxicCold classifies the toxic dev texts with a fresh classifier each
// time: every distinct word and chunk is analysed for the first time, as on the first pass of
// a batch run. ns/op is per pass over the set; ns/pub per publication.
func BenchmarkClassifyToxicCold(b *testing.B) {
	texts := readTexts(b, "data/toxic-2ch-pikabu/dev.jsonl")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range texts {
			p := otklik.Publication{Text: t}
			c.Classify(&p)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(texts)), "ns/pub")
}

// BenchmarkClassifyToxic classifies the toxic dev texts one by one (cache warm after the
// first pass); ns/op is per publication.
func BenchmarkClassifyToxic(b *testing.B) { benchClassify(b, "data/toxic-2ch-pikabu/dev.jsonl") }

// BenchmarkClassifySaratov does the same on the Saratov dev texts.
func BenchmarkClassifySaratov(b *testing.B) { benchClassify(b, "data/saratov/dev.jsonl") }

// BenchmarkNaiveStem is the reference of ../shared/bench/naivestem in-process: lowercase,
// split into letter runs, stem every token uncached. Compare its ns/op with
// BenchmarkClassifyToxic's.
func BenchmarkNaiveStem(b *testing.B) {
	texts := readTexts(b, "data/toxic-2ch-pikabu/dev.jsonl")
	b.ReportAllocs()
	b.ResetTimer()
	sink := 0
	for i := 0; i < b.N; i++ {
		for _, w := range strings.FieldsFunc(strings.ToLower(texts[i%len(texts)]), func(r rune) bool { return !isLetter(r) }) {
			sink += len(russian.Stem(strings.ReplaceAll(w, "ё", "е"), false))
		}
	}
	_ = sink
}

func isLetter(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'а' && r <= 'я' || r == 'ё' || r > 0x7f && r < 0x400
}

// BenchmarkTokenize measures the normaliser alone on the toxic texts.
func BenchmarkTokenize(b *testing.B) {
	texts := readTexts(b, "data/toxic-2ch-pikabu/dev.jsonl")
	var z tokenizer
	var toks []Token
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		toks = z.tokenize(texts[i%len(texts)], toks)
	}
}

// BenchmarkAnalyse measures normalisation plus the cached word analysis.
func BenchmarkAnalyse(b *testing.B) {
	texts := readTexts(b, "data/toxic-2ch-pikabu/dev.jsonl")
	c, err := New(Config{NoModel: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range texts {
		c.release(c.analyse(t))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.release(c.analyse(texts[i%len(texts)]))
	}
}

// BenchmarkClassifyNewWords classifies texts of random words, nearly all of them new: the
// worst case for the caches, whose bound keeps memory flat. It reports the live heap
// after a collection at the end (live-MiB), which must stay well under the 200 MiB budget
// however many texts are classified.
func BenchmarkClassifyNewWords(b *testing.B) {
	c, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	letters := []rune("абвгдежзийклмнопрстуфхцчшщыьэюя")
	text := func() string {
		var sb strings.Builder
		for w := range 20 {
			if w > 0 {
				sb.WriteByte(' ')
			}
			for range 3 + rng.IntN(8) {
				sb.WriteRune(letters[rng.IntN(len(letters))])
			}
		}
		return sb.String()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := otklik.Publication{Text: text()}
		c.Classify(&p)
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MiB")
	runtime.KeepAlive(c)
}
