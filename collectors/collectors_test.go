package collectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/prometheus/client_golang/prometheus"
)

// memSink records deliveries; failN makes the first N deliveries fail.
type memSink struct {
	mu    sync.Mutex
	pubs  []otklik.Publication
	failN int
	delay time.Duration
}

func (s *memSink) Deliver(ctx context.Context, pubs []otklik.Publication) error {
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failN > 0 {
		s.failN--
		return errors.New("bus down")
	}
	s.pubs = append(s.pubs, pubs...)
	return nil
}

func (s *memSink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, p := range s.pubs {
		ids = append(ids, p.ID)
	}
	return ids
}

func testConfig() PollerConfig {
	return PollerConfig{Interval: 5 * time.Millisecond, Timeout: time.Second,
		BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond, MaxPages: 10}
}

func post(id int) otklik.Publication {
	return otklik.Publication{Network: otklik.VK, Owner: "-1", PostID: fmt.Sprint(id), Kind: otklik.Post, Text: "t"}
}

// counterFetch serves posts 1..n, two per page, cursor = last id; it fails as scripted.
type counterFetch struct {
	n      int
	calls  atomic.Int64
	script map[int64]error // call number → error
}

func (f *counterFetch) fetch(ctx context.Context, cursor string) (Page, error) {
	call := f.calls.Add(1)
	if err := f.script[call]; err != nil {
		return Page{}, err
	}
	last := 0
	if cursor != "" {
		fmt.Sscan(cursor, &last)
	}
	var page Page
	for id := last + 1; id <= f.n && id <= last+2; id++ {
		page.Publications = append(page.Publications, post(id))
		page.Cursor = fmt.Sprint(id)
	}
	page.More = last+2 < f.n
	return page, nil
}

