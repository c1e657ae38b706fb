package vk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
	"github.com/otklik/otklik/collectors/collectortest"
	"github.com/prometheus/client_golang/prometheus"
)

var fetched = time.Date(2025, 11, 29, 10, 0, 0, 0, time.UTC)

func TestParseWallGet(t *testing.T) {
	env, err := parseResponse(collectortest.Testdata(t, "wall_get.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseWallGet(env.Response)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Items) != 3 || !bool(r.Items[0].IsPinned) {
		t.Fatalf("items = %d, pinned first = %v", len(r.Items), r.Items[0].IsPinned)
	}
	p := postPublication(r.Items[1], newAuthors(r.ExtendedResponse), "vk:wall:-1000", fetched)
	want := otklik.Publication{
		ID: "vk:-1000_4213", Network: otklik.VK, Owner: "-1000", PostID: "4213", Kind: otklik.Post,
		URL: "https://vk.com/wall-1000_4213", Source: "vk:wall:-1000",
		Author: otklik.Author{ID: "51234567", Name: "Ирина Смирнова", Followers: 318},
		Text:   "Третий день нет горячей воды на улице Чернышевского, 12. Куда звонить?",
		Attachments: []otklik.Attachment{
			{Type: "photo", URL: "https://sun9-1.userapi.com/s/v1/ig2/a.jpg?size=960x1280&quality=95&type=album"},
			{Type: "link", URL: "https://saratov.gov.ru/gov/auth/", Title: "Правительство Саратовской области"},
		},
		Engagement:  otklik.Engagement{Likes: 27, Comments: 3, Reposts: 5, Views: 1894},
		PublishedAt: time.Unix(1764400200, 0).UTC(), EditedAt: time.Unix(1764400800, 0).UTC(), FetchedAt: fetched,
	}
	assertJSONEqual(t, p, want)
	g := postPublication(r.Items[2], newAuthors(r.ExtendedResponse), "s", fetched)
	if g.Author.Name != "Подслушано Саратов" || g.Author.Followers != 184233 || g.Attachments[0].URL != "https://vk.com/video-1000_456239101" {
		t.Errorf("community author / video: %+v %+v", g.Author, g.Attachments)
	}
}

func assertJSONEqual(t *testing.T, got, want any) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) != string(w) {
		t.Errorf("got\n%s\nwant\n%s", g, w)
	}
}

