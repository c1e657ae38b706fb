package ok

import (
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors/collectortest"
)

func TestGolden(t *testing.T) {
	at := time.Date(2025, 11, 29, 10, 0, 0, 0, time.UTC)
	r, err := parseTopics(collectortest.Testdata(t, "topics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pubs []otklik.Publication
	for _, tp := range r.MediaTopics {
		pubs = append(pubs, topicPublication(tp, "53038939046008", &r, "ok:group:53038939046008", at))
	}
	c, err := parseComments(collectortest.Testdata(t, "comments.json"))
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
	collectortest.Golden(t, "publications.json", pubs)
}
