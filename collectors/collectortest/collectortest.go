// Package collectortest is what the network collectors' tests share: golden files
// rewritten with the -update flag, testdata files (with one shared copy of the pages every
// network's tests replay, such as a proxy's HTML 502 page), an httptest server closed with
// the test, a recording sink, a settable clock, and draining a source as the poller does.
//
// Import it only from _test.go files. It imports package collectors, so the tests of
// package collectors itself cannot use it.
package collectortest

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
)

// update is the -update flag of every test binary that imports this package.
var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the parsers' output")

// shared holds the testdata files that are the same for every network:
//
//   - bad_gateway.html: the HTML page nginx answers with 502 when the API behind it is
//     down (or with 200 by a misconfigured proxy): not JSON, so unavailable or malformed.
//
//go:embed testdata
var shared embed.FS

// Golden compares v, as indented JSON followed by a newline, with
// testdata/golden/name of the package under test; with -update it rewrites the file.
func Golden(t testing.TB, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the parser's output:\n%s", path, got)
	}
}

// AllValid reports, as test errors, the publications that otklik.Publication.Validate
// refuses (what a parser emits must be accepted downstream).
func AllValid(t testing.TB, pubs []otklik.Publication) {
	t.Helper()
	for i := range pubs {
		if err := pubs[i].Validate(); err != nil {
			t.Errorf("%s: %v", pubs[i].ID, err)
		}
	}
}

// Testdata returns testdata/name of the package under test or, when the package has no
// such file, the shared copy of this package's testdata (bad_gateway.html).
func Testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if errors.Is(err, fs.ErrNotExist) {
		if s, serr := shared.ReadFile("testdata/" + name); serr == nil {
			return s
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Server starts an httptest server for h, closed when the test ends.
func Server(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Drain fetches until the source has nothing more to read at once (Page.More false), as
// the poller does, keeping the previous cursor when a page returns none. It returns what
// was collected and the last cursor, and fails the test on a fetch error or after 50
// fetches.
func Drain(t testing.TB, fetch collectors.FetchFunc, cursor string) ([]otklik.Publication, string) {
	t.Helper()
	var all []otklik.Publication
	for range 50 {
		page, err := fetch(context.Background(), cursor)
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		all = append(all, page.Publications...)
		if page.Cursor != "" {
			cursor = page.Cursor
		}
		if !page.More {
			return all, cursor
		}
	}
	t.Fatal("source never settles")
	return nil, ""
}

// Sink is a collectors.Sink that keeps what it is given; it is safe for concurrent use.
type Sink struct {
	mu   sync.Mutex
	fail bool
	pubs []otklik.Publication
}

// Deliver keeps pubs, or refuses them (as a bus that is down would) after SetFail(true).
func (s *Sink) Deliver(_ context.Context, pubs []otklik.Publication) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("bus down")
	}
	s.pubs = append(s.pubs, pubs...)
	return nil
}

// SetFail makes Deliver refuse (true) or accept (false).
func (s *Sink) SetFail(fail bool) {
	s.mu.Lock()
	s.fail = fail
	s.mu.Unlock()
}

// Publications returns a copy of what was delivered, in order.
func (s *Sink) Publications() []otklik.Publication {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pubs)
}

// Len is how many publications were delivered.
func (s *Sink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pubs)
}

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time; pass it as a collector's clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
