package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/classifier"
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
	shared := os.Getenv("OTKLIK_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "..", "shared")
	}
	data, err := os.ReadFile(filepath.Join(shared, "data/toxic-2ch-pikabu/dev.jsonl"))
	if err != nil {
		b.Skipf("toxic dev set not found: %v", err)
	}
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
	shared := os.Getenv("OTKLIK_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "..", "shared")
	}
	data, err := os.ReadFile(filepath.Join(shared, "data/toxic-2ch-pikabu/dev.jsonl"))
	if err != nil {
		b.Skipf("toxic dev set not found: %v", err)
	}
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
