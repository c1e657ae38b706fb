package cases

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/pipeline"
	"github.com/otklik/otklik/pipeline/diskbus"
)

// fakeNow is the wall clock of a test.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) Now() time.Time      { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) Set(s string)        { f.mu.Lock(); f.t = at(s); f.mu.Unlock() }
func (f *fakeNow) SetTime(t time.Time) { f.mu.Lock(); f.t = t; f.mu.Unlock() }

type env struct {
	t     *testing.T
	svc   *Service
	bus   *diskbus.Bus
	store *BoltStore
	srv   *httptest.Server
	now   *fakeNow
	reg   *prometheus.Registry
	logs  *bytes.Buffer
	cfg   Config
}

var testUsers = []struct {
	name   string
	role   Role
	agency string
}{
	{"kurator", Curator, ""}, {"ivanov", Executor, "minstroy"}, {"petrov", Executor, "mintrans"},
	{"press", Representative, "minstroy"}, {"boss", Official, "minstroy"}, {"root", Admin, ""},
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	cfg := DefaultConfig()
	for _, u := range testUsers {
		cfg.Users = append(cfg.Users, User{Name: u.name, Role: u.role, Agency: u.agency, TokenSHA256: HashToken("tok-" + u.name)})
	}
	cfg.Officials = []string{"Заместитель председателя правительства области"}
	if mod != nil {
		mod(&cfg)
	}
	dir := t.TempDir()
	bus, err := diskbus.Open(dir+"/bus", diskbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenBoltStore(dir + "/cases")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, bus: bus, store: store, now: &fakeNow{t: at("2026-11-30 10:00")}, reg: prometheus.NewRegistry(), logs: &bytes.Buffer{}, cfg: cfg}
	e.svc, err = New(cfg, Deps{Logger: slog.New(slog.NewTextHandler(syncWriter{w: e.logs}, nil)), Registerer: e.reg,
		Clock: testClock(t), Store: store, Producer: bus, Now: e.now.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.svc.Handler())
	t.Cleanup(func() { e.srv.Close(); store.Close(); bus.Close() })
	return e
}

type syncWriter struct{ w io.Writer }

var logMu sync.Mutex

func (s syncWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return s.w.Write(p)
}

// run starts the consumer of classified publications until the test ends.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx, e.bus) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
	})
}

