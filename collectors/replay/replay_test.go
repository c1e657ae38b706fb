package replay

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otklik/otklik"
)

type deadList struct{ lines []string }

func (d *deadList) Reject(_ context.Context, _ string, line []byte, cause error) error {
	d.lines = append(d.lines, cause.Error())
	return nil
}

var fixed = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestFetchPagesAndDeadLetters(t *testing.T) {
	dead := &deadList{}
	r, err := New(Config{Path: "testdata/mixed.jsonl", PageSize: 2}, dead, func() time.Time { return fixed })
	if err != nil {
		t.Fatal(err)
	}
	var got []otklik.Publication
	cursor := ""
	for i := 0; ; i++ {
		page, err := r.Fetch(context.Background(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Publications...)
		cursor = page.Cursor
		if !page.More {
			break
		}
		if i > 5 {
			t.Fatal("More never false")
		}
	}
	ids := []string{}
	for _, p := range got {
		ids = append(ids, p.ID)
		if !p.FetchedAt.Equal(fixed) {
			t.Errorf("%s FetchedAt = %v", p.ID, p.FetchedAt)
		}
	}
	if want := "vk:-1_10 vk:-1_10_11 demo:_dev-7"; strings.Join(ids, " ") != want {
		t.Errorf("ids = %v, want %s", ids, want)
	}
	if len(dead.lines) != 2 || !strings.Contains(dead.lines[0], "line 2") || !strings.Contains(dead.lines[1], "line 4") ||
		!strings.Contains(dead.lines[1], "unknown network") {
		t.Errorf("dead letters = %q", dead.lines)
	}
	// At the end: nothing new.
	page, err := r.Fetch(context.Background(), cursor)
	if err != nil || len(page.Publications) != 0 || page.More {
		t.Fatalf("after the end: %+v %v", page, err)
	}
}

func TestAppendContinuesAndRewriteRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.jsonl")
	line := func(id string) string {
		return `{"network":"ok","owner":"5","post_id":"` + id + `","text":"т"}` + "\n"
	}
	os.WriteFile(path, []byte(line("1")+line("2")), 0o600)
	r, _ := New(Config{Path: path}, nil, nil)
	page, err := r.Fetch(context.Background(), "")
	if err != nil || len(page.Publications) != 2 {
		t.Fatalf("first read: %v %v", page, err)
	}
	// An appended line, and a half-written one, which waits.
	os.WriteFile(path, []byte(line("1")+line("2")+line("3")+`{"network":"ok"`), 0o600)
	page, err = r.Fetch(context.Background(), page.Cursor)
	if err != nil || len(page.Publications) != 1 || page.Publications[0].PostID != "3" {
		t.Fatalf("after append: %+v %v", page.Publications, err)
	}
	// Rewritten file: read again from the start.
	os.WriteFile(path, []byte(line("9")), 0o600)
	page, err = r.Fetch(context.Background(), page.Cursor)
	if err != nil || len(page.Publications) != 1 || page.Publications[0].PostID != "9" {
		t.Fatalf("after rewrite: %+v %v", page.Publications, err)
	}
	if _, err := r.Fetch(context.Background(), "garbage"); err == nil {
		t.Fatal("bad cursor accepted")
	}
}

func TestNoDeadLetterSinkFails(t *testing.T) {
	r, _ := New(Config{Path: "testdata/mixed.jsonl"}, nil, nil)
	if _, err := r.Fetch(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v", err)
	}
	r, _ = New(Config{Path: filepath.Join(t.TempDir(), "missing")}, nil, nil)
	if _, err := r.Fetch(context.Background(), ""); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {Path: "x", PageSize: -1, Interval: time.Second}, {Path: "x", PageSize: 1, Interval: -1}} {
		if _, err := New(c, nil, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// The bundled demo corpus must be entirely valid: every line a publication, ids unique.
func TestDemoCorpusIsValid(t *testing.T) {
	seen := map[string]bool{}
	for i, line := range bytes.Split(bytes.TrimSpace(Demo()), []byte("\n")) {
		p, err := Parse(line)
		if err != nil {
			t.Fatalf("demo line %d: %v", i+1, err)
		}
		if seen[p.ID] {
			t.Fatalf("demo line %d: duplicate id %s", i+1, p.ID)
		}
		seen[p.ID] = true
		if p.Network == otklik.Demo || p.Text == "" || p.PublishedAt.IsZero() {
			t.Fatalf("demo line %d: incomplete publication %+v", i+1, p)
		}
	}
	if len(seen) < 200 {
		t.Fatalf("demo corpus has %d publications, want a few hundred", len(seen))
	}
}
