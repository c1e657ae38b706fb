package index

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/internal/testenv"
)

// newTestElastic returns an engine on url with an alias of its own, migrated, and
// removes its indices and template at the end.
func newElasticForTest(t *testing.T, url string, reg prometheus.Registerer) *Elastic {
	t.Helper()
	cfg := DefaultElasticConfig()
	cfg.URLs = []string{url}
	cfg.Alias = fmt.Sprintf("otklik-test-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg.Analyzer = elasticAnalyzerOf(t, ctx, cfg)
	e, err := NewElastic(cfg, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := e.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.Drop(ctx); err != nil {
			t.Errorf("Drop: %v", err)
		}
		e.Close()
	})
	return e
}

// elasticAnalyzerOf returns the analyzer the server supports: russian, or standard
// (logged) for a server without the analysis-common module; with CI=true the Russian
// analyzer is required.
func elasticAnalyzerOf(t *testing.T, ctx context.Context, cfg ElasticConfig) string {
	t.Helper()
	probe, err := NewElastic(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := probe.SupportsRussian(ctx)
	if err != nil {
		t.Fatalf("probe analysis: %v", err)
	}
	if ok {
		return AnalyzerRussian
	}
	msg := cfg.URLs[0] + " lacks the analysis-common module (Russian analyzer): testing with the standard analyzer, Russian-analysis cases skipped"
	// The Elasticsearch 8 that deployments/services builds from Maven Central jars has no
	// analysis-common module (it is not published there): CI tests the Russian analysis on
	// OpenSearch, and Elasticsearch with the standard analyzer.
	t.Log(msg)
	return AnalyzerStandard
}

func elasticCorpus() []otklik.Publication {
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 9, 0, 0, 0, time.UTC) }
	cls := func(topic, loc string, pr otklik.Priority, drop ...otklik.DropReason) *otklik.Classification {
		return &otklik.Classification{Topic: topic, Location: loc, Priority: pr, Drop: drop, Agency: "minstroy"}
	}
	pubs := []otklik.Publication{
		{Network: otklik.VK, Owner: "-1", PostID: "1", Text: "Третий день нет воды на улице Чапаева", PublishedAt: at(10, 30),
			Class: cls("utilities", "Саратов", otklik.High)},
		{Network: otklik.VK, Owner: "-1", PostID: "2", Text: "Вода из крана ржавая, сколько можно", PublishedAt: at(11, 2),
			Class: cls("utilities", "Энгельс", otklik.Medium)},
		{Network: otklik.OK, Owner: "7", PostID: "3", Text: "Ёлку на площади так и не поставили", PublishedAt: at(11, 5),
			Class: cls("culture", "Саратов", otklik.Low)},
		{Network: otklik.Facebook, Owner: "p", PostID: "4", Text: "Яма на дороге, машину разбил", PublishedAt: at(11, 10),
			Class: cls("roads", "Балаково", otklik.Critical)},
		{Network: otklik.VK, Owner: "-1", PostID: "5", Text: "Вы все воры, воды нет, [censored]", PublishedAt: at(11, 12),
			Class: cls("utilities", "Саратов", otklik.High, otklik.Insult)},
		{Network: otklik.Instagram, Owner: "u", PostID: "6", Text: "Отличная елка в парке", PublishedAt: at(12, 1),
			Class: cls("culture", "Саратов", otklik.Low)},
	}
	for i := range pubs {
		pubs[i].Kind = otklik.Post
		pubs[i].FetchedAt = pubs[i].PublishedAt.Add(5 * time.Minute)
		if err := pubs[i].Validate(); err != nil {
			panic(err)
		}
	}
	return pubs
}

