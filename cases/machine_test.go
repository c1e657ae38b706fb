package cases

import (
	"errors"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/cases/worktime"
)

func testClock(t testing.TB) *worktime.Clock {
	t.Helper()
	c, err := worktime.New(worktime.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testMachine(t testing.TB) *machine {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return newMachine(cfg, testClock(t))
}

// at is a wall-clock time in Saratov (+04:00).
func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.FixedZone("+04", 4*3600))
}

func testPublication(id, text string, fetched time.Time) *otklik.Publication {
	return &otklik.Publication{
		ID: id, Network: otklik.VK, Owner: "-1", PostID: id, Kind: otklik.Post, URL: "https://vk.com/wall-1_" + id,
		Author: otklik.Author{ID: "42", Name: "Иван"}, Text: text,
		PublishedAt: fetched.Add(-time.Minute), FetchedAt: fetched,
		Class: &otklik.Classification{Topic: "housing", Location: "Саратов", Priority: otklik.High,
			Agency: "Министерство строительства и жилищно-коммунального хозяйства области"},
	}
}

var (
	curator  = Actor{User: "kurator", Role: Curator}
	execStr  = Actor{User: "ivanov", Role: Executor, Agency: "minstroy"}
	execTr   = Actor{User: "petrov", Role: Executor, Agency: "mintrans"}
	repStr   = Actor{User: "press", Role: Representative, Agency: "minstroy"}
	official = Actor{User: "boss", Role: Official, Agency: "minstroy"}
)

type step struct {
	a   Action
	who Actor
	req Request
	at  string
}

// walk applies steps, each on the current version, failing the test on a refusal.
func walk(t *testing.T, m *machine, c Case, steps ...step) Case {
	t.Helper()
	for _, s := range steps {
		s.req.Version = c.Version
		n, err := m.apply(c, s.a, s.req, s.who, at(s.at))
		if err != nil {
			t.Fatalf("%s by %s at %s: %v", s.a, s.who.User, s.at, err)
		}
		c = n
	}
	return c
}

func eq(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got.Format(time.RFC3339), want.Format(time.RFC3339))
	}
}

func TestOpenDeadlines(t *testing.T) {
	m := testMachine(t)
	c := m.open(testPublication("p1", "Нет воды", at("2026-11-30 10:00")), at("2026-11-30 10:01"))
	if c.Stage != Detected || c.Version != 1 || c.Topic != "housing" || c.Publication.Agency != "minstroy" {
		t.Fatalf("opened %+v", c)
	}
	eq(t, "route due", c.Due, at("2026-11-30 10:30"))
	eq(t, "answer due", c.AnswerDue, at("2026-12-01 11:00"))
	eq(t, "draft due", c.DraftDue, at("2026-11-30 16:00"))

	// Detected on Friday evening before a holiday: everything counts from Monday 09:00.
	c = m.open(testPublication("p2", "Нет воды", at("2026-11-03 19:00")), at("2026-11-03 19:00"))
	eq(t, "route due", c.Due, at("2026-11-05 09:30"))
	eq(t, "answer due", c.AnswerDue, at("2026-11-06 10:00"))
	eq(t, "draft due", c.DraftDue, at("2026-11-05 15:00"))
}

