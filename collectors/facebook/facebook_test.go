package facebook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// fakeGraph serves a page feed and comments from memory in Graph's shapes.
type fakeGraph struct {
	mu       sync.Mutex
	t        *testing.T
	posts    []post                 // newest first
	comments map[string][]fbComment // oldest first
	next     []func(w http.ResponseWriter)
	paths    []string
}

func (f *fakeGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer page-token" {
		w.WriteHeader(400)
		w.Write(collectortest.Testdata(f.t, "error_190.json"))
		return
	}
	if len(f.next) > 0 {
		fn := f.next[0]
		f.next = f.next[1:]
		fn(w)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // v21.0/{id}/{edge}
	after := 0
	fmt.Sscan(r.URL.Query().Get("after"), &after)
	page := func(n int) (int, map[string]any) {
		end := min(after+2, n)
		p := map[string]any{"cursors": map[string]any{"after": fmt.Sprint(end)}}
		if end < n {
			p["next"] = "http://x/?after=" + fmt.Sprint(end)
		}
		return end, p
	}
	switch parts[2] {
	case "feed":
		end, p := page(len(f.posts))
		json.NewEncoder(w).Encode(map[string]any{"data": f.posts[min(after, end):end], "paging": p})
	case "comments":
		cs, ok := f.comments[parts[1]]
		if !ok {
			w.WriteHeader(400)
			w.Write(collectortest.Testdata(f.t, "error_100_33.json"))
			return
		}
		end, p := page(len(cs))
		json.NewEncoder(w).Encode(map[string]any{"data": cs[min(after, end):end], "paging": p})
	}
}

func fbTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-0700") }

