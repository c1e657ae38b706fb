package facebook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors/collectortest"
)

func TestGolden(t *testing.T) {
	at := time.Date(2025, 11, 29, 10, 0, 0, 0, time.UTC)
	var feed feedResponse
	var cs commentsResponse
	if err := json.Unmarshal(collectortest.Testdata(t, "feed.json"), &feed); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(collectortest.Testdata(t, "comments.json"), &cs); err != nil {
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
	wh, err := parseWebhook(collectortest.Testdata(t, "webhook_feed.json"), at)
	if err != nil {
		t.Fatal(err)
	}
	pubs = append(pubs, wh...)
	collectortest.AllValid(t, pubs)
	collectortest.Golden(t, "publications.json", pubs)
}
