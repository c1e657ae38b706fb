package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/classifier"
	"github.com/otklik/otklik/internal/testenv"
)

func TestClassifyCmdLines(t *testing.T) {
	in := strings.Join([]string{
		`{"id":1,"text":"В Энгельсе третий день нет воды!!! дети без воды","likes":10}`,
		`not json`,
		`{"id":"x"}`,
		``,
		`{"id":"a2","text":"Спасибо за новый сквер","network":"vk","kind":"post"}`,
		`{"id":3,"text":"х.у.й вам а не ремонт"}`,
	}, "\n")
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(in), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	err := classifyCmd(context.Background(), c, []string{"--no-model", "--workers", "2"})
	if err == nil || !strings.Contains(err.Error(), "2 of 6 lines failed") {
		t.Fatalf("err = %v, want 2 of 6 lines failed", err)
	}
	for _, want := range []string{"line 2: not a JSON object", `line 3: no "text" field`} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr %q lacks %q", errb.String(), want)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d output lines, want 3:\n%s", len(lines), out.String())
	}
	for i, want := range []string{`"id":1,"topic":"housing","location":"Энгельсский район"`, `"id":"a2","topic":"landscaping"`, `"drop":["obscene"]`} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %s, want it to contain %s", i+1, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], `"drop":[]`) {
		t.Errorf("an empty drop list must be [] in %s", lines[1])
	}
}

// The daemon's configuration file routes topics for classify too; --routing overrides it.
func TestClassifyCmdUsesConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "otklik.yaml")
	os.WriteFile(cfg, []byte("classifier:\n  routing:\n    housing: Управление ЖКХ города\n"), 0o600)
	in := `{"id":1,"text":"В Энгельсе третий день нет воды"}` + "\n"
	run := func(args ...string) string {
		var out, errb bytes.Buffer
		c := &cli{stdin: strings.NewReader(in), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		if err := classifyCmd(context.Background(), c, args); err != nil {
			t.Fatalf("%v: %v %s", args, err, errb.String())
		}
		return out.String()
	}
	if got := run("--config", cfg); !strings.Contains(got, `"agency":"Управление ЖКХ города"`) {
		t.Errorf("config routing ignored: %s", got)
	}
	routing := filepath.Join(dir, "routing.yaml")
	os.WriteFile(routing, []byte("housing: Фонд капремонта\n"), 0o600)
	if got := run("--config", cfg, "--routing", routing); !strings.Contains(got, `"agency":"Фонд капремонта"`) {
		t.Errorf("--routing does not override the config: %s", got)
	}
	var errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(in), stdout: &bytes.Buffer{}, stderr: &errb, getenv: func(string) string { return "" }}
	if err := classifyCmd(context.Background(), c, []string{"--config", filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Error("a missing config file is accepted")
	}
}

// TestAppendClassifyOut checks the hand-written encoder against encoding/json.
func TestAppendClassifyOut(t *testing.T) {
	cl := &otklik.Classification{Topic: "roads", Location: "Саратов", Priority: otklik.High,
		Drop: []otklik.DropReason{otklik.Obscene}, Agency: "Министерство \"транспорта\"",
		Explanation: map[string][]otklik.Evidence{
			"topic":   {{Term: "яма", Weight: 2}, {Term: "<b>&", Text: "a\nb\t\u2028\x01", Weight: 0.5}},
			"obscene": {{Term: "хуй", Text: "х.у.й"}},
			"zz":      {{Term: "x"}},
		}, Model: "m"}
	got := appendClassifyOut(nil, json.RawMessage(`"id-1"`), cl)
	want, err := json.Marshal(classifyOut{ID: json.RawMessage(`"id-1"`), Topic: cl.Topic, Location: cl.Location,
		Priority: cl.Priority, Drop: cl.Drop, Agency: cl.Agency, Explanation: cl.Explanation, Model: cl.Model})
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if s := string(appendClassifyOut(nil, json.RawMessage(`1`), &otklik.Classification{})); !strings.Contains(s, `"drop":[]`) {
		t.Errorf("empty drop must be []: %s", s)
	}
}

