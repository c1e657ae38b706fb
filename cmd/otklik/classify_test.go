package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