func newTest(t *testing.T) (*fakeGraph, *Facebook, *time.Time) {
	f := &fakeGraph{t: t, comments: map[string][]fbComment{}}
	srv := collectortest.Server(t, f)
	now := time.Date(2025, 11, 29, 9, 0, 0, 0, time.UTC)
	fb, err := New(Config{AppConfig: graph.AppConfig{Enabled: true, BaseURL: srv.URL + "/", Token: "page-token", RequestsPerSecond: 1000}, Pages: []string{"1047"}}, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	fb.client.Limiter = collectors.NewLimiter(0, 1)
	return f, fb, &now
}

func describe(ps []otklik.Publication) string {
	var s []string
	for _, p := range ps {
		d := string(p.Kind) + ":" + p.PostID
		if p.ReplyTo != "" {
			d += "→" + p.ReplyTo
		}
		if p.Deleted {
			d += "(deleted)"
		}
		if !p.EditedAt.IsZero() {
			d += "(edited)"
		}
		s = append(s, d)
	}
	return strings.Join(s, " ")
}

func TestParseShapes(t *testing.T) {
	var feed feedResponse
	if err := json.Unmarshal(collectortest.Testdata(t, "feed.json"), &feed); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	p, err := postPublication("104712345678901", feed.Data[0], "s", now)
	if err != nil {
		t.Fatal(err)
	}
	if p.Author.Name != "Администрация города Балаково" || p.Engagement != (otklik.Engagement{Likes: 17, Comments: 2, Reposts: 4}) ||
		!p.PublishedAt.Equal(time.Date(2025, 11, 29, 7, 10, 0, 0, time.UTC)) || len(p.Attachments) != 1 {
		t.Errorf("post: %+v", p)
	}
	if graph.AfterCursor(feed.Paging) != "QVFIUnZAYW" {
		t.Error("after cursor")
	}
	var cs commentsResponse
	json.Unmarshal(collectortest.Testdata(t, "comments.json"), &cs)
	reply, _ := commentPublication("104712345678901", feed.Data[0].ID, cs.Data[1], "s", now)
	if reply.ReplyTo != "842211334455667_1201" || reply.ParentID != feed.Data[0].ID || reply.Kind != otklik.Comment {
		t.Errorf("reply: %+v", reply)
	}
	if graph.AfterCursor(cs.Paging) != "" {
		t.Error("last page has no next")
	}
}

func TestPageLifecycle(t *testing.T) {
	f, fb, now := newTest(t)
	t0 := *now
	for i := range 3 {
		f.posts = append(f.posts, post{ID: fmt.Sprint("1047_", 10-i), Message: fmt.Sprint("пост ", i), CreatedTime: fbTime(t0.Add(-time.Duration(i+1) * time.Hour))})
	}
	f.posts[0].Comments.Summary.TotalCount = 3
	f.comments["1047_10"] = []fbComment{
		{ID: "10_1", Message: "a", CreatedTime: fbTime(t0.Add(-30 * time.Minute))},
		{ID: "10_2", Message: "b", CreatedTime: fbTime(t0.Add(-20 * time.Minute)), Parent: &struct {
			ID string `json:"id"`
		}{"10_1"}},
		{ID: "10_3", Message: "c", CreatedTime: fbTime(t0.Add(-20 * time.Minute))},
	}
	fetch := fb.Targets()[0].Fetch
	pubs, cur := collectortest.Drain(t, fetch, "")
	if got := describe(pubs); got != "post:1047_10 post:1047_9 post:1047_8 comment:10_1 comment:10_2→10_1 comment:10_3" {
		t.Fatalf("first poll: %s", got)
	}
	if pubs, cur = collectortest.Drain(t, fetch, cur); len(pubs) != 0 {
		t.Fatalf("idle: %s", describe(pubs))
	}
	// Edit, new comment in the same second as the last one, deletion of 1047_8.
	f.posts[1].Message = "пост 1 (исправлено)"
	f.posts[1].UpdatedTime = fbTime(t0)
	f.posts[0].Comments.Summary.TotalCount = 4
	f.comments["1047_10"] = append(f.comments["1047_10"], fbComment{ID: "10_4", Message: "d", CreatedTime: fbTime(t0.Add(-20 * time.Minute))})
	f.posts = f.posts[:2]
	pubs, _ = collectortest.Drain(t, fetch, cur)
	if got := describe(pubs); got != "post:1047_9(edited) post:1047_8(deleted) comment:10_4" {
		t.Fatalf("second poll: %s", got)
	}
}

func TestErrorsAndWebhookHandshake(t *testing.T) {
	for _, tt := range []struct {
		file   string
		status int
		header string
		reason string
		retry  time.Duration
	}{
		{"error_190.json", 400, "", collectors.ReasonAuth, 0},
		{"error_32.json", 400, `{"1047":[{"type":"pages","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":7}]}`, collectors.ReasonRateLimit, 7 * time.Minute},
		{"error_2.json", 500, "", collectors.ReasonUnavailable, 0},
		{"error_2.json", 400, "", collectors.ReasonUnavailable, 0},
		{"bad_gateway.html", 200, "", collectors.ReasonMalformed, 0},
		{"truncated.json", 200, "", collectors.ReasonMalformed, 0},
	} {
		t.Run(tt.file, func(t *testing.T) {
			f, fb, _ := newTest(t)
			f.next = append(f.next, func(w http.ResponseWriter) {
				if tt.header != "" {
					w.Header().Set("X-Business-Use-Case-Usage", tt.header)
				}
				if strings.HasSuffix(tt.file, ".html") {
					w.Header().Set("Content-Type", "text/html")
				}
				w.WriteHeader(tt.status)
				w.Write(collectortest.Testdata(t, tt.file))
			})
			_, err := fb.Targets()[0].Fetch(context.Background(), "")
			if got := collectors.Reason(err); got != tt.reason {
				t.Fatalf("reason %s (%v)", got, err)
			}
			if tt.retry > 0 {
				if rl, ok := err.(interface{ Unwrap() error }); ok {
					_ = rl
				}
				var rle *collectors.RateLimitError
				if !asRate(err, &rle) || rle.RetryAfter != tt.retry {
					t.Errorf("retry after: %v", err)
				}
			}
			if strings.Contains(err.Error(), "page-token") {
				t.Error("token in error")
			}
		})
	}
}

func asRate(err error, target **collectors.RateLimitError) bool {
	for err != nil {
		if r, ok := err.(*collectors.RateLimitError); ok {
			*target = r
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestWebhook(t *testing.T) {
	fb, err := New(Config{AppConfig: graph.AppConfig{Enabled: true, AppSecret: "app-secret", VerifyToken: "verify-me"}})
	if err != nil {
		t.Fatal(err)
	}
	sink := &collectortest.Sink{}
	h, err := fb.WebhookHandler(sink, prometheus.NewPedanticRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Handshake.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/webhooks/facebook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444", nil))
	if rec.Code != 200 || rec.Body.String() != "1158201444" {
		t.Fatalf("handshake: %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/webhooks/facebook?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", nil))
	if rec.Code != 403 {
		t.Fatalf("wrong verify token: %d", rec.Code)
	}
	body := collectortest.Testdata(t, "webhook_feed.json")
	post := func(sig string) int {
		req := httptest.NewRequest("POST", "/webhooks/facebook", bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post(graph.Sign(body, "other-secret")); code != 401 {
		t.Fatalf("bad signature accepted: %d", code)
	}
	sink.SetFail(true)
	if code := post(graph.Sign(body, "app-secret")); code != 503 {
		t.Fatalf("delivery failure acknowledged: %d", code)
	}
	sink.SetFail(false)
	if code := post(graph.Sign(body, "app-secret")); code != 200 {
		t.Fatalf("valid delivery: %d", code)
	}
	if got := describe(sink.Publications()); got != "comment:842211334455667_1203→842211334455667_1202 comment:842211334455667_1201(deleted)" {
		t.Fatalf("webhook publications: %s", got)
	}
	if _, err := New(Config{AppConfig: graph.AppConfig{Enabled: true, AppSecret: "x"}}); err == nil {
		t.Error("app secret without verify token accepted")
	}
	disabled, _ := New(Config{})
	if disabled.Targets() != nil {
		t.Error("disabled collector has targets")
	}
	if _, err := disabled.WebhookHandler(sink, nil, nil); err == nil {
		t.Error("disabled collector gave a webhook handler")
	}
}