// fixtures builds a case at every stage (and the variants a transition depends on).
func fixtures(t *testing.T, m *machine) map[string]Case {
	open := m.open(testPublication("p1", "Нет воды", at("2026-11-30 10:00")), at("2026-11-30 10:00"))
	routed := walk(t, m, open, step{Route, curator, Request{}, "2026-11-30 10:10"})
	joint := walk(t, m, open, step{Route, curator, Request{Agencies: []string{"mintrans", "minstroy"}}, "2026-11-30 10:10"})
	review := walk(t, m, routed, step{Draft, execStr, Request{Text: "Ответ"}, "2026-11-30 11:00"})
	interimReview := walk(t, m, routed, step{Draft, execStr, Request{Kind: Interim, Text: "Промежуточный"}, "2026-11-30 11:00"})
	interimApproved := walk(t, m, interimReview, step{Approve, curator, Request{}, "2026-11-30 11:10"})
	return map[string]Case{
		"detected":       open,
		"routed":         routed,
		"routed-joint":   joint,
		"returned":       walk(t, m, routed, step{Return, execStr, Request{Reason: "Не наше"}, "2026-11-30 10:20"}),
		"review":         review,
		"revision":       walk(t, m, review, step{SendBack, curator, Request{Reason: "Уточните сроки"}, "2026-11-30 11:10"}),
		"approved":       walk(t, m, review, step{Approve, curator, Request{}, "2026-11-30 11:10"}),
		"approved-int":   interimApproved,
		"awaiting_final": walk(t, m, interimApproved, step{Publish, repStr, Request{}, "2026-11-30 11:20"}),
		"published":      walk(t, m, review, step{Approve, curator, Request{}, "2026-11-30 11:10"}, step{Publish, repStr, Request{}, "2026-11-30 11:20"}),
		"closed":         walk(t, m, open, step{Close, curator, Request{Reason: "Не требует ответа"}, "2026-11-30 10:10"}),
		"merged":         walk(t, m, open, step{Merge, curator, Request{Into: "p0"}, "2026-11-30 10:10"}),
	}
}

// TestTransitions tries every action at every stage: exactly the regulation's transitions
// succeed, with the expected next stage and deadline; every other one is refused as an
// invalid transition.
func TestTransitions(t *testing.T) {
	m := testMachine(t)
	fx := fixtures(t, m)
	now := at("2026-11-30 12:00")
	type ok struct {
		to  Stage
		due time.Time
	}
	allowed := map[string]map[Action]ok{
		"detected": {
			Route: {Routed, at("2026-11-30 16:00")}, Close: {Closed, time.Time{}}, Merge: {Merged, time.Time{}},
		},
		"returned": {
			Route: {Routed, at("2026-11-30 16:00")}, Close: {Closed, time.Time{}}, Merge: {Merged, time.Time{}},
		},
		"routed":       {Draft: {Review, at("2026-11-30 12:30")}},
		"routed-joint": {Contribute: {Routed, at("2026-11-30 16:00")}},
		"review":       {Approve: {Approved, at("2026-11-30 12:30")}, SendBack: {Revision, at("2026-11-30 13:00")}},
		"revision":     {Revise: {Review, at("2026-11-30 12:30")}},
		"approved":     {Publish: {Published, time.Time{}}},
		"approved-int": {Publish: {AwaitingFinal, at("2026-12-09 14:00")}},
		"awaiting_final": {
			Draft: {Review, at("2026-11-30 12:30")},
		},
		"published": {}, "closed": {}, "merged": {},
	}
	// Return is allowed only within 30 minutes of routing: tested at 10:30 below.
	for name, c := range fx {
		for _, a := range UserActions() {
			who := curator
			switch a {
			case Return, Contribute, Draft, Revise:
				who = Actor{User: "x", Role: Executor, Agency: c.Agency}
			case Publish:
				who = Actor{User: "x", Role: Representative, Agency: c.Agency}
			}
			req := Request{Version: c.Version, Reason: "причина", Text: "текст", Into: "p0"}
			n, err := m.apply(c, a, req, who, now)
			want, isAllowed := allowed[name][a]
			switch {
			case isAllowed && err != nil:
				t.Errorf("%s: %s refused: %v", name, a, err)
			case isAllowed:
				if n.Stage != want.to {
					t.Errorf("%s: %s → %s, want %s", name, a, n.Stage, want.to)
				}
				eq(t, name+" "+string(a)+" due", n.Due, want.due)
				if n.Version != c.Version+1 {
					t.Errorf("%s: %s: version %d, want %d", name, a, n.Version, c.Version+1)
				}
			case a == Return && (name == "routed" || name == "routed-joint"):
				if !errors.Is(err, ErrTooLate) {
					t.Errorf("%s: return at 12:00: %v, want too late", name, err)
				}
			case (a == Draft && name == "routed-joint") || (a == Contribute && name == "routed"):
				if !errors.Is(err, ErrTransition) {
					t.Errorf("%s: %s: %v, want invalid transition", name, a, err)
				}
			case err == nil:
				t.Errorf("%s: %s allowed, want refused", name, a)
			case !errors.Is(err, ErrTransition):
				t.Errorf("%s: %s: %v, want invalid transition", name, a, err)
			}
		}
	}
	// The return window.
	n, err := m.apply(fx["routed"], Return, Request{Version: fx["routed"].Version, Reason: "Не наше"}, execStr, at("2026-11-30 10:40"))
	if err != nil || n.Stage != Returned || n.Agency != "" {
		t.Fatalf("return within the window: %v, %+v", err, n.Stage)
	}
	eq(t, "reroute due", n.Due, at("2026-11-30 11:10"))
}