func runUntil(t *testing.T, p *Poller, targets []Target, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, targets) }()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestPollerDeliversPagesAndResumesAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "collectors.db")
	pos, err := OpenPositions(path)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	reg := prometheus.NewPedanticRegistry()
	p, err := NewPoller(testConfig(), sink, pos, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	f := &counterFetch{n: 5}
	tg := Target{Source: Source{Network: otklik.VK, Kind: "wall", Key: "vk:wall:-1"}, Fetch: f.fetch}
	runUntil(t, p, []Target{tg}, func() bool { return len(sink.ids()) >= 5 })
	if got := strings.Join(sink.ids(), ","); got != "vk:-1_1,vk:-1_2,vk:-1_3,vk:-1_4,vk:-1_5" {
		t.Fatalf("delivered %s", got)
	}
	if got := value(p.m.Publications.WithLabelValues("vk", "wall")); got != 5 {
		t.Errorf("publications metric = %v, want 5", got)
	}
	if err := pos.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: a new process opens the same file; posts 6 and 7 appeared meanwhile.
	pos, err = OpenPositions(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pos.Close()
	if cur, _ := pos.Load(context.Background(), "vk:wall:-1"); cur != "5" {
		t.Fatalf("persisted cursor = %q, want 5", cur)
	}
	sink2 := &memSink{}
	p2, err := NewPoller(testConfig(), sink2, pos, nil, prometheus.NewPedanticRegistry())
	if err != nil {
		t.Fatal(err)
	}
	f.n = 7
	runUntil(t, p2, []Target{tg}, func() bool { return len(sink2.ids()) >= 2 })
	time.Sleep(20 * time.Millisecond)
	if got := strings.Join(sink2.ids(), ","); got != "vk:-1_6,vk:-1_7" {
		t.Fatalf("after restart delivered %s, want only 6 and 7", got)
	}
}

func TestPollerDeliveryFailureKeepsPosition(t *testing.T) {
	sink := &memSink{failN: 2}
	pos := NewMemPositions()
	p, err := NewPoller(testConfig(), sink, pos, nil, prometheus.NewPedanticRegistry())
	if err != nil {
		t.Fatal(err)
	}
	f := &counterFetch{n: 2}
	tg := Target{Source: Source{Network: otklik.VK, Kind: "wall", Key: "k"}, Fetch: f.fetch}
	runUntil(t, p, []Target{tg}, func() bool { return len(sink.ids()) >= 2 })
	if got := strings.Join(sink.ids(), ","); got != "vk:-1_1,vk:-1_2" {
		t.Fatalf("delivered %s", got)
	}
	if got := value(p.m.Errors.WithLabelValues("vk", "wall", ReasonDeliver)); got != 2 {
		t.Errorf("deliver errors = %v, want 2", got)
	}
}

func TestPollerErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		reason     string
		result     string
		disabled   float64
		wantPosts  int
		wantLogged string
	}{
		{"rate limit", &RateLimitError{RetryAfter: time.Millisecond}, ReasonRateLimit, ResultRateLimited, 0, 2, "collector source failing"},
		{"auth", &AuthError{Err: errors.New("vk error 5")}, ReasonAuth, ResultAuthError, 1, 0, "collector source disabled"},
		{"malformed", fmt.Errorf("%w: <html>", ErrMalformed), ReasonMalformed, ResultError, 0, 2, "collector source failing"},
		{"timeout", context.DeadlineExceeded, ReasonTimeout, ResultError, 0, 2, "collector source failing"},
		{"server", fmt.Errorf("%w: HTTP 502", ErrUnavailable), ReasonUnavailable, ResultError, 0, 2, "collector source failing"},
		{"panic", nil, ReasonMalformed, ResultError, 0, 2, "collector source failing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			var mu sync.Mutex
			logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
			sink := &memSink{}
			p, err := NewPoller(testConfig(), sink, NewMemPositions(), logger, prometheus.NewPedanticRegistry())
			if err != nil {
				t.Fatal(err)
			}
			f := &counterFetch{n: 2, script: map[int64]error{1: tt.err, 2: tt.err}}
			fetch := f.fetch
			if tt.name == "panic" {
				fetch = func(ctx context.Context, c string) (Page, error) {
					if f.calls.Load() < 2 {
						f.calls.Add(1)
						var m map[string]int
						m["x"] = 1 // nil map write panics
					}
					return f.fetch(ctx, c)
				}
				f.script = nil
			}
			tg := Target{Source: Source{Network: otklik.OK, Kind: "feed", Key: "k"}, Fetch: fetch}
			runUntil(t, p, []Target{tg}, func() bool {
				if tt.disabled > 0 {
					return value(p.m.SourcesDisabled.WithLabelValues("ok", "feed")) == 1
				}
				return len(sink.ids()) >= tt.wantPosts
			})
			if tt.disabled > 0 {
				time.Sleep(20 * time.Millisecond)
				if n := f.calls.Load(); n != 1 {
					t.Errorf("auth error: %d fetches, want polling stopped after 1", n)
				}
			}
			wantErrs := 2.0
			if tt.disabled > 0 {
				wantErrs = 1
			}
			if got := value(p.m.Errors.WithLabelValues("ok", "feed", tt.reason)); got != wantErrs {
				t.Errorf("errors{reason=%s} = %v, want %v", tt.reason, got, wantErrs)
			}
			if got := value(p.m.Requests.WithLabelValues("ok", "feed", tt.result)); got != wantErrs {
				t.Errorf("requests{result=%s} = %v, want %v", tt.result, got, wantErrs)
			}
			mu.Lock()
			out := logs.String()
			mu.Unlock()
			if n := strings.Count(out, tt.wantLogged); n != 1 {
				t.Errorf("%q logged %d times, want once:\n%s", tt.wantLogged, n, out)
			}
		})
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestPollerInvalidPublicationCountedNotDelivered(t *testing.T) {
	sink := &memSink{}
	p, _ := NewPoller(testConfig(), sink, NewMemPositions(), nil, prometheus.NewPedanticRegistry())
	var calls atomic.Int64
	fetch := func(ctx context.Context, c string) (Page, error) {
		if calls.Add(1) > 1 {
			return Page{}, nil
		}
		bad := post(1)
		bad.PostID = ""
		return Page{Publications: []otklik.Publication{bad, post(2)}, Cursor: "2"}, nil
	}
	tg := Target{Source: Source{Network: otklik.VK, Kind: "wall", Key: "k"}, Fetch: fetch}
	runUntil(t, p, []Target{tg}, func() bool { return len(sink.ids()) >= 1 })
	if got := value(p.m.Errors.WithLabelValues("vk", "wall", ReasonMalformed)); got != 1 {
		t.Errorf("malformed = %v, want 1", got)
	}
	if sink.pubs[0].Source != "k" {
		t.Errorf("source not stamped: %q", sink.pubs[0].Source)
	}
}

