package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/otklik/otklik"
)

func pub(id, text, topic, location string, prio otklik.Priority, day int, drop ...otklik.DropReason) otklik.Publication {
	return otklik.Publication{
		ID: id, Network: otklik.VK, Owner: "-1", PostID: id, Kind: otklik.Post, Text: text,
		PublishedAt: time.Date(2026, 11, day, 10, 0, 0, 0, time.UTC),
		FetchedAt:   time.Date(2026, 11, day, 10, 5, 0, 0, time.UTC),
		Class:       &otklik.Classification{Topic: topic, Location: location, Priority: prio, Drop: drop},
	}
}

func corpus() []otklik.Publication {
	return []otklik.Publication{
		pub("a", "Третий день нет воды на Солнечном", "housing", "Саратов", otklik.Critical, 3),
		pub("b", "Когда дадут горячую воду в Энгельсе?", "housing", "Энгельсский район", otklik.Medium, 4),
		pub("c", "Яма на дороге у зелёного дома, фонари не горят", "roads", "Саратов", otklik.Medium, 5),
		pub("d", "Вода ржавая, уроды из УК", "housing", "Саратов", otklik.High, 6, otklik.Insult),
		pub("e", "Спасибо за новый автобус", "transport", "", otklik.Low, 7),
	}
}

func ids(r Result) string {
	s := ""
	for _, p := range r.Publications {
		s += p.ID
	}
	return s
}

func openTest(t *testing.T) (*Bleve, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pubs.bleve")
	b, err := OpenBleve(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	failed, err := b.Index(context.Background(), corpus())
	if err != nil || len(failed) != 0 {
		t.Fatalf("index: %v %v", failed, err)
	}
	return b, path
}

func TestBleveSearch(t *testing.T) {
	b, _ := openTest(t)
	for _, tc := range []struct {
		name  string
		q     Query
		want  string
		total int64
	}{
		{"stemmed text, dropped hidden", Query{Text: "вода"}, "ba", 2},
		{"ё folded to е", Query{Text: "зеленый"}, "c", 1},
		{"ё in the query", Query{Text: "Зелёные фонари"}, "c", 1},
		{"all words must match", Query{Text: "вода Энгельс"}, "b", 1},
		{"topic filter", Query{Topic: "housing"}, "ba", 2},
		{"location filter", Query{Location: "Саратов"}, "ca", 2},
		{"priority filter", Query{Priority: otklik.Low}, "e", 1},
		{"dropped only", Query{Dropped: true}, "d", 1},
		{"dropped with text", Query{Dropped: true, Text: "воды"}, "d", 1},
		{"ascending", Query{Topic: "housing", Ascending: true}, "ab", 2},
		{"paging", Query{Size: 2, Offset: 1}, "cb", 4},
		{"time range", Query{From: time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)}, "b", 1},
		{"network filter", Query{Network: otklik.OK}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := b.Search(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if ids(r) != tc.want || r.Total != tc.total {
				t.Fatalf("got %q total %d, want %q total %d", ids(r), r.Total, tc.want, tc.total)
			}
		})
	}
}

func TestBleveBadQuery(t *testing.T) {
	b, _ := openTest(t)
	for _, q := range []Query{{Size: MaxSize + 1}, {Offset: -1}, {Priority: "urgent"}, {Network: "tiktok"},
		{From: time.Unix(10, 0), To: time.Unix(5, 0)}} {
		if _, err := b.Search(context.Background(), q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("%+v: err = %v, want ErrBadQuery", q, err)
		}
	}
}

func TestBleveIdempotentAndDurable(t *testing.T) {
	b, path := openTest(t)
	ctx := context.Background()
	// Replaying the same documents, and an edit of one, changes nothing but the edit.
	docs := corpus()
	docs[0].Text = "Воду дали, спасибо"
	if _, err := b.Index(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Count(); n != 5 {
		t.Fatalf("count after replay = %d, want 5", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := OpenBleve(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	got, err := b2.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "Воду дали, спасибо" || got.Class == nil || got.Class.Topic != "housing" {
		t.Fatalf("after reopen: %+v", got)
	}
	if _, err := b2.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	failed, err := b2.Index(ctx, []otklik.Publication{{Text: "no id"}})
	if err != nil || failed[""] == nil {
		t.Fatalf("document without id: failed=%v err=%v", failed, err)
	}
}

func BenchmarkBleveIndex(b *testing.B) {
	idx, err := OpenBleve(filepath.Join(b.TempDir(), "bench.bleve"))
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	base := corpus()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := make([]otklik.Publication, 100)
		for j := range batch {
			batch[j] = base[j%len(base)]
			batch[j].ID = fmt.Sprintf("%d-%d", i, j)
		}
		if _, err := idx.Index(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "docs/s")
}
