package collectortest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
)

func TestTestdataFallsBackToTheSharedCopy(t *testing.T) {
	t.Chdir(t.TempDir()) // a package with no testdata of its own
	if b := Testdata(t, "bad_gateway.html"); !strings.Contains(string(b), "502 Bad Gateway") {
		t.Fatalf("shared page: %q", b)
	}
	if err := os.MkdirAll(filepath.Join("testdata", "golden"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "bad_gateway.html"), []byte("own"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b := Testdata(t, "bad_gateway.html"); string(b) != "own" {
		t.Errorf("the package's own file must win: %q", b)
	}
	if err := os.WriteFile(filepath.Join("testdata", "golden", "v.json"), []byte("{\n  \"a\": 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Golden(t, "v.json", map[string]int{"a": 1})
}

func TestDrainSinkClockServer(t *testing.T) {
	// The second page returns no cursor: the next fetch goes on from "a".
	pages := []collectors.Page{
		{Publications: []otklik.Publication{{PostID: "1"}}, Cursor: "a", More: true},
		{Publications: []otklik.Publication{{PostID: "2"}}, More: true},
		{Publications: []otklik.Publication{{PostID: "3"}}, Cursor: "b"},
	}
	wantCursors := []string{"", "a", "a"}
	calls := 0
	fetch := func(_ context.Context, cursor string) (collectors.Page, error) {
		if cursor != wantCursors[calls] {
			t.Fatalf("call %d with cursor %q, want %q", calls, cursor, wantCursors[calls])
		}
		calls++
		return pages[calls-1], nil
	}
	pubs, cur := Drain(t, fetch, "")
	if len(pubs) != 3 || cur != "b" || calls != 3 {
		t.Fatalf("drained %d publications, cursor %q, %d calls", len(pubs), cur, calls)
	}

	var s Sink
	s.SetFail(true)
	if s.Deliver(context.Background(), pubs) == nil || s.Len() != 0 {
		t.Fatal("a failing sink accepted")
	}
	s.SetFail(false)
	if err := s.Deliver(context.Background(), pubs); err != nil || s.Len() != 3 || s.Publications()[2].PostID != "3" {
		t.Fatalf("deliver: %v, %d", err, s.Len())
	}

	start := time.Date(2025, 11, 29, 9, 0, 0, 0, time.UTC)
	c := NewClock(start)
	c.Add(time.Minute)
	if !c.Now().Equal(start.Add(time.Minute)) {
		t.Errorf("clock at %v", c.Now())
	}

	srv := Server(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestAllValid(t *testing.T) {
	good := otklik.Publication{ID: "vk:-1_2", Network: otklik.VK, Owner: "-1", PostID: "2", Kind: otklik.Post,
		Text: "текст", PublishedAt: time.Unix(1764400200, 0).UTC(), FetchedAt: time.Unix(1764400800, 0).UTC()}
	if err := good.Validate(); err != nil {
		t.Fatalf("the test's good publication is not valid: %v", err)
	}
	ft := &fakeT{TB: t}
	AllValid(ft, []otklik.Publication{good, {ID: "bad"}})
	if len(ft.errors) != 1 || !strings.HasPrefix(ft.errors[0], "bad: ") {
		t.Errorf("errors %q, want one for the bad publication", ft.errors)
	}
}

// fakeT records Errorf instead of failing the test.
type fakeT struct {
	testing.TB
	errors []string
}

func (f *fakeT) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeT) Helper() {}