func TestRefusals(t *testing.T) {
	m := testMachine(t)
	fx := fixtures(t, m)
	repeat := fx["routed"]
	repeat.RepeatOf = "p0"
	tests := []struct {
		name string
		c    Case
		a    Action
		who  Actor
		req  Request
		at   string
		want *Error
	}{
		{"executor cannot route", fx["detected"], Route, execStr, Request{}, "", ErrForbidden},
		{"curator cannot draft", fx["routed"], Draft, curator, Request{Text: "x"}, "", ErrForbidden},
		{"representative cannot approve", fx["review"], Approve, repStr, Request{}, "", ErrForbidden},
		{"other agency cannot draft", fx["routed"], Draft, execTr, Request{Text: "x"}, "", ErrForbidden},
		{"other agency cannot return", fx["routed"], Return, execTr, Request{Reason: "x"}, "2026-11-30 10:15", ErrForbidden},
		{"other agency cannot publish", fx["approved"], Publish, Actor{User: "y", Role: Representative, Agency: "mintrans"}, Request{}, "", ErrForbidden},
		{"first agency of a joint answer is not last", fx["routed-joint"], Draft, execTr, Request{Text: "x"}, "", ErrTransition},
		{"second agency waits its turn", fx["routed-joint"], Contribute, execStr, Request{Text: "x"}, "", ErrForbidden},
		{"stale version", fx["review"], Approve, curator, Request{Version: 1}, "", ErrConflict},
		{"missing version", fx["review"], Approve, curator, Request{Version: -1}, "", ErrConflict},
		{"return without reason", fx["routed"], Return, execStr, Request{}, "2026-11-30 10:15", ErrNeedsReason},
		{"return too late", fx["routed"], Return, execStr, Request{Reason: "не наше"}, "2026-11-30 10:41", ErrTooLate},
		{"send back without reason", fx["review"], SendBack, curator, Request{}, "", ErrNeedsReason},
		{"close without reason", fx["detected"], Close, curator, Request{Reason: "  "}, "", ErrNeedsReason},
		{"unknown topic", fx["detected"], Route, curator, Request{Topic: "weather"}, "", ErrInvalid},
		{"unknown agency", fx["detected"], Route, curator, Request{Agencies: []string{"mvd"}}, "", ErrInvalid},
		{"agency twice", fx["detected"], Route, curator, Request{Agencies: []string{"minstroy", "minstroy"}}, "", ErrInvalid},
		{"unknown priority", fx["detected"], Route, curator, Request{Priority: "urgent"}, "", ErrInvalid},
		{"other topic has no agency", fx["detected"], Route, curator, Request{Topic: "other"}, "", ErrInvalid},
		{"empty draft", fx["routed"], Draft, execStr, Request{Text: " "}, "", ErrInvalid},
		{"unknown draft kind", fx["routed"], Draft, execStr, Request{Text: "x", Kind: "memo"}, "", ErrInvalid},
		{"empty contribution", fx["routed-joint"], Contribute, execTr, Request{}, "", ErrInvalid},
		{"repeat needs measures", repeat, Draft, execStr, Request{Text: "Ответ"}, "", ErrMeasures},
		{"final after interim must be an answer", fx["awaiting_final"], Draft, execStr, Request{Kind: Interim, Text: "x"}, "", ErrInvalid},
		{"merge into itself", fx["detected"], Merge, curator, Request{Into: "p1"}, "", ErrInvalid},
		{"merge into nothing", fx["detected"], Merge, curator, Request{}, "", ErrInvalid},
		{"unknown action", fx["detected"], "delete", curator, Request{}, "", ErrInvalid},
		{"published is final", fx["published"], Route, curator, Request{}, "", ErrTransition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Version == 0 {
				tt.req.Version = tt.c.Version
			} else if tt.req.Version < 0 {
				tt.req.Version = 0
				tt.want = ErrInvalid
			}
			when := "2026-11-30 12:00"
			if tt.at != "" {
				when = tt.at
			}
			n, err := m.apply(tt.c, tt.a, tt.req, tt.who, at(when))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %s", err, tt.want.Code)
			}
			var e *Error
			if !errors.As(err, &e) || e.Message == "" || !isRussian(e.Message) {
				t.Errorf("message %q is not a Russian sentence", err)
			}
			if n.Version != tt.c.Version || n.Stage != tt.c.Stage {
				t.Errorf("refused action changed the case: %+v", n)
			}
		})
	}
}

