package facebook

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/otklik/otklik"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the parsers' output")

// golden compares v, as indented JSON, with testdata/golden/name (rewritten with -update).
func golden(t *testing.T, name string, v any) {
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

func TestGolden(t *testing.T) {
	at := time.Date(2025, 11, 29, 10, 0, 0, 0, time.UTC)
	var feed feedResponse
	var cs commentsResponse
	if err := json.Unmarshal(testdata(t, "feed.json"), &feed); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(testdata(t, "comments.json"), &cs); err != nil {
		t.Fatal(err)
	}
	var pubs []otklik.Publication
	for _, p := range feed.Data {
		pub, err := postPublication("104712345678901", p, "facebook:page:104712345678901", at)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, pub)
	}
	for _, c := range cs.Data {
		pub, err := commentPublication("104712345678901", feed.Data[0].ID, c, "facebook:page:104712345678901", at)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, pub)
	}
	wh, err := parseWebhook(testdata(t, "webhook_feed.json"), at)
	if err != nil {
		t.Fatal(err)
	}
	pubs = append(pubs, wh...)
	for i := range pubs {
		if err := pubs[i].Validate(); err != nil {
			t.Error(err)
		}
	}
	golden(t, "publications.json", pubs)
}
