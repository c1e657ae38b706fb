package instagram

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
	"github.com/otklik/otklik/collectors/collectortest"
	"github.com/otklik/otklik/collectors/graph"
	"github.com/prometheus/client_golang/prometheus"
)

// replay answers Graph paths with testdata files; override maps a path to a file.
type replay struct {
	mu       sync.Mutex
	t        *testing.T
	files    map[string]string
	status   map[string]int
	requests map[string]int
}

func (r *replay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	path := strings.TrimPrefix(req.URL.Path, "/v21.0/")
	r.requests[path]++
	name, ok := r.files[path]
	if !ok {
		w.WriteHeader(404)
		w.Write([]byte(`{"error":{"message":"Unknown path","type":"GraphMethodException","code":100}}`))
		return
	}
	if strings.HasSuffix(name, ".html") {
		w.Header().Set("Content-Type", "text/html")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	}
	if s := r.status[path]; s != 0 {
		w.WriteHeader(s)
	}
	w.Write(collectortest.Testdata(r.t, name))
}

func setup(t *testing.T, hashtags ...string) (*replay, *Instagram) {
	r := &replay{t: t, status: map[string]int{}, requests: map[string]int{}, files: map[string]string{
		"17841405822304914/media":        "media.json",
		"17841405822304914/tags":         "recent_media.json",
		"17895695668004550/comments":     "comments.json",
		"ig_hashtag_search":              "hashtag_search.json",
		"17843853986012965/recent_media": "recent_media.json",
	}}
	srv := collectortest.Server(t, r)
	now := time.Date(2025, 11, 29, 9, 0, 0, 0, time.UTC)
	in, err := New(Config{AppConfig: graph.AppConfig{Enabled: true, BaseURL: srv.URL + "/", Token: "ig-token", RequestsPerSecond: 1000}, UserID: "17841405822304914", Hashtags: hashtags}, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	return r, in
}

func TestMediaCommentsMentionsHashtags(t *testing.T) {
	r, in := setup(t, "#Саратов")
	ts := in.Targets()
	if len(ts) != 3 || ts[2].Key != "instagram:hashtag:саратов" || ts[2].Kind != KindHashtag {
		t.Fatalf("targets: %+v", ts)
	}
	pubs, cur := collectortest.Drain(t, ts[0].Fetch, "")
	if len(pubs) != 3 || pubs[0].Kind != otklik.Post || pubs[1].Text != "В поликлинике №2 нет записи к кардиологу уже месяц" || pubs[2].ReplyTo != "17858893269000001" ||
		pubs[2].ParentID != "17895695668004550" || pubs[1].Author.Name != "anna_k_64" {
		t.Fatalf("comments: %+v", pubs)
	}
	// Same comment count next time: no comment read, nothing emitted.
	if pubs, _ = collectortest.Drain(t, ts[0].Fetch, cur); len(pubs) != 0 || r.requests["17895695668004550/comments"] != 1 {
		t.Fatalf("idle: %d pubs, %d comment reads", len(pubs), r.requests["17895695668004550/comments"])
	}
	mentions, _ := collectortest.Drain(t, ts[1].Fetch, "")
	if len(mentions) != 1 || mentions[0].Kind != otklik.Post || mentions[0].Text != "Опять яма на Вольской #саратов" {
		t.Fatalf("mentions: %+v", mentions)
	}
	tags, cur := collectortest.Drain(t, ts[2].Fetch, "")
	if len(tags) != 1 || tags[0].Attachments[0].Type != "carousel_album" {
		t.Fatalf("hashtag: %+v", tags)
	}
	if tags, _ = collectortest.Drain(t, ts[2].Fetch, cur); len(tags) != 0 {
		t.Fatal("hashtag media emitted twice")
	}
	if r.requests["ig_hashtag_search"] != 1 {
		t.Errorf("ig_hashtag_search called %d times; each call spends the 30-per-week budget", r.requests["ig_hashtag_search"])
	}
}

func TestErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		file   string
		status int
		reason string
	}{
		"token":     {"error_190.json", 400, collectors.ReasonAuth},
		"ratelimit": {"error_4.json", 403, collectors.ReasonRateLimit},
		"html":      {"bad_gateway.html", 502, collectors.ReasonUnavailable},
	} {
		r, in := setup(t)
		r.files["17841405822304914/media"] = tc.file
		r.status["17841405822304914/media"] = tc.status
		_, err := in.Targets()[0].Fetch(context.Background(), "")
		if got := collectors.Reason(err); got != tc.reason {
			t.Errorf("%s: %s (%v)", name, got, err)
		}
	}
}

func TestWebhookAndConfig(t *testing.T) {
	in, err := New(Config{AppConfig: graph.AppConfig{Enabled: true, Token: "t", AppSecret: "sec", VerifyToken: "v"}, UserID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	s := &collectortest.Sink{}
	h, err := in.WebhookHandler(s, prometheus.NewPedanticRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	body := collectortest.Testdata(t, "webhook_comments.json")
	req := httptest.NewRequest("POST", "/webhooks/instagram", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", graph.Sign(body, "sec"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if pubs := s.Publications(); rec.Code != 200 || len(pubs) != 1 || pubs[0].ReplyTo != "17858893269000001" || pubs[0].Author.Name != "ivan_saratov" {
		t.Fatalf("webhook: %d %+v", rec.Code, pubs)
	}
	// Malformed but signed: counted and acknowledged (Meta would resend it forever).
	bad := []byte(`{"object":"instagram","entry":[{"id":"1","changes":[{"field":"comments","value":"oops"}]}]}`)
	req = httptest.NewRequest("POST", "/webhooks/instagram", bytes.NewReader(bad))
	req.Header.Set("X-Hub-Signature-256", graph.Sign(bad, "sec"))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || s.Len() != 1 {
		t.Fatalf("malformed: %d", rec.Code)
	}
	many := make([]string, 31)
	for i := range many {
		many[i] = "tag" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	on := graph.AppConfig{Enabled: true, Token: "t"}
	for i, c := range []Config{
		{AppConfig: on},
		{AppConfig: on, UserID: "1", Hashtags: many},
		{AppConfig: on, UserID: "1", Hashtags: []string{"a", "#A"}},
		{AppConfig: graph.AppConfig{Enabled: true, Token: "t", AppSecret: "x"}, UserID: "1"},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	off, _ := New(Config{})
	if off.Targets() != nil {
		t.Error("disabled has targets")
	}
}