func isRussian(s string) bool {
	for _, r := range s {
		if r >= 'А' && r <= 'я' {
			return true
		}
	}
	return false
}

func TestJointAnswer(t *testing.T) {
	m := testMachine(t)
	c := m.open(testPublication("p1", "Яма у школы", at("2026-11-30 09:00")), at("2026-11-30 09:00"))
	c = walk(t, m, c, step{Route, curator, Request{Topic: "roads", Agencies: []string{"mintrans", "minobr", "minstroy"}}, "2026-11-30 09:10"})
	eq(t, "first contribution due", c.Due, at("2026-11-30 11:10"))
	if c.Agency != "mintrans" {
		t.Fatalf("agency %s", c.Agency)
	}
	c = walk(t, m, c, step{Contribute, execTr, Request{Text: "Ремонт дороги в плане"}, "2026-11-30 10:00"})
	eq(t, "second contribution due", c.Due, at("2026-11-30 12:00"))
	c = walk(t, m, c, step{Contribute, Actor{User: "o", Role: Official, Agency: "minobr"}, Request{Text: "Школа огородит участок"}, "2026-11-30 12:30"})
	if len(c.Breaches) != 1 || c.Breaches[0].Agency != "minobr" || c.Breaches[0].Stage != Routed {
		t.Errorf("late contribution: breaches %+v", c.Breaches)
	}
	eq(t, "joint draft due", c.Due, at("2026-11-30 15:00"))
	c = walk(t, m, c, step{Draft, execStr, Request{Text: "Совместный ответ"}, "2026-11-30 13:00"})
	if c.Stage != Review || len(c.Contributions) != 2 || c.Draft.Agency != "minstroy" {
		t.Errorf("joint draft: %+v", c)
	}
}

func TestInterimAndFinal(t *testing.T) {
	m := testMachine(t)
	c := m.open(testPublication("p1", "Когда отремонтируют крышу?", at("2026-11-30 10:00")), at("2026-11-30 10:00"))
	c = walk(t, m, c,
		step{Route, curator, Request{}, "2026-11-30 10:10"},
		step{Draft, execStr, Request{Kind: Interim, Text: "Проверяем"}, "2026-11-30 14:00"},
		step{Approve, curator, Request{}, "2026-11-30 14:20"},
		step{Publish, repStr, Request{URL: "https://vk.com/wall-1_1?reply=2"}, "2026-11-30 14:40"},
	)
	if c.Stage != AwaitingFinal || c.Interim == nil || c.Interim.URL == "" || len(c.Breaches) != 0 {
		t.Fatalf("after interim: %+v", c)
	}
	eq(t, "final due", c.FinalDue, at("2026-12-09 18:00"))
	eq(t, "final draft due", c.Due, at("2026-12-09 14:00"))
	c = walk(t, m, c,
		step{Draft, official, Request{Text: "Крышу отремонтируют 15 декабря"}, "2026-12-08 10:00"},
		step{SendBack, curator, Request{Reason: "Укажите подрядчика"}, "2026-12-08 10:20"},
		step{Revise, execStr, Request{Text: "Подрядчик ООО «Кровля», срок 15 декабря"}, "2026-12-08 11:00"},
		step{Approve, curator, Request{}, "2026-12-08 11:10"},
		step{Publish, curator, Request{}, "2026-12-08 11:30"},
	)
	if c.Stage != Published || c.Answer == nil || c.Answer.Kind != Answer || !c.Due.IsZero() || len(c.Breaches) != 0 {
		t.Fatalf("after final: %+v", c)
	}
}

