package esstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/cases"
	"github.com/otklik/otklik/cases/worktime"
	"github.com/otklik/otklik/internal/testenv"
	"github.com/otklik/otklik/pipeline/diskbus"
)

func newStore(t *testing.T, url string) *Store {
	t.Helper()
	s, err := New(Config{URLs: []string{url}, Index: fmt.Sprintf("otklik-cases-test-%d", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	t.Cleanup(func() {
		for _, n := range []string{s.cfg.Index, s.events()} {
			s.do(context.Background(), "DELETE", "/"+n, nil, "", nil)
		}
		s.Close()
	})
	return s
}

var zone = time.FixedZone("+04", 4*3600)

func at(h, m int) time.Time { return time.Date(2026, 11, 30, h, m, 0, 0, zone) }

func pub(id, text, author string, fetched time.Time) *otklik.Publication {
	return &otklik.Publication{ID: id, Network: otklik.VK, PostID: id, Kind: otklik.Post, Text: text,
		Author: otklik.Author{ID: author}, FetchedAt: fetched,
		Class: &otklik.Classification{Topic: "housing", Location: "Саратов", Priority: otklik.High}}
}

// TestServiceOnElastic runs the cases service on the Elasticsearch/OpenSearch store: open,
// act, search by every filter, history, refusal of stale events, rebuild from the topic.
func TestServiceOnElastic(t *testing.T) {
	for name, url := range testenv.Engines(t) {
		t.Run(name, func(t *testing.T) {
			store := newStore(t, url)
			ctx := context.Background()
			if err := store.Ready(ctx); err != nil {
				t.Fatal(err)
			}
			bus, err := diskbus.Open(t.TempDir(), diskbus.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer bus.Close()
			clock, err := worktime.New(worktime.Config{}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			now := at(10, 0)
			cfg := cases.DefaultConfig()
			svc, err := cases.New(cfg, cases.Deps{Clock: clock, Store: store, Producer: bus, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.Get(ctx, "missing"); !errors.Is(err, cases.ErrNotFound) {
				t.Fatalf("missing case: %v", err)
			}
			curator := cases.Actor{User: "kurator", Role: cases.Curator}
			exec := cases.Actor{User: "ivanov", Role: cases.Executor, Agency: "minstroy"}
			for i := range 3 {
				if _, ok, err := svc.Open(ctx, pub(fmt.Sprintf("vk:-1_%d", i), fmt.Sprintf("Нет холодной воды в доме %d", 10+i), fmt.Sprint(i), at(10, i))); err != nil || !ok {
					t.Fatal(ok, err)
				}
			}
			// A repeat found through the store's search: same author, topic and place.
			c, ok, err := svc.Open(ctx, pub("vk:-1_9", "Воды так и нет", "1", at(10, 5)))
			if err != nil || !ok || c.RepeatOf != "vk:-1_1" {
				t.Fatalf("repeat: %v %v %q", ok, err, c.RepeatOf)
			}
			now = at(10, 10)
			if _, err := svc.Do(ctx, "vk:-1_0", cases.Route, cases.Request{Version: 1}, curator); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Do(ctx, "vk:-1_0", cases.Route, cases.Request{Version: 1}, curator); !errors.Is(err, cases.ErrConflict) {
				t.Fatalf("stale version: %v", err)
			}
			now = at(11, 0)
			if _, err := svc.Do(ctx, "vk:-1_0", cases.Draft, cases.Request{Version: 2, Text: "Ответ"}, exec); err != nil {
				t.Fatal(err)
			}
			yes, no := true, false
			for _, tt := range []struct {
				name string
				q    cases.Query
				who  cases.Actor
				want []string
			}{
				{"all, by due", cases.Query{}, curator, []string{"vk:-1_1", "vk:-1_2", "vk:-1_9", "vk:-1_0"}},
				{"stage", cases.Query{Stages: []cases.Stage{cases.Review}}, curator, []string{"vk:-1_0"}},
				{"agency", cases.Query{Agency: "minstroy"}, curator, []string{"vk:-1_0"}},
				{"with the curator", cases.Query{Agency: "none"}, curator, []string{"vk:-1_1", "vk:-1_2", "vk:-1_9"}},
				{"executor's visibility", cases.Query{}, exec, []string{"vk:-1_0"}},
				{"overdue", cases.Query{Overdue: &yes, Now: at(10, 33)}, curator, []string{"vk:-1_1", "vk:-1_2"}},
				{"not overdue", cases.Query{Overdue: &no, Now: at(10, 33)}, curator, []string{"vk:-1_9", "vk:-1_0"}},
				{"due before", cases.Query{DueBefore: at(10, 33)}, curator, []string{"vk:-1_1", "vk:-1_2"}},
				{"detected after", cases.Query{DetectedAfter: at(10, 2)}, curator, []string{"vk:-1_2", "vk:-1_9"}},
				{"open", cases.Query{Open: &yes}, curator, []string{"vk:-1_1", "vk:-1_2", "vk:-1_9", "vk:-1_0"}},
				{"text", cases.Query{Text: "холодной"}, curator, []string{"vk:-1_1", "vk:-1_2", "vk:-1_0"}},
				{"page", cases.Query{Limit: 2, Offset: 1}, curator, []string{"vk:-1_2", "vk:-1_9"}},
			} {
				cs, total, err := svc.Search(ctx, tt.q, tt.who)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, c := range cs {
					got = append(got, c.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) || (tt.q.Limit == 0 && total != len(tt.want)) {
					t.Errorf("%s: %v (total %d), want %v", tt.name, got, total, tt.want)
				}
			}
			c, h, err := svc.Get(ctx, "vk:-1_0", curator)
			if err != nil || c.Stage != cases.Review || c.Seq != 3 || len(h) != 3 || h[1].Action != cases.Route || h[2].Actor.User != "ivanov" {
				for _, e := range h {
					t.Logf("%+v", e)
				}
				t.Fatalf("get: %v %+v seq %d, %d events", err, c.Stage, c.Seq, len(h))
			}
			// An older event applied late does not overwrite the newer state.
			old := c
			old.Seq, old.Version, old.Stage, old.Agency = 1, 1, cases.Detected, ""
			if err := store.Apply(ctx, cases.Event{ID: c.ID + "#1", CaseID: c.ID, Seq: 1, Action: cases.Open, At: at(10, 0), Case: old}); err != nil {
				t.Fatal(err)
			}
			if c2, _ := store.Get(ctx, "vk:-1_0"); c2.Seq != 3 || c2.Stage != cases.Review {
				t.Errorf("stale event overwrote the case: seq %d %s", c2.Seq, c2.Stage)
			}
			// Rebuild from the topic.
			n, err := svc.Rebuild(ctx, bus, 500*time.Millisecond)
			if err != nil || n != 4+1+2 { // opens, the repeat link, route and draft
				t.Fatalf("rebuild: %d events, %v", n, err)
			}
			if c2, h2, err := svc.Get(ctx, "vk:-1_0", curator); err != nil || c2.Seq != 3 || len(h2) != 3 {
				t.Errorf("after rebuild: %v seq %d, %d events", err, c2.Seq, len(h2))
			}
			if cs, total, _ := svc.Search(ctx, cases.Query{}, curator); total != 4 || len(cs) != 4 {
				t.Errorf("after rebuild: %d cases", total)
			}
		})
	}
}
