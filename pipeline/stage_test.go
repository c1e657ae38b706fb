package pipeline_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/index"
	"github.com/otklik/otklik/pipeline"
	"github.com/otklik/otklik/pipeline/diskbus"
)

// wordClassifier drops texts containing "дурак" and calls everything else housing.
type wordClassifier struct{}

func (wordClassifier) Classify(p *otklik.Publication) {
	p.Class = &otklik.Classification{Topic: "housing", Priority: otklik.Medium}
	if strings.Contains(p.Text, "дурак") {
		p.Class.Drop = []otklik.DropReason{otklik.Insult}
	}
}

// flakyIndexer fails the first n calls as a whole, then delegates.
type flakyIndexer struct {
	mu    sync.Mutex
	n     int
	inner pipeline.Indexer
	calls int
}

func (f *flakyIndexer) Index(ctx context.Context, docs []otklik.Publication) (map[string]error, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.n
	f.mu.Unlock()
	if fail {
		return nil, errors.New("engine unavailable")
	}
	// The engine refuses documents whose text is "refused", as Elasticsearch refuses a
	// document that does not fit its mapping.
	failed := map[string]error{}
	var ok []otklik.Publication
	for _, d := range docs {
		if d.Text == "refused" {
			failed[d.ID] = errors.New("mapper_parsing_exception")
			continue
		}
		ok = append(ok, d)
	}
	if _, err := f.inner.Index(ctx, ok); err != nil {
		return nil, err
	}
	return failed, nil
}