func TestLateAnswerIsABreach(t *testing.T) {
	m := testMachine(t)
	c := m.open(testPublication("p1", "Нет воды", at("2026-11-30 10:00")), at("2026-11-30 10:00"))
	c = walk(t, m, c,
		step{Route, curator, Request{}, "2026-11-30 11:00"},              // 30 min late
		step{Draft, execStr, Request{Text: "Ответ"}, "2026-12-01 10:00"}, // after 16:00
		step{Approve, curator, Request{}, "2026-12-01 10:10"},
		step{Publish, repStr, Request{}, "2026-12-01 11:30"}, // after 11:00, and 10:40
	)
	want := []struct {
		stage  Stage
		kind   string
		agency string
	}{{Detected, "stage", ""}, {Routed, "stage", "minstroy"}, {Approved, "stage", "minstroy"}, {Published, "answer", "minstroy"}}
	if len(c.Breaches) != len(want) {
		t.Fatalf("breaches %+v", c.Breaches)
	}
	for i, w := range want {
		if b := c.Breaches[i]; b.Stage != w.stage || b.Kind != w.kind || b.Agency != w.agency {
			t.Errorf("breach %d = %+v, want %+v", i, b, w)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tok := HashToken("secret")
	for name, mod := range map[string]func(*Config){
		"region":          func(c *Config) { c.Region = "moscow" },
		"lead ≥ answer":   func(c *Config) { c.Timers.DraftLead = 9 * time.Hour },
		"final days":      func(c *Config) { c.Timers.FinalDays = -1 },
		"agency topic":    func(c *Config) { c.Agencies = []Agency{{"a", "А", []string{"weather"}}} },
		"agency twice":    func(c *Config) { c.Agencies = append(c.Agencies, c.Agencies[0]) },
		"user role":       func(c *Config) { c.Users = []User{{Name: "u", Role: "boss", TokenSHA256: tok}} },
		"user agency":     func(c *Config) { c.Users = []User{{Name: "u", Role: Executor, Agency: "mvd", TokenSHA256: tok}} },
		"user secret":     func(c *Config) { c.Users = []User{{Name: "u", Role: Curator}} },
		"user token hash": func(c *Config) { c.Users = []User{{Name: "u", Role: Curator, TokenSHA256: "secret"}} },
		"user pw hash":    func(c *Config) { c.Users = []User{{Name: "u", Role: Curator, PasswordHash: "secret"}} },
		"same topics":     func(c *Config) { c.Topic = c.SourceTopic },
		"webhook":         func(c *Config) { c.Notify.Webhook = "ftp://x" },
		"similarity":      func(c *Config) { c.RepeatSimilarity = 2 },
	} {
		c := DefaultConfig()
		mod(&c)
		c.SetDefaults()
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil", name)
		}
	}
	c := Config{Region: "route60-answer24", Timers: Timers{Review: time.Hour}}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Timers.Route != time.Hour || c.Timers.Answer != 24*time.Hour || c.Timers.Review != time.Hour || c.Timers.Publish != 30*time.Minute {
		t.Errorf("preset + override: %+v", c.Timers)
	}
	m := newMachine(c, testClock(t))
	o := m.open(testPublication("p1", "x", at("2026-11-30 10:00")), at("2026-11-30 10:00"))
	eq(t, "60-minute routing", o.Due, at("2026-11-30 11:00"))
	eq(t, "24-hour answer", o.AnswerDue, at("2026-12-03 10:00"))
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("пароль", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !validPasswordHash(h) || !checkPassword(h, "пароль") || checkPassword(h, "парол") {
		t.Errorf("hash %q does not check", h)
	}
	var c passwordCache
	c.ttl = time.Minute
	now := at("2026-11-30 10:00")
	if !c.check(h, "пароль", now) || c.check(h, "парол", now) || len(c.ok) != 1 {
		t.Errorf("cache: %d entries", len(c.ok))
	}
	if !c.check(h, "пароль", now.Add(2*time.Minute)) || c.check(h+"x", "пароль", now) {
		t.Error("cache: expired entry or another hash")
	}
}