func elasticIDs(ps []otklik.Publication) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestElasticIntegration(t *testing.T) {
	for name, url := range testenv.Engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			reg := prometheus.NewRegistry()
			e := newElasticForTest(t, url, reg)
			if err := e.Ready(ctx); err != nil {
				t.Fatalf("Ready: %v", err)
			}
			corpus := elasticCorpus()
			bad := otklik.Publication{ID: strings.Repeat("x", 600), Network: otklik.VK, PostID: "9", Text: "id too long"}
			for round := range 2 { // the second round is a replay: nothing may change
				failed, err := e.Index(ctx, append(slices.Clone(corpus), bad))
				if err != nil {
					t.Fatalf("Index round %d: %v", round, err)
				}
				if len(failed) != 1 || failed[bad.ID] == nil {
					t.Fatalf("Index round %d: failed = %v, want only the long id", round, failed)
				}
			}
			// Get is realtime: no refresh needed.
			got, err := e.Get(ctx, corpus[2].ID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got.Text != corpus[2].Text || got.Class == nil || got.Class.Topic != "culture" || !got.PublishedAt.Equal(corpus[2].PublishedAt) {
				t.Fatalf("Get = %+v", got)
			}
			if _, err := e.Get(ctx, "vk:nope"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get unknown = %v, want ErrNotFound", err)
			}
			if err := e.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if n, err := e.Count(ctx); err != nil || n != int64(len(corpus)) {
				t.Fatalf("Count = %d, %v; want %d (replays must not duplicate)", n, err, len(corpus))
			}
			var ids []string
			for _, p := range corpus {
				ids = append(ids, p.ID)
			}
			found, err := e.Existing(ctx, append(slices.Clone(ids), "vk:-1_404"))
			slices.Sort(found)
			slices.Sort(ids)
			if err != nil || !slices.Equal(found, ids) {
				t.Fatalf("Existing = %v, %v; want the corpus ids %v, not the missing one", found, err, ids)
			}
			// Three monthly indices behind the alias.
			idx, err := e.indices(ctx)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(idx)
			current := monthlyIndex(e.cfg.Alias, time.Now())
			want := []string{e.cfg.Alias + "-2026.10", e.cfg.Alias + "-2026.11", e.cfg.Alias + "-2026.12"}
			if !slices.Contains(want, current) {
				want = append(want, current)
				slices.Sort(want)
			}
			if !slices.Equal(idx, want) {
				t.Errorf("indices = %v, want %v", idx, want)
			}

			tests := []struct {
				name    string
				q       Query
				want    []string // ids in order
				total   int64
				russian bool // needs the Russian analyzer
			}{
				{"all not dropped, newest first", Query{}, elasticIDs([]otklik.Publication{corpus[5], corpus[3], corpus[2], corpus[1], corpus[0]}), 5, false},
				{"stemming: воды finds вода", Query{Text: "воды"}, elasticIDs([]otklik.Publication{corpus[1], corpus[0]}), 2, true},
				{"ё = е", Query{Text: "елка"}, elasticIDs([]otklik.Publication{corpus[5], corpus[2]}), 2, true},
				{"ё in the query", Query{Text: "ёлки"}, elasticIDs([]otklik.Publication{corpus[5], corpus[2]}), 2, true},
				{"all words must match", Query{Text: "вода ржавая"}, elasticIDs([]otklik.Publication{corpus[1]}), 1, true},
				{"stop words ignored", Query{Text: "по дороге"}, elasticIDs([]otklik.Publication{corpus[3]}), 1, true},
				{"dropped only", Query{Dropped: true}, elasticIDs([]otklik.Publication{corpus[4]}), 1, false},
				{"dropped with text", Query{Dropped: true, Text: "воды"}, elasticIDs([]otklik.Publication{corpus[4]}), 1, false},
				{"topic and location", Query{Topic: "utilities", Location: "Саратов"}, elasticIDs([]otklik.Publication{corpus[0]}), 1, false},
				{"priority", Query{Priority: otklik.Critical}, elasticIDs([]otklik.Publication{corpus[3]}), 1, false},
				{"network", Query{Network: otklik.OK}, elasticIDs([]otklik.Publication{corpus[2]}), 1, false},
				{"time range, to exclusive", Query{From: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)},
					elasticIDs([]otklik.Publication{corpus[2], corpus[1]}), 2, false},
				{"ascending, paged", Query{Ascending: true, Offset: 1, Size: 2}, elasticIDs([]otklik.Publication{corpus[1], corpus[2]}), 5, false},
				{"no match", Query{Text: "космодром"}, nil, 0, false},
			}
			for _, tt := range tests {
				if tt.russian && e.cfg.Analyzer != AnalyzerRussian {
					t.Logf("%s: skipped, no Russian analyzer on this server", tt.name)
					continue
				}
				res, err := e.Search(ctx, tt.q)
				if err != nil {
					t.Errorf("%s: Search: %v", tt.name, err)
					continue
				}
				if got := elasticIDs(res.Publications); !slices.Equal(got, tt.want) || res.Total != tt.total {
					t.Errorf("%s: got %v (total %d), want %v (total %d)", tt.name, got, res.Total, tt.want, tt.total)
				}
			}
			if _, err := e.Search(ctx, Query{Size: MaxSize + 1}); !errors.Is(err, ErrBadQuery) {
				t.Errorf("Search with a bad size = %v, want ErrBadQuery", err)
			}
			if res, err := e.Search(ctx, Query{Offset: MaxOffset, Size: MaxSize}); err != nil || len(res.Publications) != 0 {
				t.Errorf("deepest page = %v, %v; want an empty page", res.Publications, err)
			}

			// An older version arriving late does not overwrite a newer one.
			newer := corpus[0]
			newer.Text = "Воду дали, спасибо"
			newer.EditedAt = newer.FetchedAt.Add(time.Hour)
			older := corpus[0]
			older.Text = "Третий день нет воды (старая версия)"
			for _, p := range []otklik.Publication{newer, older} {
				if failed, err := e.Index(ctx, []otklik.Publication{p}); err != nil || len(failed) != 0 {
					t.Fatalf("Index version: %v %v", failed, err)
				}
			}
			if got, err := e.Get(ctx, newer.ID); err != nil || got.Text != newer.Text {
				t.Fatalf("after a stale write Get = %q, %v; want %q", got.Text, err, newer.Text)
			}
			if n := elasticCounter(t, reg, "otklik_index_bulk_items_total", "result", "stale"); n != 1 {
				t.Errorf("stale items = %v, want 1", n)
			}
		})
	}
}

// TestElasticEngineDown: with nothing listening, Index is a batch error (retry later)
// and Ready fails.
func TestElasticEngineDown(t *testing.T) {
	cfg := DefaultElasticConfig()
	cfg.URLs = []string{"http://127.0.0.1:1"}
	cfg.Retries = 1
	cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, time.Millisecond
	e, err := NewElastic(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Ready(ctx); err == nil {
		t.Error("Ready succeeded with no engine")
	}
	failed, err := e.Index(ctx, elasticCorpus())
	if err == nil || len(failed) != 0 {
		t.Errorf("Index = %v, %v; want a batch error and no per-item failures", failed, err)
	}
}
