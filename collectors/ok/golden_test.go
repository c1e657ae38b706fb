package ok

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
	r, err := parseTopics(testdata(t, "topics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pubs []otklik.Publication
	for _, tp := range r.MediaTopics {
		pubs = append(pubs, topicPublication(tp, "53038939046008", &r, "ok:group:53038939046008", at))
	}
	c, err := parseComments(testdata(t, "comments.json"))
	if err != nil {
		t.Fatal(err)
	}
	o, _ := New(Config{})
	for _, cm := range c.Comments {
		d, err := parseDate(cm.Date, o.loc)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, otklik.Publication{Network: otklik.OK, Owner: "53038939046008", PostID: cm.ID,
			ParentID: "155030787520000", ReplyTo: cm.ReplyToCommentID, Kind: otklik.Comment, Text: cm.Text,
			Author: otklik.Author{ID: cm.AuthorID, Name: cm.AuthorName}, PublishedAt: d, FetchedAt: at})
	}
	golden(t, "publications.json", pubs)
}
