package vk

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
	"github.com/otklik/otklik/collectors/collectortest"
)

// handlerTransport serves requests in-process from a handler: the simulation runs on a
// virtual clock, so no real network and no real waiting are involved.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// virtualLimiter is collectors.Limiter on the virtual clock: instead of sleeping, Wait
// moves the clock to the moment the token allows the call.
type virtualLimiter struct {
	l   *collectors.Limiter
	clk *collectortest.Clock
}

func (v *virtualLimiter) Wait(ctx context.Context) error { v.clk.Add(v.l.Reserve()); return ctx.Err() }
func (v *virtualLimiter) Pause(d time.Duration)          { v.l.Pause(d) }

type simResult struct {
	postP50, postP95, postMax time.Duration
	commentP95                time.Duration
	posts, comments           int
	requests                  int
	calls                     map[string]int
	maxPerSecond              int
}

// simulate polls 1,000 communities with one user token (3 requests/s) for the given
// virtual duration, scheduling targets exactly as collectors.Poller does (first polls
// spread over one interval, More fetched at once, then one interval's sleep), while
// `posts` posts appear at random times and random communities, 30 % of them getting a
// comment and 10 % a thread reply a few minutes later.
func simulate(t *testing.T, communities, posts int, horizon time.Duration) simResult {
	start := time.Date(2025, 12, 1, 8, 0, 0, 0, time.UTC)
	clk := collectortest.NewClock(start)
	fake := newFakeVK(clk.Now)
	walls := make([]int, communities)
	for i := range walls {
		walls[i] = -(i + 1)
		fake.addPost(walls[i], "old post", start.Add(-30*24*time.Hour))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range posts {
		owner := walls[rng.IntN(len(walls))]
		at := start.Add(10*time.Minute + time.Duration(rng.Int64N(int64(horizon-20*time.Minute))))
		at = at.Truncate(time.Second)
		withComment, withReply := rng.Float64() < 0.3, rng.Float64() < 0.33
		cAt := at.Add(time.Duration(1+rng.IntN(5)) * time.Minute)
		fake.schedule(at, func() {
			id := fake.addPost(owner, "новый пост", at)
			if withComment {
				fake.schedule(cAt, func() {
					c := fake.addComment(owner, id, 0, "комментарий", cAt)
					if withReply {
						fake.schedule(cAt.Add(time.Minute), func() { fake.addComment(owner, id, c, "ответ", cAt.Add(time.Minute)) })
					}
				})
			}
		})
	}
	lim := &virtualLimiter{l: collectors.NewLimiterClock(3, 1, clk.Now), clk: clk}
	v, err := New(Config{Walls: walls, Token: "t", TokenKind: TokenUser, BaseURL: "http://vk.test/method/"},
		WithHTTPClient(&http.Client{Transport: handlerTransport{fake}}), WithClock(clk.Now), WithLimiter(lim))
	if err != nil {
		t.Fatal(err)
	}
	targets := v.Targets()
	type state struct {
		due    time.Time
		cursor string
	}
	st := make([]state, len(targets))
	for i, tg := range targets {
		st[i].due = start.Add(tg.Interval * time.Duration(i) / time.Duration(len(targets)))
	}
	const apiLatency = 300 * time.Millisecond // request round trip, not charged to the token
	var postLat, commentLat []time.Duration
	seen := map[string]bool{}
	end := start.Add(horizon)
	for {
		i := 0
		for k := range st {
			if st[k].due.Before(st[i].due) {
				i = k
			}
		}
		if st[i].due.After(end) {
			break
		}
		if clk.Now().Before(st[i].due) {
			clk.Add(st[i].due.Sub(clk.Now()))
		}
		page, err := targets[i].Fetch(context.Background(), st[i].cursor)
		if err != nil {
			t.Fatalf("fetch %s: %v", targets[i].Key, err)
		}
		detected := clk.Now().Add(apiLatency)
		for _, p := range page.Publications {
			if seen[p.ID] || p.Text == "old post" {
				continue
			}
			seen[p.ID] = true
			if p.Kind == otklik.Post {
				postLat = append(postLat, detected.Sub(p.PublishedAt))
			} else {
				commentLat = append(commentLat, detected.Sub(p.PublishedAt))
			}
		}
		if page.Cursor != "" {
			st[i].cursor = page.Cursor
		}
		if page.More {
			st[i].due = clk.Now()
		} else {
			st[i].due = clk.Now().Add(targets[i].Interval)
		}
	}
	req, calls := fake.stats()
	res := simResult{posts: len(postLat), comments: len(commentLat), requests: req, calls: calls}
	sort.Slice(postLat, func(a, b int) bool { return postLat[a] < postLat[b] })
	sort.Slice(commentLat, func(a, b int) bool { return commentLat[a] < commentLat[b] })
	pct := func(xs []time.Duration, p float64) time.Duration {
		if len(xs) == 0 {
			return 0
		}
		return xs[min(len(xs)-1, int(p*float64(len(xs))))]
	}
	res.postP50, res.postP95 = pct(postLat, .5), pct(postLat, .95)
	if len(postLat) > 0 {
		res.postMax = postLat[len(postLat)-1]
	}
	res.commentP95 = pct(commentLat, .95)
	// The most requests the fake saw in any one-second window.
	times := slices.Clone(fake.times)
	for a, b := 0, 0; b < len(times); b++ {
		for times[b].Sub(times[a]) >= time.Second {
			a++
		}
		res.maxPerSecond = max(res.maxPerSecond, b-a+1)
	}
	return res
}

// TestSimulation1000Communities measures, on a virtual clock, how long a new post waits
// before it is collected (goal: p95 ≤ 5 min; the regulation allows 30 min from
// publication to routing) and what 1,000 new posts cost in API requests.
func TestSimulation1000Communities(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("simulation skipped in -short and -race modes (it is single-threaded; run: go test -run Simulation -v ./collectors/vk/)")
	}
	const horizon = 60 * time.Minute
	idle := simulate(t, 1000, 0, horizon)
	busy := simulate(t, 1000, 1000, horizon)
	t.Logf("1,000 communities, 1 user token at 3 req/s, wall interval 1 min, %s simulated", horizon)
	t.Logf("posts collected: %d; wait p50 %s, p95 %s, max %s", busy.posts, busy.postP50, busy.postP95, busy.postMax)
	t.Logf("comments and replies collected: %d; wait p95 %s", busy.comments, busy.commentP95)
	t.Logf("requests: %d with 1,000 posts, %d idle; 1,000 posts (and their %d comments) cost %d extra requests (%.3f per post); inner calls %v",
		busy.requests, idle.requests, busy.comments, busy.requests-idle.requests,
		float64(busy.requests-idle.requests)/1000, busy.calls)
	t.Logf("most requests in any one second: %d", busy.maxPerSecond)
	if busy.posts != 1000 {
		t.Errorf("collected %d of 1000 posts", busy.posts)
	}
	if busy.postP95 > 5*time.Minute {
		t.Errorf("p95 wait %s > 5 min", busy.postP95)
	}
	if busy.maxPerSecond > 3 || idle.maxPerSecond > 3 {
		t.Errorf("rate limit exceeded: %d requests in one second", max(busy.maxPerSecond, idle.maxPerSecond))
	}
}
