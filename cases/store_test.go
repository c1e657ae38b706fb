package cases

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/otklik/otklik"
)

// TestBoltStoreDurableAndIdempotent: the projection survives a reopen, an older or
// repeated event does not overwrite a newer state, Reset empties it.
func TestBoltStoreDurableAndIdempotent(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	m := testMachine(t)
	c1 := m.open(testPublication("vk:-1_1", "Нет воды", at("2026-11-30 10:00")), at("2026-11-30 10:00"))
	c2 := walk(t, m, c1, step{Route, curator, Request{}, "2026-11-30 10:10"})
	c2.Seq = 2
	ev1 := Event{ID: c1.ID + "#1", CaseID: c1.ID, Seq: 1, Action: Open, Actor: system, At: at("2026-11-30 10:00"), To: Detected, Case: c1}
	ev2 := Event{ID: c1.ID + "#2", CaseID: c1.ID, Seq: 2, Action: Route, Actor: curator, At: at("2026-11-30 10:10"), From: Detected, To: Routed, Case: c2}

	s, err := OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, ev1, ev2, ev1); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, Event{ID: "x", CaseID: "x", Seq: 1}); err == nil {
		t.Error("malformed event accepted")
	}
	s.Close()

	s, err = OpenBoltStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(ctx, c1.ID)
	if err != nil || got.Seq != 2 || got.Stage != Routed {
		t.Fatalf("after reopen: %v seq %d %s", err, got.Seq, got.Stage)
	}
	if err := s.Apply(ctx, ev1); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, c1.ID); got.Stage != Routed {
		t.Errorf("a stale event overwrote the case: %s", got.Stage)
	}
	h, err := s.History(ctx, c1.ID)
	if err != nil || len(h) != 2 || h[0].Action != Open || h[1].Action != Route || h[1].Case.ID != "" {
		t.Errorf("history: %v %+v", err, h)
	}
	if h, _ := s.History(ctx, "vk:-1"); len(h) != 0 { // a prefix of the id is another case
		t.Errorf("history of a prefix: %d events", len(h))
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, c1.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after reset: %v", err)
	}
	if h, _ := s.History(ctx, c1.ID); len(h) != 0 {
		t.Errorf("history after reset: %d", len(h))
	}
}

// TestOpenSkips: point-16 publications and agency accounts' own posts get no case.
func TestOpenSkips(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	dropped := testPublication("vk:-1_1", "…", at("2026-11-30 10:00"))
	dropped.Class.Drop = []otklik.DropReason{otklik.Obscene}
	own := testPublication("vk:-1_2", "Отвечаем жителям", at("2026-11-30 10:00"))
	own.AgencyAccount = "minstroy"
	unclassified := testPublication("vk:-1_3", "x", at("2026-11-30 10:00"))
	unclassified.Class = nil
	for _, p := range []*otklik.Publication{dropped, own} {
		if _, opened, err := e.svc.Open(ctx, p); err != nil || opened {
			t.Errorf("%s: opened %v, %v", p.ID, opened, err)
		}
		if _, err := e.store.Get(ctx, p.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s has a case", p.ID)
		}
	}
	if _, _, err := e.svc.Open(ctx, unclassified); err == nil {
		t.Error("unclassified publication opened")
	}
}

// TestRunMonitor: the loop runs a pass at once and stops with its context.
func TestRunMonitor(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MonitorInterval = 10 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	if _, _, err := e.svc.Open(ctx, testPublication("vk:-1_1", "Нет воды", at("2026-11-30 10:00"))); err != nil {
		t.Fatal(err)
	}
	e.now.Set("2026-11-30 11:00")
	done := make(chan error, 1)
	go func() { done <- e.svc.RunMonitor(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, _ := e.store.Get(ctx, "vk:-1_1"); len(c.Breaches) == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c, _ := e.store.Get(context.Background(), "vk:-1_1"); len(c.Breaches) != 1 {
		t.Errorf("breaches: %+v", c.Breaches)
	}
}