// BenchmarkClassifyCmd runs the whole command (JSON in and out, workers) on the toxic dev
// set; the side-by-side comparison with naivestem is classifier/bench.sh.
func BenchmarkClassifyCmd(b *testing.B) {
	data := toxicDev(b)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		c := &cli{stdin: bytes.NewReader(data), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
		if err := classifyCmd(context.Background(), c, []string{"--no-model"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClassifyLines measures the per-line work of the command (decode, classify,
// encode) with a warm classifier, one worker.
func BenchmarkClassifyLines(b *testing.B) {
	data := toxicDev(b)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	cl, err := classifier.New(classifier.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	warm := &classifyBatch{lines: lines}
	classifyLines(cl, warm)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := (i * classifyBatchLines) % len(lines)
		end := min(k+classifyBatchLines, len(lines))
		classifyLines(cl, &classifyBatch{lines: lines[k:end]})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*classifyBatchLines), "ns/line")
}

// decodeCases are input lines for the hand-written decoder: the shapes of the evaluation
// sets and of otklik.Publication, and the edge cases it must leave to encoding/json.
var decodeCases = []string{
	`{"id": 0, "text": "Верблюдов-то за что? Дебилы, бл...", "labels": ["toxic"]}`,
	`{"id": "dev-001", "network": "ok", "kind": "comment", "text": "У нас в Калининске", "likes": 8, "comments": 5, "reposts": 0, "views": 0, "author_followers": 44, "topic": "housing", "drop": []}`,
	`{"id": 2947973, "text": "незаконная решетка", "category": "Нарушение", "date": "2020-10-18"}`,
	`{"post_id":"vk:1_2","text":"x","engagement":{"likes":3,"views":1000},"author":{"id":"1","followers":25000}}`,
	`{"id":1,"text":"a\"b\\c\/d\n\u0436\ud83d\ude00\ud800","likes":-3}`,
	`{"id":1,"text":"` + "\xff\xfe" + `"}`,
	`{"ID":1,"Text":"upper-case keys"}`,
	`{"id":1,"text":"x","LIKES":5}`,
	`{"id":1,"text":"x","likes":1.0}`,
	`{"id":1,"text":"x","likes":1e3}`,
	`{"id":1,"text":"x","likes":"5"}`,
	`{"id":1,"text":"x","likes":99999999999999999999}`,
	`{"id":1,"text":"x","likes":9223372036854775807}`,
	`{"id":1,"text":"x","likes":012}`,
	`{"id":1,"text":null}`,
	`{"id":1,"text":"a","text":null}`,
	`{"id":1,"text":"a","text":"b"}`,
	`{"id":null,"post_id":"p","text":"a"}`,
	`{"id":{"a":1},"text":"a"}`,
	`{"id":[1,2],"text":"a"}`,
	`{"id":true,"text":"a"}`,
	`{"id":-0.5e+3,"text":"a"}`,
	`{"id":1,"text":"a","x":{"y":[1,{"z":null}],"w":"\u00e9"},"v":[]}`,
	`{"id":1,"text":"a",}`,
	`{"id":1,"text":"a"} x`,
	`{"id":1,"text":"a"}  `,
	`  {"id":1 , "text" : "a" }`,
	`{"id":1,"text":"a` + "\t" + `b"}`,
	`{"id":1,"text":"a\x"}`,
	`{"id":1,"text":"a\u12"}`,
	`{"id":1,"text":"строка\nвторая \"цитата\" \t\r\b\f\\ \/ \u0000 \u0436"}`,
	`{"id":1,"text":"\ud83d\ude00 \ud83d \ude00 \ud83d\ud83d\ude00 \udc00x\ud800"}`,
	`{"id":1,"text":"\uD83D\uDE00\u00E9"}`,
	`{"id":1,"network":null,"kind":"post","text":"a"}`,
	`{"id":1,"owner":"-1","parent_id":"10","kind":"comment","text":"a"}`,
	`{"id":1,"owner":-1,"parent_id":10,"text":"a"}`,
	`{"id":1,"owner":null,"parent_id":{"x":1},"text":"a"}`,
	`{"id":1,"Owner":"x","PARENT_ID":"y","text":"a"}`,
	`{"id":1,"network":5,"text":"a"}`,
	`{"id":1,"text":"a","author":null}`,
	`{"id":1,"text":"a","ſext":"b"}`,
	`{"id":1,"\u0074ext":"b"}`,
	`[1,2]`,
	`"text"`,
	`{}`,
	`{"id":1`,
	`{"id":1,"text":"a","x":[1,2,]}`,
	`{"id":1,"text":"a","x":tru}`,
	`{"id":1,"text":"a","x":-}`,
	`{"id":1,"text":"a","x":1.}`,
	`{"id":01,"text":"a"}`,
}

// TestDecodeClassifyIn checks the hand-written decoder against encoding/json: the same
// fields, the same error.
func TestDecodeClassifyIn(t *testing.T) {
	lines := decodeCases
	shared := testenv.SharedDir(t)
	for _, set := range []string{"toxic-2ch-pikabu", "saratov", "complaints-kursk", "complaints-spb-nashspb"} {
		data, err := os.ReadFile(filepath.Join(shared, "data", set, "dev.jsonl"))
		if err != nil {
			continue // the cases above still run
		}
		for i, l := range strings.Split(string(data), "\n") {
			if i < 2000 && l != "" {
				lines = append(lines, l)
			}
		}
	}
	for _, l := range lines {
		checkDecode(t, []byte(l))
	}
}

func checkDecode(t *testing.T, raw []byte) {
	t.Helper()
	var want, got classifyIn
	werr := json.Unmarshal(raw, &want)
	gerr := decodeClassifyIn(raw, &got)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("%q: error %v, want %v", raw, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\ngot  %+v\nwant %+v", raw, got, want)
	}
}

// TestDecodeClassifyInMutations compares the two decoders on the cases above with random
// bytes changed, inserted or deleted (a cheap, deterministic stand-in for the fuzzer).
func TestDecodeClassifyInMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("{}[]:,\"\\/u0123456789.eE+-ntrfalsx \t\n\x00\x1f\xd0\xb6\xff")
	for n := 0; n < 50000; n++ {
		b := []byte(decodeCases[rng.IntN(len(decodeCases))])
		for k := rng.IntN(3) + 1; k > 0 && len(b) > 0; k-- {
			i := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0:
				b[i] = alphabet[rng.IntN(len(alphabet))]
			case 1:
				b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
			default:
				b = append(b[:i], b[i+1:]...)
			}
		}
		checkDecode(t, b)
	}
}

// FuzzDecodeClassifyIn compares the hand-written decoder with encoding/json.
func FuzzDecodeClassifyIn(f *testing.F) {
	for _, l := range decodeCases {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkDecode(t, raw) })
}

// BenchmarkDecodeClassifyIn measures the hand-written decoder on the toxic dev lines;
// BenchmarkDecodeClassifyInJSON is encoding/json on the same lines, for comparison.
func BenchmarkDecodeClassifyIn(b *testing.B) { benchDecode(b, decodeClassifyIn) }
func BenchmarkDecodeClassifyInJSON(b *testing.B) {
	benchDecode(b, func(raw []byte, in *classifyIn) error { return json.Unmarshal(raw, in) })
}

func benchDecode(b *testing.B, decode func([]byte, *classifyIn) error) {
	data := toxicDev(b)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	b.SetBytes(int64(len(data) / len(lines)))
	b.ReportAllocs()
	var in classifyIn
	for i := 0; b.Loop(); i++ {
		if err := decode(lines[i%len(lines)], &in); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzAppendJSONString holds the hand-written string encoder to encoding/json byte for
// byte (HTML-safe escapes, U+2028/U+2029, invalid UTF-8 as U+FFFD).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "Энгельс, ул. «Тихая»", "a\"b\\c\n\r\t\x01\x7f", "<b>&amp;", "\u2028\u2029", "\xff\xd0", "ok \xd0\x80\xc2", "😀 ё"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// TestClassifyBadModel checks that a model file that cannot be parsed fails the run with
// its name, and that nothing is written (the classifier loads while input is read).
func TestClassifyBadModel(t *testing.T) {
	model := filepath.Join(t.TempDir(), "model.tsv")
	if err := os.WriteFile(model, []byte("not a model\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&in, "{\"id\": %d, \"text\": \"яма на дороге\"}\n", i)
	}
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(in.String()), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	err := classifyCmd(context.Background(), c, []string{"--model", model})
	if err == nil || !strings.Contains(err.Error(), model) {
		t.Fatalf("err = %v, want an error naming %s", err, model)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %d bytes of output with a broken model", out.Len())
	}
}

// TestClassifyThreads checks that a comment naming no subject takes its post's topic in
// otklik classify, and that the result does not depend on the number of workers (the
// thread memory is applied in input order by the writer).
func TestClassifyThreads(t *testing.T) {
	var in strings.Builder
	for i := range 900 {
		fmt.Fprintf(&in, "{\"network\":\"vk\",\"owner\":\"-5\",\"post_id\":\"%d\",\"kind\":\"post\",\"text\":\"Третий день нет горячей воды в доме, управляющая компания молчит\"}\n", 1000+i)
		fmt.Fprintf(&in, "{\"network\":\"vk\",\"owner\":-5,\"post_id\":\"c%d\",\"parent_id\":%d,\"kind\":\"comment\",\"text\":\"у нас тоже так, уже неделю\"}\n", i, 1000+i)
		fmt.Fprintf(&in, "{\"network\":\"vk\",\"owner\":\"-5\",\"post_id\":\"d%d\",\"parent_id\":\"9%d\",\"kind\":\"comment\",\"text\":\"у нас тоже так, уже неделю\"}\n", i, i)
	}
	run := func(workers string) string {
		var out, errb bytes.Buffer
		c := &cli{stdin: strings.NewReader(in.String()), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		if err := classifyCmd(context.Background(), c, []string{"--workers", workers}); err != nil {
			t.Fatalf("workers %s: %v (%s)", workers, err, errb.String())
		}
		return out.String()
	}
	one := run("1")
	if two := run("2"); two != one {
		t.Fatal("output differs between 1 and 2 workers")
	}
	lines := strings.Split(strings.TrimSpace(one), "\n")
	if len(lines) != 2700 {
		t.Fatalf("%d lines out, want 2700", len(lines))
	}
	for i, l := range lines {
		var o classifyOut
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatal(err)
		}
		want := []string{"housing", "housing", "other"}[i%3] // post, its comment, a comment under an unknown post
		if o.Topic != want {
			t.Fatalf("line %d: topic %s, want %s: %s", i+1, o.Topic, want, l)
		}
	}
}

// toxicDev reads the toxic dev set of the shared data (skipping the benchmark without it).
func toxicDev(b *testing.B) []byte {
	data, err := os.ReadFile(testenv.SharedFile(b, "data/toxic-2ch-pikabu/dev.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}
