package instagram

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors/collectortest"
)

func TestGolden(t *testing.T) {
	at := time.Date(2025, 11, 29, 10, 0, 0, 0, time.UTC)
	var media, recent mediaList
	var cs commentList
	for f, v := range map[string]any{"media.json": &media, "recent_media.json": &recent, "comments.json": &cs} {
		if err := json.Unmarshal(collectortest.Testdata(t, f), v); err != nil {
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
	wh, err := parseWebhook(collectortest.Testdata(t, "webhook_comments.json"), at)
	if err != nil {
		t.Fatal(err)
	}
	pubs = append(pubs, wh...)
	collectortest.AllValid(t, pubs)
	collectortest.Golden(t, "publications.json", pubs)
}
