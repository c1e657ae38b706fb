package instagram

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
	var media, recent mediaList
	var cs commentList
	for f, v := range map[string]any{"media.json": &media, "recent_media.json": &recent, "comments.json": &cs} {
		if err := json.Unmarshal(testdata(t, f), v); err != nil {
			t.Fatal(err)
		}
	}
	var pubs []otklik.Publication
	for _, m := range append(media.Data, recent.Data...) {
		p, err := mediaPublication("17841405822304914", m, "instagram:media:17841405822304914", at)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, p)
	}
	for _, c := range cs.Data {
		p, _ := commentPublication("17841405822304914", media.Data[0].ID, media.Data[0].Permalink, c, "", "instagram:media:17841405822304914", at)
		pubs = append(pubs, p)
		for _, r := range c.Replies.Data {
			p, _ := commentPublication("17841405822304914", media.Data[0].ID, media.Data[0].Permalink, r, c.ID, "instagram:media:17841405822304914", at)
			pubs = append(pubs, p)
		}
	}
	wh, err := parseWebhook(testdata(t, "webhook_comments.json"), at)
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
