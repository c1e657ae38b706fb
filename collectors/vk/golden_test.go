package vk

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors/collectortest"
)

// TestGolden converts every replayed response to publications: a change of mapping shows
// as a diff of the golden file.
func TestGolden(t *testing.T) {
	at := time.Date(2025, 11, 29, 10, 0, 0, 0, time.UTC)
	var pubs []otklik.Publication
	env, _ := parseResponse(collectortest.Testdata(t, "wall_get.json"))
	w, err := parseWallGet(env.Response)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range w.Items {
		pubs = append(pubs, postPublication(p, newAuthors(w.ExtendedResponse), "vk:wall:-1000", at))
	}
	env, _ = parseResponse(collectortest.Testdata(t, "get_comments.json"))
	c, err := parseComments(env.Response)
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthors(c.ExtendedResponse)
	for _, cm := range c.Items {
		pubs = append(pubs, commentPublication(cm, -1000, 4213, 0, a, "vk:wall:-1000", at))
		for _, r := range cm.Thread.Items {
			pubs = append(pubs, commentPublication(r, -1000, 4213, cm.ID, a, "vk:wall:-1000", at))
		}
	}
	env, _ = parseResponse(collectortest.Testdata(t, "newsfeed_search.json"))
	s, err := parseSearch(env.Response)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Items {
		pubs = append(pubs, postPublication(p, newAuthors(s.ExtendedResponse), "vk:search:мусор", at))
	}
	for _, f := range []string{"callback_wall_post_new.json", "callback_wall_reply_new.json", "callback_wall_reply_delete.json"} {
		var ev callbackEvent
		if err := json.Unmarshal(collectortest.Testdata(t, f), &ev); err != nil {
			t.Fatal(err)
		}
		ps, err := parseCallback(ev, at)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, ps...)
	}
	for _, f := range []string{"streaming_event_post.json", "streaming_event_comment.json"} {
		var r struct {
			Event json.RawMessage `json:"event"`
		}
		json.Unmarshal(collectortest.Testdata(t, f), &r)
		var e streamingEvent
		if err := json.Unmarshal(r.Event, &e); err != nil {
			t.Fatal(err)
		}
		p, ok := streamEventPublication(e, at)
		if !ok {
			t.Fatalf("%s not converted", f)
		}
		pubs = append(pubs, p)
	}
	collectortest.AllValid(t, pubs)
	collectortest.Golden(t, "publications.json", pubs)
}