func TestParseCommentsWithThread(t *testing.T) {
	env, err := parseResponse(collectortest.Testdata(t, "get_comments.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseComments(env.Response)
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthors(r.ExtendedResponse)
	top := commentPublication(r.Items[0], -1000, 4213, 0, a, "s", fetched)
	reply := commentPublication(r.Items[0].Thread.Items[1], -1000, 4213, r.Items[0].ID, a, "s", fetched)
	del := commentPublication(r.Items[2], -1000, 4213, 0, a, "s", fetched)
	if top.ID != "vk:-1000_4213_4230" || top.ParentID != "4213" || top.ReplyTo != "" || top.Author.Name != "Алексей Петров" || top.Engagement.Comments != 3 {
		t.Errorf("top-level comment: %+v", top)
	}
	if reply.ReplyTo != "4231" || reply.URL != "https://vk.com/wall-1000_4213?reply=4233&thread=4230" || reply.Kind != otklik.Comment {
		t.Errorf("thread reply: %+v", reply)
	}
	if !del.Deleted {
		t.Error("deleted comment not marked")
	}
}

func TestParseSearchAndExecute(t *testing.T) {
	env, err := parseResponse(collectortest.Testdata(t, "newsfeed_search.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseSearch(env.Response)
	if err != nil {
		t.Fatal(err)
	}
	if r.NextFrom != "2/-2000_35120" || r.TotalCount != 41 {
		t.Errorf("next_from %q total %d", r.NextFrom, r.TotalCount)
	}
	repost := postPublication(r.Items[1], newAuthors(r.ExtendedResponse), "s", fetched)
	if !strings.Contains(repost.Text, "Оригинальная заметка") || repost.Author.Name != "Балаково онлайн" {
		t.Errorf("repost: %+v", repost)
	}

	env, err = parseResponse(collectortest.Testdata(t, "execute_partial.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, failed, err := parseExecute(env.Response, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || failed[1] != 0 || len(failed) != 1 || env.ExecuteErrors[0].Code != 30 {
		t.Errorf("failed = %v, errors = %v", failed, env.ExecuteErrors)
	}
	if _, _, err := parseExecute(env.Response, 3); !errors.Is(err, collectors.ErrMalformed) {
		t.Errorf("count mismatch not malformed: %v", err)
	}
	for _, name := range []string{"truncated.json", "bad_gateway.html"} {
		if _, err := parseResponse(collectortest.Testdata(t, name)); !errors.Is(err, collectors.ErrMalformed) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
}

type env struct {
	clk  *collectortest.Clock
	fake *fakeVK
	srv  *httptest.Server
	vk   *VK
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	clk := collectortest.NewClock(time.Date(2025, 11, 29, 9, 0, 0, 0, time.UTC))
	fake := newFakeVK(clk.Now)
	srv := collectortest.Server(t, fake)
	cfg.BaseURL = srv.URL + "/method/"
	cfg.Token = "vk1.a.test-token"
	v, err := New(cfg, WithClock(clk.Now), WithLimiter(collectors.NewLimiter(0, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return &env{clk: clk, fake: fake, srv: srv, vk: v}
}

func ids(pubs []otklik.Publication) string {
	var s []string
	for _, p := range pubs {
		id := p.ID
		if p.Deleted {
			id += "(deleted)"
		} else if !p.EditedAt.IsZero() {
			id += "(edited)"
		}
		s = append(s, id)
	}
	return strings.Join(s, " ")
}

func TestWallLifecycle(t *testing.T) {
	e := newEnv(t, Config{Walls: []int{-1, -2}})
	now := e.clk.Now()
	e.fake.addPost(-1, "old post, before the backfill window", now.Add(-48*time.Hour))
	p2 := e.fake.addPost(-1, "yesterday", now.Add(-2*time.Hour))
	e.fake.addComment(-1, p2, 0, "first comment", now.Add(-time.Hour))
	targets := e.vk.Targets()
	if len(targets) != 1 || targets[0].Key != "vk:wall:-1,-2" || targets[0].Kind != KindWall {
		t.Fatalf("targets = %+v", targets)
	}
	fetch := targets[0].Fetch

	pubs, cur := collectortest.Drain(t, fetch, "")
	if got := ids(pubs); got != "vk:-1_2 vk:-1_2_3" {
		t.Fatalf("first poll: %s", got)
	}

	// Nothing new: nothing emitted.
	if pubs, cur = collectortest.Drain(t, fetch, cur); len(pubs) != 0 {
		t.Fatalf("idle poll emitted %s", ids(pubs))
	}

	// A new post, an edit, a comment and a thread reply.
	e.clk.Add(time.Minute)
	p4 := e.fake.addPost(-2, "new post", e.clk.Now())
	e.fake.edit(-1, p2, "yesterday (edited)", e.clk.Now())
	c := e.fake.addComment(-1, p2, 0, "second comment", e.clk.Now())
	e.fake.addComment(-1, p2, c, "reply", e.clk.Now())
	pubs, cur = collectortest.Drain(t, fetch, cur)
	if got := ids(pubs); got != fmt.Sprintf("vk:-1_2(edited) vk:-2_%d vk:-1_2_%d vk:-1_2_%d", p4, c, c+1) {
		t.Fatalf("second poll: %s", got)
	}
	for _, p := range pubs {
		if p.PostID == fmt.Sprint(c+1) && p.ReplyTo != fmt.Sprint(c) {
			t.Errorf("reply lost its thread: %+v", p)
		}
	}

	// Deletion.
	e.fake.deletePost(-1, p2)
	pubs, cur = collectortest.Drain(t, fetch, cur)
	if got := ids(pubs); got != "vk:-1_2(deleted)" {
		t.Fatalf("after delete: %s", got)
	}
	_ = cur
}

func TestDeepThreadAndManyComments(t *testing.T) {
	e := newEnv(t, Config{Walls: []int{-7}})
	now := e.clk.Now()
	post := e.fake.addPost(-7, "popular", now.Add(-time.Minute))
	root := e.fake.addComment(-7, post, 0, "root", now)
	for i := range 12 { // more than thread_items_count
		e.fake.addComment(-7, post, root, fmt.Sprint("reply ", i), now)
	}
	fetch := e.vk.Targets()[0].Fetch
	pubs, cur := collectortest.Drain(t, fetch, "")
	if len(pubs) != 1+1+12 {
		t.Fatalf("first poll: %d publications (%s)", len(pubs), ids(pubs))
	}
	// A 13th reply deep in the thread: VK returns only the first 10 in thread.items.
	e.fake.addComment(-7, post, root, "late reply", now)
	pubs, cur = collectortest.Drain(t, fetch, cur)
	if len(pubs) != 1 || pubs[0].Text != "late reply" || pubs[0].ReplyTo != fmt.Sprint(root) {
		t.Fatalf("deep reply: %s", ids(pubs))
	}
	// 150 new top-level comments: two pages.
	for i := range 150 {
		e.fake.addComment(-7, post, 0, fmt.Sprint("c", i), now)
	}
	pubs, _ = collectortest.Drain(t, fetch, cur)
	seen := map[string]bool{}
	for _, p := range pubs {
		if seen[p.ID] {
			t.Fatalf("duplicate %s", p.ID)
		}
		seen[p.ID] = true
	}
	if len(pubs) != 150 {
		t.Fatalf("150 new comments: got %d", len(pubs))
	}
}

func TestRestartInTheMiddleOfASource(t *testing.T) {
	e := newEnv(t, Config{Walls: []int{-1}})
	now := e.clk.Now()
	for i := range 3 {
		p := e.fake.addPost(-1, fmt.Sprint("post ", i), now.Add(-time.Duration(i)*time.Minute))
		e.fake.addComment(-1, p, 0, "comment", now)
	}
	fetch := e.vk.Targets()[0].Fetch
	page, err := fetch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !page.More || len(page.Publications) != 3 {
		t.Fatalf("first page: more=%v pubs=%s", page.More, ids(page.Publications))
	}
	// The daemon stops here; the position (with the pending comment reads) was saved.
	// A new process with a new collector resumes from it.
	v2, err := New(Config{Walls: []int{-1}, Token: "x", BaseURL: e.srv.URL + "/method/"}, WithClock(e.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := collectortest.Drain(t, v2.Targets()[0].Fetch, page.Cursor)
	if len(rest) != 3 {
		t.Fatalf("after restart: %s", ids(rest))
	}
	for _, p := range rest {
		if p.Kind != otklik.Comment {
			t.Errorf("post emitted twice: %s", p.ID)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		file   string
		status int
		ctype  string
		reason string
		auth   bool
		pause  time.Duration // how long every caller of the token must hold off
	}{
		{"error_5.json", 200, "application/json", collectors.ReasonAuth, true, 0},
		{"error_6.json", 200, "application/json", collectors.ReasonRateLimit, false, time.Second},
		{"error_9.json", 200, "application/json", collectors.ReasonRateLimit, false, time.Minute},
		{"error_10.json", 200, "application/json", collectors.ReasonUnavailable, false, 0},
		{"error_14.json", 200, "application/json", collectors.ReasonCaptcha, false, 15 * time.Minute},
		{"error_29.json", 200, "application/json", collectors.ReasonQuota, false, 0},
		{"error_30.json", 200, "application/json", collectors.ReasonAPI, false, 0},
		{"bad_gateway.html", 502, "text/html", collectors.ReasonUnavailable, false, 0},
		{"bad_gateway.html", 200, "text/html", collectors.ReasonMalformed, false, 0},
		{"truncated.json", 200, "application/json", collectors.ReasonMalformed, false, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.file, tt.status), func(t *testing.T) {
			e := newEnv(t, Config{Walls: []int{-1}, Searches: []string{"мусор"}, TokenKind: TokenUser})
			lim := &recordingLimiter{}
			e.vk.limiter = lim
			body := collectortest.Testdata(t, tt.file)
			for _, tg := range e.vk.Targets() {
				e.fake.script(func(w http.ResponseWriter) {
					w.Header().Set("Content-Type", tt.ctype)
					w.WriteHeader(tt.status)
					w.Write(body)
				})
				_, err := tg.Fetch(context.Background(), "")
				if err == nil {
					t.Fatalf("%s: no error", tg.Kind)
				}
				if got := collectors.Reason(err); got != tt.reason {
					t.Errorf("%s: reason %s, want %s (%v)", tg.Kind, got, tt.reason, err)
				}
				var auth *collectors.AuthError
				if errors.As(err, &auth) != tt.auth {
					t.Errorf("%s: auth error = %v", tg.Kind, !tt.auth)
				}
				if strings.Contains(err.Error(), "test-token") {
					t.Errorf("token in error: %v", err)
				}
				if lim.paused != tt.pause {
					t.Errorf("%s: limiter paused %v, want %v", tg.Kind, lim.paused, tt.pause)
				}
				lim.paused = 0
			}
		})
	}
}

func TestExecuteItemErrors(t *testing.T) {
	e := newEnv(t, Config{Walls: []int{-1, -2}})
	e.fake.private[-2] = true
	e.fake.addPost(-1, "hello", e.clk.Now())
	page, err := e.vk.Targets()[0].Fetch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Publications) != 1 || len(page.Partial) != 1 || collectors.Reason(page.Partial[0]) != collectors.ReasonAPI {
		t.Fatalf("pubs %s partial %v", ids(page.Publications), page.Partial)
	}
	// The private wall is skipped for a day; the other is still polled.
	before, calls := e.fake.stats()
	if _, err := e.vk.Targets()[0].Fetch(context.Background(), page.Cursor); err != nil {
		t.Fatal(err)
	}
	after, calls2 := e.fake.stats()
	if after != before+1 || calls2["wall.get"] != calls["wall.get"]+1 {
		t.Errorf("private wall polled again: wall.get %d → %d", calls["wall.get"], calls2["wall.get"])
	}
	// A token-wide error inside execute fails the whole fetch.
	e.fake.script(func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"response":[false],"execute_errors":[{"method":"wall.get","error_code":29,"error_msg":"Rate limit reached"}]}`)
	})
	if _, err := e.vk.Targets()[0].Fetch(context.Background(), page.Cursor); collectors.Reason(err) != collectors.ReasonQuota {
		t.Errorf("execute error 29: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	e := newEnv(t, Config{Walls: []int{-1}})
	e.fake.script(func(w http.ResponseWriter) { time.Sleep(200 * time.Millisecond) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := e.vk.Targets()[0].Fetch(ctx, "")
	if got := collectors.Reason(err); got != collectors.ReasonTimeout {
		t.Fatalf("reason %s (%v)", got, err)
	}
}

func TestSearchPagesAndOverlap(t *testing.T) {
	e := newEnv(t, Config{Searches: []string{"мусор"}, TokenKind: TokenUser})
	now := e.clk.Now()
	for i := range 5 {
		e.fake.search = append(e.fake.search, fakePost(-9, 100-i, now.Add(-time.Duration(i)*time.Minute)))
	}
	fetch := e.vk.Targets()[0].Fetch
	pubs, cur := collectortest.Drain(t, fetch, "")
	if len(pubs) != 5 {
		t.Fatalf("first round: %s", ids(pubs))
	}
	// Re-reading the overlap emits nothing new; a new result is emitted once.
	e.clk.Add(time.Minute)
	e.fake.search = append([]fakeWallpost{fakePost(-9, 101, e.clk.Now())}, e.fake.search...)
	pubs, cur = collectortest.Drain(t, fetch, cur)
	if ids(pubs) != "vk:-9_101" {
		t.Fatalf("second round: %s", ids(pubs))
	}
	// An edited result is emitted again.
	e.fake.search[1].Edited = int(e.clk.Now().Unix())
	if pubs, _ = collectortest.Drain(t, fetch, cur); ids(pubs) != "vk:-9_100(edited)" {
		t.Fatalf("edit: %s", ids(pubs))
	}
}

// runPoller runs p over targets until sink holds n publications (at most 5 s), then for
// settle longer; it stops p and returns what Run returned.
func runPoller(p *collectors.Poller, targets []collectors.Target, sink *collectortest.Sink, n int, settle time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx, targets) }()
	deadline := time.Now().Add(5 * time.Second)
	for sink.Len() < n && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(settle)
	cancel()
	return <-done
}

func TestPollerEndToEnd(t *testing.T) {
	e := newEnv(t, Config{Walls: []int{-1, -2, -3}, BatchSize: 2, WallInterval: 10 * time.Millisecond})
	for _, o := range []int{-1, -2, -3} {
		p := e.fake.addPost(o, "post", e.clk.Now())
		e.fake.addComment(o, p, 0, "comment", e.clk.Now())
	}
	sink := &collectortest.Sink{}
	pos, err := collectors.OpenPositions(filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer pos.Close()
	p, err := collectors.NewPoller(collectors.PollerConfig{Interval: 10 * time.Millisecond, Timeout: time.Second,
		BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond, MaxPages: 10}, sink, pos, slog.New(slog.NewTextHandler(os.Stderr, nil)), prometheus.NewPedanticRegistry())
	if err != nil {
		t.Fatal(err)
	}
	// A few idle rounds after the sixth publication: nothing more may come.
	if err := runPoller(p, e.vk.Targets(), sink, 6, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n := sink.Len(); n != 6 {
		t.Log(ids(sink.Publications()))
		t.Fatalf("delivered %d publications, want 6 (3 posts, 3 comments, no duplicates)", n)
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := []func(*Config){
		func(c *Config) { c.BaseURL = "ftp://x/" },
		func(c *Config) { c.Walls = []int{-1} }, // no token
		func(c *Config) { c.Token = "t"; c.Walls = []int{-1, -1} },
		func(c *Config) { c.Token = "t"; c.Searches = []string{"x"} }, // service token
		func(c *Config) { c.BatchSize = 26 },
		func(c *Config) { c.PostsPerWall = 101 },
		func(c *Config) { c.TokenKind = "bot" },
		func(c *Config) { c.Watch = -1 },
	}
	for i, mut := range bad {
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d validated", i)
		}
	}
	if _, err := New(Config{Walls: []int{-1}}); err == nil {
		t.Error("New accepted walls without a token")
	}
	js, _ := json.Marshal(Config{Token: "vk1.a.SECRET"})
	if strings.Contains(string(js), "SECRET") {
		t.Error("token marshalled")
	}
}

// recordingLimiter never waits and records pauses.
type recordingLimiter struct{ paused time.Duration }

func (l *recordingLimiter) Wait(ctx context.Context) error { return ctx.Err() }
func (l *recordingLimiter) Pause(d time.Duration)          { l.paused = d }

// TestPollerCountsAndLogsBadPages runs the real poller against the fake VK answering an
// HTML error page and then broken JSON: both are counted as errors, logged once, and the
// source recovers and delivers.
func TestPollerCountsAndLogsBadPages(t *testing.T) {
	e := newEnv(t, Config{Walls: []int{-1}, WallInterval: 5 * time.Millisecond})
	e.fake.addPost(-1, "после сбоя", e.clk.Now())
	e.fake.script(
		func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(200)
			w.Write(collectortest.Testdata(t, "bad_gateway.html"))
		},
		func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(collectortest.Testdata(t, "truncated.json"))
		})
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(b)
	}), nil))
	reg := prometheus.NewPedanticRegistry()
	sink := &collectortest.Sink{}
	p, err := collectors.NewPoller(collectors.PollerConfig{Interval: time.Second, Timeout: time.Second,
		BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond, MaxPages: 10}, sink, collectors.NewMemPositions(), logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	runPoller(p, e.vk.Targets(), sink, 1, 0)
	if sink.Len() != 1 {
		t.Fatalf("delivered %d", sink.Len())
	}
	mfs, _ := reg.Gather()
	var malformed float64
	for _, mf := range mfs {
		if mf.GetName() == "otklik_collector_errors_total" {
			for _, m := range mf.Metric {
				for _, l := range m.Label {
					if l.GetName() == "reason" && l.GetValue() == collectors.ReasonMalformed {
						malformed += m.Counter.GetValue()
					}
				}
			}
		}
	}
	if malformed != 2 {
		t.Errorf("malformed errors counted: %v, want 2", malformed)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "collector source failing"); n != 1 {
		t.Errorf("failure logged %d times, want once:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "test-token") {
		t.Error("token in logs")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