func TestPollerShutdownFinishesInFlightDelivery(t *testing.T) {
	started := make(chan struct{})
	sink := &startSink{memSink: memSink{delay: 50 * time.Millisecond}, started: started}
	pos := NewMemPositions()
	p, _ := NewPoller(testConfig(), sink, pos, nil, prometheus.NewPedanticRegistry())
	f := &counterFetch{n: 1}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, []Target{{Source: Source{Network: otklik.VK, Kind: "wall", Key: "k"}, Fetch: f.fetch}})
	}()
	<-started // a delivery is in flight
	cancel()
	<-done
	if len(sink.ids()) != 1 {
		t.Fatalf("in-flight delivery lost at shutdown")
	}
	if c, _ := pos.Load(context.Background(), "k"); c != "1" {
		t.Fatalf("position after shutdown = %q, want 1", c)
	}
}

// startSink closes started when the first delivery begins.
type startSink struct {
	memSink
	started chan struct{}
	once    sync.Once
}

func (s *startSink) Deliver(ctx context.Context, pubs []otklik.Publication) error {
	s.once.Do(func() { close(s.started) })
	return s.memSink.Deliver(ctx, pubs)
}

func TestRunRejectsBadTargets(t *testing.T) {
	p, _ := NewPoller(testConfig(), &memSink{}, NewMemPositions(), nil, nil)
	fetch := func(context.Context, string) (Page, error) { return Page{}, nil }
	src := Source{Network: otklik.VK, Kind: "wall", Key: "a"}
	for name, ts := range map[string][]Target{
		"dup":      {{Source: src, Fetch: fetch}, {Source: src, Fetch: fetch}},
		"no fetch": {{Source: src}},
		"no key":   {{Source: Source{Network: otklik.VK, Kind: "wall"}, Fetch: fetch}},
		"network":  {{Source: Source{Network: "myspace", Kind: "wall", Key: "x"}, Fetch: fetch}},
	} {
		if err := p.Run(context.Background(), ts); err == nil {
			t.Errorf("%s: Run accepted bad targets", name)
		}
	}
}

func TestPollerConfigValidate(t *testing.T) {
	var c PollerConfig
	if err := c.Validate(); err == nil {
		t.Fatal("zero config validated")
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.BackoffMax = time.Millisecond
	if err := c.Validate(); err == nil {
		t.Fatal("backoff_max < backoff_min validated")
	}
	if _, err := NewPoller(c, &memSink{}, NewMemPositions(), nil, nil); err == nil {
		t.Fatal("NewPoller accepted invalid config")
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewLimiterClock(3, 1, func() time.Time { return now })
	var waits []time.Duration
	for range 4 {
		waits = append(waits, l.Reserve())
	}
	want := []time.Duration{0, 333333334, 666666668, time.Second + 2}
	for i := range want {
		if d := waits[i] - want[i]; d < -time.Millisecond || d > time.Millisecond {
			t.Fatalf("waits = %v, want ≈ %v", waits, want)
		}
	}
	now = now.Add(10 * time.Second) // idle: no credit beyond burst 1
	if d := l.Reserve(); d != 0 {
		t.Fatalf("after idle wait = %v", d)
	}
	if d := l.Reserve(); d < 300*time.Millisecond {
		t.Fatalf("second call after idle waited only %v", d)
	}
	now = now.Add(10 * time.Second)
	l.Pause(2 * time.Second)
	if d := l.Reserve(); d != 2*time.Second {
		t.Fatalf("paused wait = %v, want 2s", d)
	}

	burst := NewLimiterClock(20, 5, func() time.Time { return now })
	for i := range 5 {
		if d := burst.Reserve(); d != 0 {
			t.Fatalf("burst call %d waited %v", i, d)
		}
	}
	if d := burst.Reserve(); d <= 0 {
		t.Fatal("6th call of a burst of 5 did not wait")
	}
}

func TestLimiterWaitHonoursContext(t *testing.T) {
	l := NewLimiter(1, 1)
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want deadline exceeded", err)
	}
	var nilL *Limiter
	if d := nilL.Reserve(); d != 0 {
		t.Fatal("nil limiter waits")
	}
}

func TestSecretRedacts(t *testing.T) {
	type cfg struct{ Token Secret }
	c := cfg{Token: "vk1.a.SECRET"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "token", c.Token, "cfg", c)
	js, _ := json.Marshal(c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v %s %v", c, c, c.Token, c.Token), string(js), buf.String()} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("secret leaked: %s", s)
		}
	}
	if c.Token.Reveal() != "vk1.a.SECRET" {
		t.Error("Reveal lost the value")
	}
}

func TestReasonAndReadBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/429":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		case "/502":
			w.WriteHeader(502)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>nginx</html>")
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":1}`)
		}
	}))
	defer srv.Close()
	for path, want := range map[string]string{"/429": ReasonRateLimit, "/502": ReasonUnavailable, "/html": ReasonMalformed, "/ok": ""} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ReadBody(resp)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", path, err)
			}
			continue
		}
		if got := Reason(err); got != want {
			t.Errorf("%s: reason %s, want %s (%v)", path, got, want, err)
		}
		var rl *RateLimitError
		if path == "/429" && (!errors.As(err, &rl) || rl.RetryAfter != 7*time.Second) {
			t.Errorf("429 retry-after not honoured: %v", err)
		}
	}
	if Reason(errors.New("x")) != ReasonAPI {
		t.Error("unknown error not api")
	}
}

func TestPushCountsAndRejects(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	sink := &memSink{}
	push, err := NewPush(otklik.VK, "callback", sink, reg)
	if err != nil {
		t.Fatal(err)
	}
	// Same registry: the poller shares the metrics instead of failing to register.
	p, err := NewPoller(testConfig(), sink, NewMemPositions(), nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := push.Deliver(context.Background(), []otklik.Publication{post(1)}); err != nil {
		t.Fatal(err)
	}
	bad := post(2)
	bad.Network = ""
	if err := push.Deliver(context.Background(), []otklik.Publication{bad}); err == nil {
		t.Fatal("invalid publication accepted")
	}
	sink.failN = 1
	if err := push.Deliver(context.Background(), []otklik.Publication{post(3)}); err == nil {
		t.Fatal("delivery failure not returned")
	}
	if got := value(p.m.Publications.WithLabelValues("vk", "callback")); got != 1 {
		t.Errorf("publications = %v", got)
	}
	if got := value(p.m.Errors.WithLabelValues("vk", "callback", ReasonDeliver)); got != 1 {
		t.Errorf("deliver errors = %v", got)
	}
}

func TestDecodeCursor(t *testing.T) {
	type pos struct {
		After string         `json:"after"`
		Seen  map[string]int `json:"seen"`
	}
	for _, tt := range []struct {
		cursor  string
		want    pos
		partial string
	}{
		{"", pos{}, ""},
		{`{"after":"x","seen":{"a":1}}`, pos{After: "x", Seen: map[string]int{"a": 1}}, ""},
		{`{"after":"x","seen":`, pos{}, "malformed response: vk wall position: unexpected end of JSON input"},
		{`{"after":"x","seen":[1]}`, pos{}, "malformed response: vk wall position: "}, // half-decoded: reset
	} {
		var page Page
		got := DecodeCursor[pos](tt.cursor, "vk wall", &page)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%q: got %+v, want %+v", tt.cursor, got, tt.want)
		}
		switch {
		case tt.partial == "" && len(page.Partial) != 0:
			t.Errorf("%q: partial %v", tt.cursor, page.Partial)
		case tt.partial != "" && (len(page.Partial) != 1 || !errors.Is(page.Partial[0], ErrMalformed) ||
			!strings.HasPrefix(page.Partial[0].Error(), tt.partial)):
			t.Errorf("%q: partial %v, want %q…", tt.cursor, page.Partial, tt.partial)
		}
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if !Sleep(ctx, time.Millisecond) || !Sleep(ctx, 0) {
		t.Fatal("Sleep on a live context did not go on")
	}
	cancel()
	if Sleep(ctx, time.Hour) || Sleep(ctx, 0) {
		t.Fatal("Sleep on a cancelled context went on")
	}
}