func (e *env) publish(ps ...*otklik.Publication) {
	e.t.Helper()
	for _, p := range ps {
		b, err := json.Marshal(p)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.bus.Produce(context.Background(), pipeline.Message{Topic: e.cfg.SourceTopic, Key: []byte(p.ID), Value: b}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// waitCase waits for the consumer to open case id.
func (e *env) waitCase(id string) View {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := e.store.Get(context.Background(), id); err == nil {
			return e.get("kurator", id).Case
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("case %s was not opened", id)
	return View{}
}

// call makes an API request as user and decodes the JSON answer into out (when not nil).
func (e *env) call(method, path, user string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if user != "" {
		req.Header.Set("Authorization", "Bearer tok-"+user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type caseAndHistory struct {
	Case    View    `json:"case"`
	History []Event `json:"history"`
}

func (e *env) get(user, id string) caseAndHistory {
	e.t.Helper()
	var out caseAndHistory
	if st := e.call("GET", "/api/v1/cases/"+url.PathEscape(id), user, nil, &out); st != 200 {
		e.t.Fatalf("GET %s as %s: %d", id, user, st)
	}
	return out
}

// act performs an action at the wall-clock time when, on the case's current version, and
// expects success.
func (e *env) act(when, user, id string, a Action, req Request) View {
	e.t.Helper()
	e.now.Set(when)
	if req.Version == 0 {
		req.Version = e.get("kurator", id).Case.Version
	}
	var out struct {
		Case View `json:"case"`
		Error
	}
	if st := e.call("POST", "/api/v1/cases/"+url.PathEscape(id)+"/"+string(a), user, req, &out); st != 200 {
		e.t.Fatalf("%s %s by %s at %s: %d %s", a, id, user, when, st, out.Message)
	}
	return out.Case
}

// refused performs an action expecting a refusal with status and code.
func (e *env) refused(user, id string, a Action, req Request, status int, code string) string {
	e.t.Helper()
	if req.Version == 0 {
		req.Version = e.get("kurator", id).Case.Version
	}
	var out Error
	if st := e.call("POST", "/api/v1/cases/"+url.PathEscape(id)+"/"+string(a), user, req, &out); st != status || out.Code != code {
		e.t.Fatalf("%s by %s: %d %q %q, want %d %s", a, user, st, out.Code, out.Message, status, code)
	}
	if !isRussian(out.Message) {
		e.t.Errorf("message not in Russian: %q", out.Message)
	}
	return out.Message
}

func (e *env) list(user, query string) (int, []View) {
	e.t.Helper()
	var out struct {
		Total int    `json:"total"`
		Cases []View `json:"cases"`
	}
	if st := e.call("GET", "/api/v1/cases?"+query, user, nil, &out); st != 200 {
		e.t.Fatalf("list %s: %d", query, st)
	}
	return out.Total, out.Cases
}

func dueIs(t *testing.T, what string, got time.Time, want string) {
	t.Helper()
	eq(t, what, got, at(want))
}

// checkHistory checks the audit trail: actions in order, each with who, when and why.
func checkHistory(t *testing.T, h []Event, want ...string) {
	t.Helper()
	var got []string
	for _, ev := range h {
		s := string(ev.Action) + ":" + ev.Actor.User
		got = append(got, s)
		if ev.At.IsZero() || ev.Actor.Role == "" {
			t.Errorf("event %s without time or role", ev.ID)
		}
		if (ev.Action == Return || ev.Action == SendBack || ev.Action == Close) && ev.Reason == "" {
			t.Errorf("event %s without reason", ev.ID)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("history:\n got  %s\n want %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}

// TestWholePath runs one publication through the whole path over the HTTP API, with the
// embedded bus: route, return, reroute, draft, send back, revise, approve, publish.
func TestWholePath(t *testing.T) {
	e := newEnv(t, nil)
	e.run()
	p := testPublication("vk:-1_100", "Третий день нет холодной воды на ул. Чапаева", at("2026-11-30 10:00"))
	e.now.Set("2026-11-30 10:02")
	e.publish(p, p) // twice: one case
	e.publish(&otklik.Publication{ID: "bad"})
	c := e.waitCase(p.ID)

	if c.Stage != Detected || c.Version != 1 || c.Topic != "housing" || c.Publication.Agency != "minstroy" || c.StageName != "ожидает распределения" {
		t.Fatalf("opened: %+v", c)
	}
	dueIs(t, "route due", c.Due, "2026-11-30 10:30")
	dueIs(t, "answer due", c.AnswerDue, "2026-12-01 11:00")
	dueIs(t, "draft due", c.DraftDue, "2026-11-30 16:00")

	// Unauthenticated, and an agency that has nothing to do with it yet.
	if st := e.call("GET", "/api/v1/cases", "", nil, nil); st != 401 {
		t.Errorf("no token: %d", st)
	}
	if st := e.call("GET", "/api/v1/cases/"+p.ID, "petrov", nil, nil); st != 404 {
		t.Errorf("petrov sees an unrouted case: %d", st)
	}
	if n, _ := e.list("petrov", ""); n != 0 {
		t.Errorf("petrov lists %d cases", n)
	}
	e.refused("petrov", p.ID, Route, Request{}, 404, "not_found")

	// Routed to the wrong agency, which returns it; rerouted.
	c = e.act("2026-11-30 10:10", "kurator", p.ID, Route, Request{Topic: "roads", Agencies: []string{"mintrans"}, Priority: otklik.High})
	if c.Stage != Routed || c.Agency != "mintrans" {
		t.Fatalf("routed: %+v", c)
	}
	dueIs(t, "draft due", c.Due, "2026-11-30 16:00")
	dueIs(t, "return due", c.ReturnDue, "2026-11-30 10:40")
	if n, _ := e.list("petrov", ""); n != 1 {
		t.Errorf("petrov lists %d cases after routing", n)
	}
	e.refused("ivanov", p.ID, Draft, Request{Text: "x"}, 404, "not_found")
	e.refused("petrov", p.ID, Return, Request{}, 400, "reason_required")
	c = e.act("2026-11-30 10:20", "petrov", p.ID, Return, Request{Reason: "Водоснабжение — не дороги"})
	if c.Stage != Returned || c.Agency != "" {
		t.Fatalf("returned: %+v", c)
	}
	dueIs(t, "reroute due", c.Due, "2026-11-30 10:50")
	c = e.act("2026-11-30 10:30", "kurator", p.ID, Route, Request{Topic: "housing", Agencies: []string{"minstroy"}})
	dueIs(t, "draft due", c.Due, "2026-11-30 16:00")
	e.refused("petrov", p.ID, Draft, Request{Text: "x"}, 403, "forbidden")

	// Draft over lunch, sent back, revised.
	c = e.act("2026-11-30 13:30", "ivanov", p.ID, Draft, Request{Text: "Проводится ремонт водовода"})
	dueIs(t, "review due", c.Due, "2026-11-30 14:30")
	e.refused("ivanov", p.ID, Approve, Request{}, 403, "forbidden")
	c = e.act("2026-11-30 14:10", "kurator", p.ID, SendBack, Request{Reason: "Укажите срок окончания работ"})
	if c.Stage != Revision {
		t.Fatalf("sent back: %s", c.Stage)
	}
	dueIs(t, "revision due", c.Due, "2026-11-30 15:10")
	c = e.act("2026-11-30 14:40", "ivanov", p.ID, Revise, Request{Text: "Ремонт водовода завершится 1 декабря к 12:00"})
	dueIs(t, "review due", c.Due, "2026-11-30 15:10")

	// Two curators approve at once: one wins, the other gets a version conflict.
	e.now.Set("2026-11-30 14:50")
	v := c.Version
	codes := make(chan int, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			codes <- e.call("POST", "/api/v1/cases/"+p.ID+"/approve", "kurator", Request{Version: v}, nil)
		})
	}
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[200] != 1 || got[409] != 1 {
		t.Fatalf("concurrent approvals: %v, want one 200 and one 409", got)
	}
	msg := e.refused("kurator", p.ID, Approve, Request{Version: v}, 409, "version_conflict")
	if !strings.Contains(msg, "изменено") {
		t.Errorf("conflict message %q", msg)
	}
	c = e.get("kurator", p.ID).Case
	dueIs(t, "publish due", c.Due, "2026-11-30 15:20")
	e.refused("petrov", p.ID, Publish, Request{}, 403, "forbidden")

	c = e.act("2026-11-30 15:00", "press", p.ID, Publish, Request{URL: "https://vk.com/wall-1_100?reply=7"})
	if c.Stage != Published || c.Answer == nil || c.Answer.URL == "" || len(c.Breaches) != 0 || c.Overdue {
		t.Fatalf("published: %+v", c)
	}
	e.refused("kurator", p.ID, Route, Request{}, 409, "invalid_transition")

	h := e.get("kurator", p.ID).History
	checkHistory(t, h, "open:system", "route:kurator", "return:petrov", "route:kurator", "draft:ivanov",
		"send_back:kurator", "revise:ivanov", "approve:kurator", "publish:press")
	if h[2].Reason != "Водоснабжение — не дороги" || h[2].From != Routed || h[2].To != Returned || !h[2].At.Equal(at("2026-11-30 10:20")) {
		t.Errorf("return event: %+v", h[2])
	}

	// Search.
	for q, want := range map[string]int{
		"stage=published": 1, "stage=detected,routed": 0, "agency=minstroy": 1, "agency=mintrans": 0,
		"overdue=false": 1, "overdue=true": 0, "open=true": 0, "q=холодной": 1, "topic=housing": 1,
	} {
		if n, _ := e.list("kurator", q); n != want {
			t.Errorf("list %s: %d, want %d", q, n, want)
		}
	}
	var er Error
	if st := e.call("GET", "/api/v1/cases?due_before=tomorrow", "kurator", nil, &er); st != 400 || !isRussian(er.Message) {
		t.Errorf("bad due_before: %d %q", st, er.Message)
	}

	// The bad record went to the dead-letter topic with its error.
	cons, err := e.bus.Consumer("test-dl", e.cfg.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dl, err := cons.Fetch(ctx)
	if err != nil || dl.Headers[pipeline.HeaderStage] != "cases" || dl.Headers[pipeline.HeaderError] == "" {
		t.Errorf("dead letter: %v %+v", err, dl.Headers)
	}
	cons.Close()
	if n := testutil.ToFloat64(e.svc.met.opened); n != 1 {
		t.Errorf("opened %v cases", n)
	}

	// The projection is rebuilt from the event topic alone.
	store2, err := OpenBoltStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	svc2, err := New(e.cfg, Deps{Clock: testClock(t), Store: store2, Producer: e.bus, Now: e.now.Now})
	if err != nil {
		t.Fatal(err)
	}
	n, err := svc2.Rebuild(context.Background(), e.bus, 500*time.Millisecond)
	if err != nil || n != len(h) {
		t.Fatalf("rebuild: %d events, %v; want %d", n, err, len(h))
	}
	c2, h2, err := svc2.Get(context.Background(), p.ID, curator)
	if err != nil || c2.Seq != c.Seq || c2.Stage != Published || len(h2) != len(h) {
		t.Errorf("rebuilt: %+v, %d events, %v", c2.Stage, len(h2), err)
	}
}

// TestTwoAgencies: the curator sets the order; the first contributes within 2 h, the last
// writes the joint answer.
func TestTwoAgencies(t *testing.T) {
	e := newEnv(t, nil)
	e.run()
	p := testPublication("vk:-1_200", "Около школы №5 яма и нет освещения", at("2026-11-30 09:00"))
	e.publish(p)
	e.waitCase(p.ID)
	c := e.act("2026-11-30 09:20", "kurator", p.ID, Route, Request{Topic: "roads", Location: "Саратов", Agencies: []string{"mintrans", "minstroy"}})
	dueIs(t, "contribution due", c.Due, "2026-11-30 11:20")
	if c.Agency != "mintrans" || c.Current != 0 {
		t.Fatalf("first agency: %+v", c)
	}
	if n, _ := e.list("ivanov", ""); n != 1 {
		t.Errorf("the second agency sees %d cases", n)
	}
	e.refused("ivanov", p.ID, Contribute, Request{Text: "x"}, 403, "forbidden")
	e.refused("petrov", p.ID, Draft, Request{Text: "x"}, 409, "invalid_transition")
	c = e.act("2026-11-30 11:00", "petrov", p.ID, Contribute, Request{Text: "Яму заделают до 5 декабря"})
	if c.Agency != "minstroy" || c.Current != 1 || len(c.Contributions) != 1 {
		t.Fatalf("second agency: %+v", c)
	}
	dueIs(t, "joint draft due", c.Due, "2026-11-30 15:00")
	if n, _ := e.list("kurator", "agency=minstroy&stage=routed"); n != 1 {
		t.Errorf("search by current agency: %d", n)
	}
	e.refused("ivanov", p.ID, Contribute, Request{Text: "x"}, 409, "invalid_transition")
	c = e.act("2026-11-30 14:30", "ivanov", p.ID, Draft, Request{Text: "Яму заделают до 5 декабря, освещение восстановят до 3 декабря"})
	c = e.act("2026-11-30 14:40", "kurator", p.ID, Approve, Request{})
	c = e.act("2026-11-30 15:00", "press", p.ID, Publish, Request{})
	if c.Stage != Published || len(c.Breaches) != 0 || c.Answer.Agency != "minstroy" {
		t.Fatalf("published: %+v", c)
	}
	checkHistory(t, e.get("petrov", p.ID).History, "open:system", "route:kurator", "contribute:petrov", "draft:ivanov", "approve:kurator", "publish:press")
}

// TestInterimThenFinal: an interim answer opens a final-answer deadline of 7 working days.
func TestInterimThenFinal(t *testing.T) {
	e := newEnv(t, nil)
	e.run()
	p := testPublication("vk:-1_300", "Когда отремонтируют крышу дома 12 на Московской?", at("2026-11-30 10:00"))
	e.publish(p)
	e.waitCase(p.ID)
	e.act("2026-11-30 10:10", "kurator", p.ID, Route, Request{})
	c := e.act("2026-11-30 15:00", "ivanov", p.ID, Draft, Request{Kind: Interim, Text: "Обращение принято, проводится обследование кровли"})
	e.act("2026-11-30 15:10", "kurator", p.ID, Approve, Request{})
	c = e.act("2026-11-30 15:20", "press", p.ID, Publish, Request{URL: "https://vk.com/wall-1_300?reply=1"})
	if c.Stage != AwaitingFinal || c.Interim == nil || c.Interim.Kind != Interim {
		t.Fatalf("after interim: %+v", c)
	}
	dueIs(t, "final due", c.FinalDue, "2026-12-09 18:00")
	dueIs(t, "final draft due", c.Due, "2026-12-09 14:00")
	if n, _ := e.list("kurator", "stage=awaiting_final&due_before=2026-12-10T00:00:00%2B04:00"); n != 1 {
		t.Errorf("due_before search: %d", n)
	}
	if n, _ := e.list("kurator", "due_before=2026-12-09T00:00:00%2B04:00"); n != 0 {
		t.Errorf("due_before search (earlier): %d", n)
	}
	e.refused("ivanov", p.ID, Draft, Request{Kind: Question, Text: "x"}, 400, "invalid_request")
	c = e.act("2026-12-08 11:00", "ivanov", p.ID, Draft, Request{Text: "Кровлю отремонтируют до 20 декабря, подрядчик определён"})
	e.act("2026-12-08 11:20", "kurator", p.ID, Approve, Request{})
	c = e.act("2026-12-08 11:30", "press", p.ID, Publish, Request{})
	if c.Stage != Published || c.Answer == nil || c.Answer.Kind != Answer || len(c.Breaches) != 0 {
		t.Fatalf("after final: %+v", c)
	}
	checkHistory(t, e.get("kurator", p.ID).History, "open:system", "route:kurator", "draft:ivanov", "approve:kurator", "publish:press",
		"draft:ivanov", "approve:kurator", "publish:press")
}

// TestRepeatedPublication: the same author about the same place and topic, or a
// near-identical text, within the window is linked to the earlier case, and its answer
// must report the measures taken. The same problem in another network is merged.
func TestRepeatedPublication(t *testing.T) {
	e := newEnv(t, nil)
	e.run()
	first := testPublication("vk:-1_400", "Во дворе дома 5 на Астраханской не вывозят мусор", at("2026-11-02 10:00"))
	first.Class.Topic, first.Class.Agency = "waste", ""
	e.now.Set("2026-11-02 10:00")
	e.publish(first)
	e.waitCase(first.ID)
	e.act("2026-11-02 10:10", "kurator", first.ID, Route, Request{})
	e.refused("kurator", first.ID, Route, Request{}, 409, "invalid_transition")

	// Same author, topic and place, other words, three weeks later.
	again := testPublication("vk:-1_500", "Опять никто не убирает контейнерную площадку!", at("2026-11-23 10:00"))
	again.Class.Topic, again.Class.Agency = "waste", ""
	// Near-identical text by someone else.
	copyCat := testPublication("vk:-1_600", "Во дворе дома 5 на Астраханской не вывозят мусор!!!", at("2026-11-23 11:00"))
	copyCat.Author = otklik.Author{ID: "77", Name: "Пётр"}
	copyCat.Class.Topic, copyCat.Class.Location = "waste", ""
	// Same author and topic, another place: not a repeat. Another author, outside the
	// window: not a repeat.
	other := testPublication("vk:-1_700", "В Энгельсе тоже не вывозят мусор", at("2026-11-23 12:00"))
	other.Class.Topic, other.Class.Location = "waste", "Энгельсский район"
	late := testPublication("vk:-1_800", "Во дворе дома 5 на Астраханской не вывозят мусор", at("2027-01-20 10:00"))
	late.Author.ID = "99"
	e.now.Set("2026-11-23 12:00")
	e.publish(again, copyCat, other)
	a := e.waitCase(again.ID)
	cc := e.waitCase(copyCat.ID)
	o := e.waitCase(other.ID)
	if a.RepeatOf != first.ID || cc.RepeatOf != first.ID || o.RepeatOf != "" {
		t.Fatalf("repeat_of: %q %q %q", a.RepeatOf, cc.RepeatOf, o.RepeatOf)
	}
	f := e.get("kurator", first.ID)
	if strings.Join(f.Case.RepeatedBy, ",") != again.ID+","+copyCat.ID {
		t.Errorf("repeated_by %v", f.Case.RepeatedBy)
	}
	checkHistory(t, f.History, "open:system", "route:kurator", "link_repeat:system", "link_repeat:system")
	e.now.Set("2027-01-20 10:00")
	e.publish(late)
	if l := e.waitCase(late.ID); l.RepeatOf != "" {
		t.Errorf("outside the window: repeat_of %q", l.RepeatOf)
	}

	// The answer to the repeat must report measures.
	e.act("2026-11-23 12:10", "kurator", again.ID, Route, Request{})
	e.refused("ivanov", again.ID, Draft, Request{Text: "Вывоз организован"}, 404, "not_found")
	e.refused("root", again.ID, Draft, Request{Text: "Вывоз организован"}, 400, "measures_required")
	c := e.act("2026-11-23 12:20", "root", again.ID, Draft, Request{Text: "Вывоз организован", Measures: "Региональному оператору выдано предписание, график вывоза — ежедневно"})
	if c.Draft.Measures == "" {
		t.Fatal("measures lost")
	}

	// The copy in another network is merged into the repeat.
	e.act("2026-11-23 12:30", "kurator", copyCat.ID, Merge, Request{Into: again.ID})
	m := e.get("kurator", copyCat.ID).Case
	a = e.get("kurator", again.ID).Case
	if m.Stage != Merged || m.MergedInto != again.ID || len(a.Merged) != 1 || a.Merged[0].ID != copyCat.ID {
		t.Errorf("merge: %s %s, merged %+v", m.Stage, m.MergedInto, a.Merged)
	}
	e.refused("kurator", other.ID, Merge, Request{Into: first.ID + "x"}, 400, "invalid_request")
}

// TestMonitor: due-soon and breach notifications (log and webhook), the gauges, breaches
// recorded once and reported.
func TestMonitor(t *testing.T) {
	var mu sync.Mutex
	var got []Notification
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n Notification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
	}))
	defer hook.Close()
	e := newEnv(t, func(c *Config) { c.Notify.Webhook = hook.URL; c.Notify.Lead = 20 * time.Minute })
	ctx := context.Background()
	p := testPublication("vk:-1_900", "Нет отопления в школе", at("2026-11-30 10:00"))
	e.now.Set("2026-11-30 10:00")
	if _, opened, err := e.svc.Open(ctx, p); err != nil || !opened {
		t.Fatalf("open: %v %v", opened, err)
	}
	if _, opened, _ := e.svc.Open(ctx, p); opened {
		t.Fatal("opened twice")
	}
	gauge := func(vec *prometheus.GaugeVec, stage, agency string) float64 {
		return testutil.ToFloat64(vec.WithLabelValues(stage, agency))
	}
	check := func(when string) {
		t.Helper()
		e.now.Set(when)
		if err := e.svc.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	check("2026-11-30 10:05")
	if gauge(e.svc.met.open, "detected", "none") != 1 || gauge(e.svc.met.dueSoon, "detected", "none") != 0 {
		t.Errorf("10:05: open/due soon wrong")
	}
	check("2026-11-30 10:15")
	check("2026-11-30 10:16")
	if gauge(e.svc.met.dueSoon, "detected", "none") != 1 || len(got) != 1 || got[0].Kind != "due_soon" {
		t.Fatalf("10:15: due soon %v, notifications %+v", gauge(e.svc.met.dueSoon, "detected", "none"), got)
	}
	if !strings.Contains(got[0].Text, "истекает 30.11.2026 10:30") || strings.Join(got[0].Recipients, ",") != "kurator" {
		t.Errorf("due-soon notification: %+v", got[0])
	}
	check("2026-11-30 10:31")
	check("2026-11-30 10:40")
	if gauge(e.svc.met.overdue, "detected", "none") != 1 || gauge(e.svc.met.dueSoon, "detected", "none") != 0 {
		t.Errorf("10:31: overdue gauge wrong")
	}
	if n := testutil.ToFloat64(e.svc.met.breaches.WithLabelValues("detected", "none")); n != 1 {
		t.Errorf("breaches_total{detected,none} = %v", n)
	}
	if len(got) != 2 || got[1].Kind != "breach" || got[1].Officials[0] == "" || !strings.Contains(got[1].Text, "нарушен срок") {
		t.Fatalf("breach notification: %+v", got)
	}
	c := e.get("kurator", p.ID).Case
	if len(c.Breaches) != 1 || c.Version != 1 || !c.Overdue {
		t.Errorf("breach recorded: %+v, version %d", c.Breaches, c.Version)
	}
	if n, _ := e.list("kurator", "overdue=true&agency=none"); n != 1 {
		t.Errorf("overdue search: %d", n)
	}
	// The breach did not change the version: the curator's view is still current.
	c = e.act("2026-11-30 10:45", "kurator", p.ID, Route, Request{Version: 1, Topic: "education", Agencies: []string{"minstroy"}})
	if c.Version != 2 || len(c.Breaches) != 1 {
		t.Errorf("route after breach: version %d, breaches %d", c.Version, len(c.Breaches))
	}
	check("2026-11-30 15:45")
	if gauge(e.svc.met.dueSoon, "routed", "minstroy") != 1 || got[len(got)-1].Kind != "due_soon" ||
		strings.Join(got[len(got)-1].Recipients, ",") != "kurator,ivanov,boss" {
		t.Errorf("routed due soon: %+v", got[len(got)-1])
	}
	// Nobody answers: the draft deadline, then the answer deadline pass.
	check("2026-12-01 11:01")
	check("2026-12-01 12:00")
	c = e.get("kurator", p.ID).Case
	if len(c.Breaches) != 3 || c.Breaches[1].Kind != "stage" || c.Breaches[2].Kind != "answer" || c.Breaches[2].Agency != "minstroy" {
		t.Errorf("breaches: %+v", c.Breaches)
	}
	if n := testutil.ToFloat64(e.svc.met.breaches.WithLabelValues("routed", "minstroy")); n != 2 {
		t.Errorf("breaches_total{routed,minstroy} = %v", n)
	}
	if n := testutil.ToFloat64(e.svc.met.notifications.WithLabelValues("breach", "ok")); n != 3 {
		t.Errorf("breach notifications ok = %v", n)
	}
	var rep struct {
		Officials []string      `json:"officials"`
		Breaches  []BreachEntry `json:"breaches"`
	}
	if st := e.call("GET", "/api/v1/cases/breaches?from=2026-11-01T00:00:00%2B04:00&to=2026-12-01T00:00:00%2B04:00", "kurator", nil, &rep); st != 200 || len(rep.Breaches) != 1 || len(rep.Officials) != 1 {
		t.Errorf("November breaches: %d %+v", st, rep)
	}
	if st := e.call("GET", "/api/v1/cases/breaches", "boss", nil, &rep); st != 200 || len(rep.Breaches) != 2 {
		t.Errorf("official's breaches: %d %+v", st, rep.Breaches)
	}
	if st := e.call("GET", "/api/v1/cases/breaches", "ivanov", nil, nil); st != 403 {
		t.Errorf("executor reads the breach report: %d", st)
	}
	h := e.get("kurator", p.ID).History
	checkHistory(t, h, "open:system", "breach:system", "route:kurator", "breach:system") // draft and answer deadlines in one event

	// A webhook that fails is counted, not fatal.
	hook.Close()
	e.act("2026-12-01 12:10", "ivanov", p.ID, Draft, Request{Text: "Отопление восстановлено"})
	check("2026-12-01 12:40")
	check("2026-12-01 12:41")
	if n := testutil.ToFloat64(e.svc.met.notifications.WithLabelValues("breach", "error")); n != 1 {
		t.Errorf("failed webhook counted %v", n)
	}
	if !strings.Contains(e.logs.String(), "webhook notification failed") {
		t.Error("failed webhook not logged")
	}
	if strings.Contains(e.logs.String(), "tok-") {
		t.Error("a token leaked into the logs")
	}
}

func TestBasicAuthAndBadBodies(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		h, err := hashPassword("секрет", 1000)
		if err != nil {
			t.Fatal(err)
		}
		c.Users = append(c.Users, User{Name: "olga", Role: Curator, PasswordHash: h})
	})
	ctx := context.Background()
	p := testPublication("vk:-1_1000", "Нет воды", at("2026-11-30 10:00"))
	if _, _, err := e.svc.Open(ctx, p); err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]int{"секрет": 200, "секрет1": 401} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/cases/"+p.ID, nil)
		req.SetBasicAuth("olga", pw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("basic auth %q: %d, want %d", pw, resp.StatusCode, want)
		}
	}
	var er Error
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/cases/"+p.ID+"/route", strings.NewReader(`{"version":1,"agency":"x"}`))
	req.Header.Set("Authorization", "Bearer tok-kurator")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&er)
	resp.Body.Close()
	if resp.StatusCode != 400 || !isRussian(er.Message) {
		t.Errorf("unknown field: %d %q", resp.StatusCode, er.Message)
	}
	var d Dictionary
	if st := e.call("GET", "/api/v1/cases/dictionary", "ivanov", nil, &d); st != 200 || len(d.Topics) != 16 || len(d.Agencies) != 12 ||
		len(d.Stages) != len(Stages()) || len(d.Actions) != 10 || d.Timers.Answer != 9*time.Hour {
		t.Errorf("dictionary: %d %+v", st, d)
	}
	for _, n := range append(append(d.Topics, d.Stages...), d.Actions...) {
		if !isRussian(n.Name) {
			t.Errorf("%s has no Russian name: %q", n.ID, n.Name)
		}
	}
	e.refused("kurator", p.ID, "delete", Request{}, 400, "invalid_request")
	e.refused("kurator", p.ID, Route, Request{Version: 7}, 409, "version_conflict")
	if st := e.call("GET", "/api/v1/cases/nope", "kurator", nil, &er); st != 404 || er.Code != "not_found" {
		t.Errorf("missing case: %d %+v", st, er)
	}
}

// TestProducerFailure: when the bus refuses the event, nothing is projected and the user
// gets an error; the case is unchanged.
func TestProducerFailure(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p := testPublication("vk:-1_1100", "Нет воды", at("2026-11-30 10:00"))
	if _, _, err := e.svc.Open(ctx, p); err != nil {
		t.Fatal(err)
	}
	e.svc.bus = failingProducer{}
	if _, err := e.svc.Do(ctx, p.ID, Route, Request{Version: 1}, curator); err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("route with a failing bus: %v", err)
	}
	if c, _ := e.store.Get(ctx, p.ID); c.Version != 1 || c.Stage != Detected {
		t.Errorf("case changed: %+v", c)
	}
	var er Error
	if st := e.call("POST", "/api/v1/cases/"+p.ID+"/route", "kurator", Request{Version: 1}, &er); st != 500 || !isRussian(er.Message) {
		t.Errorf("HTTP with a failing bus: %d %+v", st, er)
	}
}

type failingProducer struct{}

func (failingProducer) Produce(context.Context, ...pipeline.Message) error {
	return errors.New("broker down")
}

// TestProjectionCatchesUp: events another instance produced (or whose direct projection
// failed) reach the store through the projection consumer of Run.
func TestProjectionCatchesUp(t *testing.T) {
	e := newEnv(t, nil)
	e.run()
	other, err := OpenBoltStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	svc2, err := New(e.cfg, Deps{Clock: testClock(t), Store: other, Producer: e.bus, Now: e.now.Now})
	if err != nil {
		t.Fatal(err)
	}
	p := testPublication("vk:-1_1200", "Нет света в подъезде", at("2026-11-30 10:00"))
	if _, opened, err := svc2.Open(context.Background(), p); err != nil || !opened {
		t.Fatal(opened, err)
	}
	if _, err := svc2.Do(context.Background(), p.ID, Route, Request{Version: 1}, curator); err != nil {
		t.Fatal(err)
	}
	c := e.waitCase(p.ID)
	deadline := time.Now().Add(10 * time.Second)
	for c.Version != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		c = e.get("kurator", p.ID).Case
	}
	if c.Stage != Routed || c.Version != 2 {
		t.Fatalf("projected: %s v%d", c.Stage, c.Version)
	}
	checkHistory(t, e.get("kurator", p.ID).History, "open:system", "route:kurator")
}

// TestMonthlyReport: per-agency timeliness and breaches for point 18.
func TestMonthlyReport(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	open := func(id, when string) {
		e.now.Set(when)
		if _, _, err := e.svc.Open(ctx, testPublication(id, "Текст публикации номер "+id, at(when))); err != nil {
			t.Fatal(err)
		}
	}
	// On time, by minstroy: 5 working hours.
	open("vk:-1_1", "2026-11-30 10:00")
	e.act("2026-11-30 10:10", "kurator", "vk:-1_1", Route, Request{})
	e.act("2026-11-30 12:00", "ivanov", "vk:-1_1", Draft, Request{Text: "Ответ"})
	e.act("2026-11-30 12:10", "kurator", "vk:-1_1", Approve, Request{})
	e.act("2026-11-30 16:00", "press", "vk:-1_1", Publish, Request{}) // publish 30 min late
	// Late, by mintrans (routed late, too).
	open("vk:-1_2", "2026-11-27 10:00")
	e.act("2026-11-27 11:00", "kurator", "vk:-1_2", Route, Request{Agencies: []string{"mintrans"}})
	e.act("2026-11-30 11:00", "petrov", "vk:-1_2", Draft, Request{Text: "Ответ"})
	e.act("2026-11-30 11:10", "kurator", "vk:-1_2", Approve, Request{})
	e.act("2026-11-30 11:20", "root", "vk:-1_2", Publish, Request{}) // answer due 11:00
	// Open with the curator; and one from December, not counted.
	open("vk:-1_3", "2026-11-30 17:00")
	open("vk:-1_4", "2026-12-01 10:00")
	var rep Report
	if st := e.call("GET", "/api/v1/cases/report?month=2026-11", "kurator", nil, &rep); st != 200 {
		t.Fatalf("report: %d", st)
	}
	want := map[string]AgencyReport{
		"minstroy": {Cases: 1, Answered: 1, OnTime: 1, Breaches: 1, AvgAnswerMinutes: 5 * 60},
		"mintrans": {Cases: 1, Answered: 1, OnTime: 0, Breaches: 2, AvgAnswerMinutes: 0},
		"none":     {Cases: 1, Open: 1, Breaches: 1},
	}
	if len(rep.Agencies) != 3 || len(rep.Officials) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	for _, a := range rep.Agencies {
		w := want[a.Agency]
		if a.Agency == "mintrans" {
			w.AvgAnswerMinutes = a.AvgAnswerMinutes // checked below
		}
		a.Name, w.Agency, w.Name = "", a.Agency, ""
		if a != w {
			t.Errorf("%s: %+v, want %+v", a.Agency, a, w)
		}
		if a.Agency == "mintrans" && a.AvgAnswerMinutes != float64(9*60+20) {
			t.Errorf("mintrans answered in %v working minutes, want 560", a.AvgAnswerMinutes)
		}
	}
	if len(rep.Breaches) != 4 {
		t.Errorf("breaches: %+v", rep.Breaches)
	}
	if st := e.call("GET", "/api/v1/cases/report?month=ноябрь", "kurator", nil, nil); st != 400 {
		t.Errorf("bad month: %d", st)
	}
	if st := e.call("GET", "/api/v1/cases/report", "ivanov", nil, nil); st != 403 {
		t.Errorf("executor reads the report: %d", st)
	}
}
