package cases

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/otklik/otklik/pipeline/diskbus"
)

// benchEnv opens n cases in a fresh store on the embedded bus.
func benchEnv(b *testing.B, n int) (*Service, *fakeNow) {
	b.Helper()
	dir := b.TempDir()
	bus, err := diskbus.Open(dir+"/bus", diskbus.Options{})
	if err != nil {
		b.Fatal(err)
	}
	store, err := OpenBoltStore(dir + "/cases")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close(); bus.Close() })
	now := &fakeNow{t: at("2026-11-30 10:00")}
	svc, err := New(DefaultConfig(), Deps{Clock: testClock(b), Store: store, Producer: bus, Now: now.Now})
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]Event, 0, n)
	for i := range n {
		p := testPublication(fmt.Sprintf("vk:-1_%d", i), fmt.Sprintf("Жалоба номер %d на отсутствие воды в доме %d", i, i%97), at("2026-11-30 10:00").Add(-time.Duration(i)*time.Minute))
		p.Author.ID = fmt.Sprint(i)
		c := svc.m.open(p, now.Now())
		evs = append(evs, Event{ID: c.ID + "#1", CaseID: c.ID, Seq: 1, Action: Open, Actor: system, At: now.Now(), To: c.Stage, Case: c})
	}
	if err := store.Apply(context.Background(), evs...); err != nil {
		b.Fatal(err)
	}
	return svc, now
}

// BenchmarkSearchOverdue10k: the monitor's and the list API's query over 10 000 cases.
func BenchmarkSearchOverdue10k(b *testing.B) {
	svc, now := benchEnv(b, 10_000)
	yes := true
	q := Query{Overdue: &yes, Agency: "none", Now: now.Now().Add(time.Hour), Limit: 100}
	for b.Loop() {
		if _, n, err := svc.store.Search(context.Background(), q); err != nil || n == 0 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkOpenWithRepeatCheck10k: opening a case (repeat search over 10 000 cases, fsynced
// produce on the embedded bus, projection).
func BenchmarkOpenWithRepeatCheck10k(b *testing.B) {
	svc, now := benchEnv(b, 10_000)
	i := 0
	for b.Loop() {
		i++
		p := testPublication(fmt.Sprintf("vk:-2_%d", i), fmt.Sprintf("Новая жалоба %d про двор", i), now.Now())
		p.Author.ID = fmt.Sprint(-i)
		if _, ok, err := svc.Open(context.Background(), p); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkCheckAllBreached10k: the monitor's first pass over 10 000 open cases that are
// all past their deadlines (e.g. after a long outage): every breach recorded, in batches.
func BenchmarkCheckAllBreached10k(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		svc, _ := benchEnv(b, 10_000)
		b.StartTimer()
		if err := svc.Check(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckSteady10k: a monitor pass over 10 000 open cases whose breaches are
// already recorded (the usual minute-by-minute pass).
func BenchmarkCheckSteady10k(b *testing.B) {
	svc, _ := benchEnv(b, 10_000)
	if err := svc.Check(context.Background()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := svc.Check(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPasswordCheck: one PBKDF2-SHA256 verification at the default work factor
// (what an uncached HTTP Basic request costs).
func BenchmarkPasswordCheck(b *testing.B) {
	h, err := HashPassword("пароль")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !checkPassword(h, "пароль") {
			b.Fatal("no match")
		}
	}
}

// BenchmarkPasswordCached: the same check answered by the cache.
func BenchmarkPasswordCached(b *testing.B) {
	h, err := hashPassword("пароль", 1000)
	if err != nil {
		b.Fatal(err)
	}
	c := passwordCache{ttl: time.Hour}
	now := time.Now()
	c.check(h, "пароль", now)
	for b.Loop() {
		if !c.check(h, "пароль", now) {
			b.Fatal("no match")
		}
	}
}