func raw(t *testing.T, id, text string) pipeline.Message {
	t.Helper()
	p := otklik.Publication{Network: otklik.VK, Owner: "-1", PostID: id, Kind: otklik.Post, Text: text}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := pipeline.EncodePublication("otklik.raw", &p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// setup opens a real embedded bus and index in a temporary directory, with fresh metrics
// and the default topics and batch settings.
func setup(t *testing.T) (*diskbus.Bus, *index.Bleve, *pipeline.Metrics, pipeline.Topics, pipeline.BatchConfig, *slog.Logger) {
	t.Helper()
	dir := t.TempDir()
	bus, err := diskbus.Open(filepath.Join(dir, "bus"), diskbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	ix, err := index.OpenBleve(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	m, err := pipeline.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return bus, ix, m, pipeline.DefaultTopics(), pipeline.DefaultBatchConfig(), slog.New(slog.NewTextHandler(io.Discard, nil))
}

func TestStagesEndToEnd(t *testing.T) {
	bus, ix, m, topics, batch, logger := setup(t)
	batch.Linger = 20 * time.Millisecond
	batch.RetryMin = time.Millisecond
	flaky := &flakyIndexer{n: 2, inner: ix}

	ctx := context.Background()
	msgs := []pipeline.Message{raw(t, "1", "нет воды"), raw(t, "2", "ты дурак"), raw(t, "3", "refused"),
		{Topic: "otklik.raw", Value: []byte("{not json")}, raw(t, "4", "опять нет воды")}
	if err := bus.Produce(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	cs, err := pipeline.NewClassifyStage(bus, "classify", topics, batch, wordClassifier{}, m, logger)
	if err != nil {
		t.Fatal(err)
	}
	is, err := pipeline.NewIndexStage(bus, "index", topics, batch, flaky, m, logger)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{cs.Run, is.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(runCtx); err != nil {
				t.Error(err)
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		off, _ := bus.Committed("index", topics.Classified)
		doff, _ := bus.Committed("index", topics.Dropped)
		if off == 3 && doff == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index stage did not commit everything: classified %d dropped %d", off, doff)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()

	res, err := ix.Search(ctx, index.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 2 {
		t.Errorf("processed publications in the index = %d, want 2 (1 and 4)", res.Total)
	}
	res, _ = ix.Search(ctx, index.Query{Dropped: true})
	if res.Total != 1 || res.Publications[0].PostID != "2" || res.Publications[0].Class.Drop[0] != otklik.Insult {
		t.Errorf("dropped = %+v", res)
	}
	// Two dead letters: the malformed raw record (classify) and the refused document (index).
	dl, err := bus.Consumer("check", topics.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i := 0; i < 2; i++ {
		fctx, cancel := context.WithTimeout(ctx, time.Second)
		d, err := dl.Fetch(fctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		got[d.Headers[pipeline.HeaderStage]] = d.Headers[pipeline.HeaderError]
		if d.Headers[pipeline.HeaderStage] == "classify" && string(d.Value) != "{not json" {
			t.Errorf("dead letter lost the record: %q", d.Value)
		}
	}
	if !strings.Contains(got["classify"], "not a publication") || !strings.Contains(got["index"], "mapper_parsing_exception") {
		t.Errorf("dead letters = %v", got)
	}
	if v := testutil.ToFloat64(m.Retries.WithLabelValues("index")); v < 2 {
		t.Errorf("index retries = %v, want ≥ 2", v)
	}
	if v := testutil.ToFloat64(m.DeadLetters.WithLabelValues("classify")); v != 1 {
		t.Errorf("classify dead letters = %v", v)
	}
}

func TestConfigValidation(t *testing.T) {
	tp := pipeline.DefaultTopics()
	tp.Dropped = tp.Raw
	if err := tp.Validate(); err == nil {
		t.Error("duplicate topic names accepted")
	}
	tp = pipeline.DefaultTopics()
	tp.Raw = ""
	if err := tp.Validate(); err == nil {
		t.Error("empty topic accepted")
	}
	for _, mut := range []func(*pipeline.BatchConfig){
		func(c *pipeline.BatchConfig) { c.Size = 0 },
		func(c *pipeline.BatchConfig) { c.Linger = -1 },
		func(c *pipeline.BatchConfig) { c.RetryMax = c.RetryMin / 2 },
		func(c *pipeline.BatchConfig) { c.DrainTimeout = 0 },
	} {
		c := pipeline.DefaultBatchConfig()
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("bad batch config accepted: %+v", c)
		}
	}
}

// A deletion keeps the stored text and marks the publication deleted.
func TestDeletionKeepsStoredText(t *testing.T) {
	bus, ix, m, topics, batch, logger := setup(t)
	batch.Linger = 10 * time.Millisecond
	ctx := context.Background()
	orig := raw(t, "1", "нет воды")
	gone := otklik.Publication{Network: otklik.VK, Owner: "-1", PostID: "1", Kind: otklik.Post, Deleted: true,
		FetchedAt: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	gone.Validate()
	del, _ := pipeline.EncodePublication(topics.Raw, &gone)
	unknown := otklik.Publication{Network: otklik.VK, Owner: "-1", PostID: "2", Kind: otklik.Post, Deleted: true}
	unknown.Validate()
	del2, _ := pipeline.EncodePublication(topics.Raw, &unknown)
	cs, _ := pipeline.NewClassifyStage(bus, "c", topics, batch, wordClassifier{}, m, logger)
	is, _ := pipeline.NewIndexStage(bus, "i", topics, batch, ix, m, logger)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go cs.Run(runCtx)
	go is.Run(runCtx)
	wait := func(off int64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if c, _ := bus.Committed("i", topics.Classified); c >= off {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("index stage did not reach offset %d", off)
			}
		}
	}
	bus.Produce(ctx, orig)
	wait(1)
	bus.Produce(ctx, del, del2)
	wait(3)
	got, err := ix.Get(ctx, "vk:-1_1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Deleted || got.Text != "нет воды" || got.Class.Topic != "housing" || !got.FetchedAt.Equal(gone.FetchedAt) {
		t.Fatalf("deleted publication lost its content: %+v %+v", got, got.Class)
	}
	if got, err := ix.Get(ctx, "vk:-1_2"); err != nil || !got.Deleted {
		t.Fatalf("deletion of an unknown publication not recorded: %+v %v", got, err)
	}
}

// timedIndexer fails every call until a moment has passed.
type timedIndexer struct {
	until time.Time
	inner pipeline.Indexer
}

func (x *timedIndexer) Index(ctx context.Context, docs []otklik.Publication) (map[string]error, error) {
	if time.Now().Before(x.until) {
		return nil, errors.New("engine unavailable")
	}
	return x.inner.Index(ctx, docs)
}

// An outage longer than the drain timeout does not stop a running stage: the drain
// timeout only bounds the last batch at shutdown.
func TestOutageLongerThanDrainTimeout(t *testing.T) {
	bus, ix, m, topics, batch, logger := setup(t)
	batch.Linger, batch.RetryMin, batch.RetryMax, batch.DrainTimeout = time.Millisecond, 10*time.Millisecond, 20*time.Millisecond, 50*time.Millisecond
	is, err := pipeline.NewIndexStage(bus, "i", topics, batch, &timedIndexer{until: time.Now().Add(500 * time.Millisecond), inner: ix}, m, logger)
	if err != nil {
		t.Fatal(err)
	}
	p := otklik.Publication{Network: otklik.VK, Owner: "-1", PostID: "1", Text: "т", Class: &otklik.Classification{Topic: "other"}}
	p.Validate()
	msg, _ := pipeline.EncodePublication(topics.Classified, &p)
	bus.Produce(context.Background(), msg)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- is.Run(ctx) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, _ := bus.Committed("i", topics.Classified); c == 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the stage ended during the outage: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("not indexed after the outage")
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// TestEncodePublicationKeyedByThread: a comment's message is keyed like its post's, so that
// both land in one partition and reach the same classifier (its thread memory).
func TestEncodePublicationKeyedByThread(t *testing.T) {
	post := otklik.Publication{Network: otklik.VK, Owner: "-1", PostID: "10", Kind: otklik.Post, Text: "яма"}
	comment := otklik.Publication{Network: otklik.VK, Owner: "-1", PostID: "11", ParentID: "10", Kind: otklik.Comment, Text: "и у нас"}
	other := otklik.Publication{Network: otklik.VK, Owner: "-1", PostID: "12", Kind: otklik.Post, Text: "свет"}
	var keys []string
	for _, p := range []*otklik.Publication{&post, &comment, &other} {
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		m, err := pipeline.EncodePublication("otklik.raw", p)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, string(m.Key))
	}
	if keys[0] != keys[1] || keys[0] == keys[2] {
		t.Errorf("keys post %q, comment %q, other post %q: want the comment with its post only", keys[0], keys[1], keys[2])
	}
}
