package ok

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
	"github.com/otklik/otklik/collectors/collectortest"
)

func TestSign(t *testing.T) {
	p := url.Values{"application_key": {"CBAFOO"}, "method": {"mediatopic.getTopics"}, "format": {"json"},
		"gid": {"42"}, "count": {"20"}, "access_token": {"tkn"}}
	// Expected value computed independently (Python hashlib) from the documented algorithm.
	if got := sign(p, "tkn", "appsecret"); got != "4c52938a963c47f3fde152e671fa6bfe" {
		t.Fatalf("sig = %s", got)
	}
}

func TestParseTopicsAndComments(t *testing.T) {
	r, err := parseTopics(collectortest.Testdata(t, "topics.json"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 11, 29, 8, 0, 0, 0, time.UTC)
	p := topicPublication(r.MediaTopics[0], "53038939046008", &r, "ok:group:53038939046008", now)
	if p.ID != "ok:53038939046008_155030787520000" || p.Author.Name != "Галина Соколова" ||
		p.Text != "Во дворе дома на Московской, 5 неделю не убирают снег" || p.Engagement.Comments != 2 ||
		len(p.Attachments) != 2 || p.Attachments[1].URL != "https://saratov.gov.ru/" ||
		!p.PublishedAt.Equal(time.UnixMilli(1764400200000)) || p.URL != "https://ok.ru/group/53038939046008/topic/155030787520000" {
		t.Errorf("topic: %+v", p)
	}
	g := topicPublication(r.MediaTopics[1], "53038939046008", &r, "s", now)
	if g.Author.Name != "Энгельс | Новости" || g.Author.Followers != 38211 {
		t.Errorf("group author: %+v", g.Author)
	}
	c, err := parseComments(collectortest.Testdata(t, "comments.json"))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Moscow")
	d, err := parseDate(c.Comments[0].Date, loc)
	if err != nil || !d.Equal(time.Date(2025, 11, 29, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("Moscow 10:30 → %v (%v), want 07:30 UTC", d, err)
	}
	if _, err := parseDate("29.11.2025 10:30", loc); !errors.Is(err, collectors.ErrMalformed) {
		t.Errorf("bad date: %v", err)
	}
	if _, err := parseTopics(collectortest.Testdata(t, "truncated.json")); !errors.Is(err, collectors.ErrMalformed) {
		t.Errorf("truncated: %v", err)
	}
}

// fakeOK is an in-memory OK that checks every signature.
type fakeOK struct {
	mu       sync.Mutex
	t        *testing.T
	topics   map[string][]topicRec // gid → newest first
	comments map[string][]comment  // topic → oldest first
	next     []string              // raw bodies (testdata names) to answer next
	calls    map[string]int
	quota    string
}

type topicRec struct {
	id, text string
	created  int64
}

func (f *fakeOK) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.ParseForm()
	p := r.PostForm
	method := p.Get("method")
	f.calls[method]++
	if got, want := p.Get("sig"), sign(p, "tkn", "appsecret"); got != want || p.Get("access_token") != "tkn" || p.Get("application_key") != "CBAFOO" {
		w.Header().Set("Content-Type", "application/json")
		w.Write(collectortest.Testdata(f.t, "error_104.json"))
		return
	}
	if len(f.next) > 0 {
		name := f.next[0]
		f.next = f.next[1:]
		if strings.HasSuffix(name, ".html") {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
		} else {
			w.Header().Set("Content-Type", "application/json;charset=utf-8")
		}
		w.Write(collectortest.Testdata(f.t, name))
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	enc := json.NewEncoder(w)
	switch method {
	case "users.getCallsLeft":
		w.Write(collectortest.Testdata(f.t, f.quota))
	case "mediatopic.getTopics":
		gid := p.Get("gid")
		var out []map[string]any
		for _, tp := range f.topics[gid] {
			out = append(out, map[string]any{
				"id": tp.id, "created_ms": tp.created, "author_ref": "user:1", "owner_ref": "group:" + gid,
				"media":              []any{map[string]any{"type": "text", "text": tp.text}},
				"discussion_summary": map[string]any{"comments_count": len(f.comments[tp.id])},
				"like_summary":       map[string]any{"count": 0}, "reshare_summary": map[string]any{"count": 0},
			})
		}
		enc.Encode(map[string]any{"media_topics": out, "entities": map[string]any{"users": []any{map[string]any{"uid": "1", "ref": "user:1", "name": "Житель"}}}, "has_more": false})
	case "discussions.getComments":
		cs, ok := f.comments[p.Get("discussionId")]
		if !ok {
			w.Write(collectortest.Testdata(f.t, "error_300.json"))
			return
		}
		// Newest first, pages of 2 with a numeric anchor.
		var rev []comment
		for i := len(cs) - 1; i >= 0; i-- {
			rev = append(rev, cs[i])
		}
		off := 0
		fmt.Sscan(p.Get("anchor"), &off)
		end := min(off+2, len(rev))
		enc.Encode(map[string]any{"comments": rev[off:end], "anchor": fmt.Sprint(end), "has_more": end < len(rev)})
	case "users.getInfo":
		var out []userInfo
		for _, id := range strings.Split(p.Get("uids"), ",") {
			out = append(out, userInfo{UID: id, Name: "Пользователь " + id})
		}
		enc.Encode(out)
	default:
		fmt.Fprint(w, `{"error_code":3,"error_msg":"METHOD : unknown"}`)
	}
}

func newTest(t *testing.T) (*fakeOK, *OK, *collectortest.Clock) {
	f := &fakeOK{t: t, topics: map[string][]topicRec{}, comments: map[string][]comment{}, calls: map[string]int{}, quota: "calls_left.json"}
	srv := collectortest.Server(t, f)
	clk := collectortest.NewClock(time.Date(2025, 11, 29, 9, 0, 0, 0, time.UTC))
	o, err := New(Config{BaseURL: srv.URL + "/fb.do", AppKey: "CBAFOO", AppSecret: "appsecret", Token: "tkn",
		Groups: []string{"42"}, RequestsPerSecond: 1000}, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	return f, o, clk
}

func describe(ps []otklik.Publication) string {
	var s []string
	for _, p := range ps {
		d := string(p.Kind) + ":" + p.PostID
		if p.Deleted {
			d += "(deleted)"
		}
		if !p.EditedAt.IsZero() {
			d += "(edited)"
		}
		if p.Author.Name != "" {
			d += "[" + p.Author.Name + "]"
		}
		s = append(s, d)
	}
	return strings.Join(s, " ")
}

func msk(clk *collectortest.Clock, d time.Duration) string {
	loc, _ := time.LoadLocation("Europe/Moscow")
	return clk.Now().Add(d).In(loc).Format(commentDate)
}

func TestGroupLifecycle(t *testing.T) {
	f, o, clk := newTest(t)
	now := clk.Now()
	f.topics["42"] = []topicRec{{"t2", "снег не убран", now.Add(-time.Hour).UnixMilli()}, {"t1", "старое", now.Add(-48 * time.Hour).UnixMilli()}}
	f.comments["t2"] = []comment{
		{ID: "c1", AuthorID: "7", Date: msk(clk, -50*time.Minute), Text: "да"},
		{ID: "c2", AuthorID: "8", AuthorName: "Павел", Date: msk(clk, -40*time.Minute), Text: "и у нас", ReplyToCommentID: "c1"},
		{ID: "c3", AuthorID: "7", Date: msk(clk, -40*time.Minute), Text: "ещё"},
	}
	fetch := o.Targets()[0].Fetch
	pubs, cur := collectortest.Drain(t, fetch, "")
	if got := describe(pubs); got != "post:t2[Житель] comment:c3[Пользователь 7] comment:c2[Павел] comment:c1[Пользователь 7]" {
		t.Fatalf("first poll: %s", got)
	}
	for _, p := range pubs {
		if p.PostID == "c2" && (p.ReplyTo != "c1" || p.ParentID != "t2") {
			t.Errorf("reply: %+v", p)
		}
		if p.PostID == "c1" && !p.PublishedAt.Equal(now.Add(-50*time.Minute)) {
			t.Errorf("comment date %v, want %v", p.PublishedAt, now.Add(-50*time.Minute))
		}
	}
	if pubs, cur = collectortest.Drain(t, fetch, cur); len(pubs) != 0 {
		t.Fatalf("idle poll: %s", describe(pubs))
	}
	// Same-second comment, a new topic, an edit.
	f.comments["t2"] = append(f.comments["t2"], comment{ID: "c4", AuthorID: "9", Date: msk(clk, -40*time.Minute), Text: "тоже в ту же секунду"})
	f.topics["42"] = append([]topicRec{{"t3", "новая тема", now.UnixMilli()}}, f.topics["42"]...)
	f.topics["42"][1].text = "снег не убран (дополнено)"
	pubs, cur = collectortest.Drain(t, fetch, cur)
	if got := describe(pubs); got != "post:t3[Житель] post:t2(edited)[Житель] comment:c4[Пользователь 9]" {
		t.Fatalf("second poll: %s", got)
	}
	// Deletion: t2 disappears from the feed.
	f.topics["42"] = append(f.topics["42"][:1], f.topics["42"][2:]...)
	if pubs, _ = collectortest.Drain(t, fetch, cur); describe(pubs) != "post:t2(deleted)" {
		t.Fatalf("deletion: %s", describe(pubs))
	}
	if f.calls["users.getCallsLeft"] != 1 {
		t.Errorf("users.getCallsLeft called %d times within quota_check, want 1", f.calls["users.getCallsLeft"])
	}
}

func TestRestartMidSourceAndDeletedTopic(t *testing.T) {
	f, o, _ := newTest(t)
	now := time.Now()
	_ = now
	f.topics["42"] = []topicRec{{"t1", "a", time.Date(2025, 11, 29, 8, 0, 0, 0, time.UTC).UnixMilli()}, {"t2", "b", time.Date(2025, 11, 29, 7, 0, 0, 0, time.UTC).UnixMilli()}}
	f.comments["t1"] = []comment{{ID: "x", AuthorID: "1", Date: "2025-11-29 11:10:00", Text: "c"}}
	f.comments["t2"] = []comment{{ID: "y", AuthorID: "1", Date: "2025-11-29 11:20:00", Text: "c"}}
	fetch := o.Targets()[0].Fetch
	page, err := fetch(context.Background(), "")
	if err != nil || !page.More || len(page.Publications) != 2 {
		t.Fatalf("first page: %v %v %s", err, page.More, describe(page.Publications))
	}
	// Restart: a new collector resumes the pending comment reads; t2 was deleted meanwhile.
	delete(f.comments, "t2")
	o2, _ := New(o.cfg, WithClock(o.now))
	rest, _ := collectortest.Drain(t, o2.Targets()[0].Fetch, page.Cursor)
	if got := describe(rest); got != "comment:x[Житель] post:t2(deleted)" && got != "comment:x[Пользователь 1] post:t2(deleted)" {
		t.Fatalf("after restart: %s", got)
	}
}

func TestErrors(t *testing.T) {
	for _, tt := range []struct {
		file, reason string
	}{
		{"error_102.json", collectors.ReasonAuth},
		{"error_104.json", collectors.ReasonAuth},
		{"error_11.json", collectors.ReasonQuota},
		{"error_8.json", collectors.ReasonRateLimit},
		{"error_2.json", collectors.ReasonUnavailable},
		{"bad_gateway.html", collectors.ReasonUnavailable},
		{"truncated.json", collectors.ReasonMalformed},
		{"calls_left_spent.json", collectors.ReasonQuota},
	} {
		t.Run(tt.file, func(t *testing.T) {
			f, o, _ := newTest(t)
			if tt.file == "calls_left_spent.json" {
				f.quota = tt.file
			} else {
				f.next = []string{"calls_left.json", tt.file}
			}
			_, err := o.Targets()[0].Fetch(context.Background(), "")
			if got := collectors.Reason(err); got != tt.reason {
				t.Fatalf("reason %s (%v), want %s", got, err, tt.reason)
			}
			var rl *collectors.RateLimitError
			if tt.file == "calls_left_spent.json" && (!errors.As(err, &rl) || rl.RetryAfter != 10*time.Minute) {
				t.Errorf("quota wait: %v", err)
			}
			if strings.Contains(err.Error(), "tkn") || strings.Contains(err.Error(), "appsecret") {
				t.Errorf("secret in error: %v", err)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for i, mut := range []func(*Config){
		func(c *Config) { c.Groups = []string{"1"} },
		func(c *Config) { c.AppKey, c.AppSecret, c.Token, c.Groups = "k", "s", "t", []string{"1", "1"} },
		func(c *Config) { c.Timezone = "Mars/Olympus" },
		func(c *Config) { c.TopicsPerCall = 500 },
		func(c *Config) { c.BaseURL = "::" },
	} {
		c := DefaultConfig()
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("case %d validated", i)
		}
	}
}
