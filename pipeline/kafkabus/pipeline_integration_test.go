package kafkabus_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/classifier"
	"github.com/otklik/otklik/collectors/replay"
	"github.com/otklik/otklik/index"
	"github.com/otklik/otklik/internal/testenv"
	"github.com/otklik/otklik/pipeline"
	"github.com/otklik/otklik/pipeline/kafkabus"
)

// harness is a production pipeline on the real servers: Kafka topics and an index alias
// of its own, the classify and index stages of package pipeline in-process.
type harness struct {
	t       *testing.T
	prefix  string
	brokers []string
	esURL   string
	topics  pipeline.Topics
	bus     *kafkabus.Bus
	es      *index.Elastic
	batch   pipeline.BatchConfig
	log     *slog.Logger
}

func newHarness(t *testing.T, brokers []string, esURL string) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prefix := fmt.Sprintf("otklik-it-%d", time.Now().UnixNano())
	h := &harness{
		t: t, prefix: prefix, brokers: brokers, esURL: esURL,
		topics: pipeline.Topics{Raw: prefix + ".raw", Classified: prefix + ".classified",
			Dropped: prefix + ".dropped", DeadLetter: prefix + ".deadletter"},
		batch: pipeline.BatchConfig{Size: 200, Linger: 100 * time.Millisecond, RetryMin: 100 * time.Millisecond,
			RetryMax: 3 * time.Second,
			// pipeline's loop bounds every batch, not only the last one at shutdown, by
			// DrainTimeout: a longer outage would end the stage. Long enough for the
			// faults here (see the report on pipeline/stage.go).
			DrainTimeout: 5 * time.Minute},
		log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	kcfg := kafkabus.DefaultConfig()
	kcfg.Brokers = brokers
	kcfg.Partitions = 3
	kcfg.SessionTimeout, kcfg.HeartbeatInterval = 6*time.Second, time.Second
	var err error
	if h.bus, err = kafkabus.New(kcfg, h.log, prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	if err := h.bus.Migrate(ctx, []kafkabus.TopicSpec{{Name: h.topics.Raw}, {Name: h.topics.Classified},
		{Name: h.topics.Dropped}, {Name: h.topics.DeadLetter}}); err != nil {
		t.Fatal(err)
	}
	ecfg := index.DefaultElasticConfig()
	ecfg.URLs = []string{esURL}
	ecfg.Alias = prefix
	ecfg.Retries, ecfg.BackoffMax = 3, time.Second
	if probe, err := index.NewElastic(ecfg, h.log, nil); err != nil {
		t.Fatal(err)
	} else if ok, err := probe.SupportsRussian(ctx); err != nil {
		t.Fatal(err)
	} else if !ok {
		// The Elasticsearch 8 that deployments/services builds from Maven Central jars has
		// no analysis-common module (it is not published there), so CI tests Elasticsearch
		// with the standard analyzer and the Russian analysis on OpenSearch.
		t.Log(esURL + " lacks the analysis-common module: indexing with the standard analyzer")
		ecfg.Analyzer = index.AnalyzerStandard
	}
	if h.es, err = index.NewElastic(ecfg, h.log, prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	if err := h.es.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		h.bus.DeleteTopics(ctx, h.topics.Raw, h.topics.Classified, h.topics.Dropped, h.topics.DeadLetter)
		h.es.Drop(ctx)
		h.bus.Close()
		h.es.Close()
	})
	return h
}

// start runs a stage until the returned stop is called (the test's end at the latest).
func (h *harness) start(name string, run func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := run(ctx); err != nil && ctx.Err() == nil {
			h.t.Errorf("%s stage: %v", name, err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	h.t.Cleanup(stop)
	return stop
}

func (h *harness) startClassify() func() {
	h.t.Helper()
	cl, err := classifier.New(classifier.DefaultConfig())
	if err != nil {
		h.t.Fatal(err)
	}
	m, err := pipeline.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := pipeline.NewClassifyStage(h.bus, h.prefix+"-classify", h.topics, h.batch, cl, m, h.log)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.start("classify", s.Run)
}

func (h *harness) startIndex() func() {
	h.t.Helper()
	m, err := pipeline.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := pipeline.NewIndexStage(h.bus, h.prefix+"-index", h.topics, h.batch, h.es, m, h.log)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.start("index", s.Run)
}

// publications makes n distinct publications from the demo corpus (cycled).
func (h *harness) publications(n int, tag string) []otklik.Publication {
	h.t.Helper()
	var base []otklik.Publication
	for _, line := range bytes.Split(replay.Demo(), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		p, err := replay.Parse(line)
		if err != nil {
			h.t.Fatal(err)
		}
		base = append(base, p)
	}
	out := make([]otklik.Publication, n)
	now := time.Now().UTC()
	for i := range out {
		p := base[i%len(base)]
		p.ID, p.Owner, p.PostID, p.FetchedAt, p.Class = "", h.prefix+"-"+tag, strconv.Itoa(i), now, nil
		if err := p.Validate(); err != nil {
			h.t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

func rawMessages(topic string, pubs []otklik.Publication) []pipeline.Message {
	msgs := make([]pipeline.Message, len(pubs))
	for i := range pubs {
		m, err := pipeline.EncodePublication(topic, &pubs[i])
		if err != nil {
			panic(err)
		}
		msgs[i] = m
	}
	return msgs
}

// produce writes msgs, retrying (as a collector does) until they are stored or ctx ends.
func (h *harness) produce(ctx context.Context, msgs []pipeline.Message) error {
	for {
		err := h.bus.Produce(ctx, msgs...)
		if err == nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// produceAtRate produces pubs at about rate per second in the background.
func (h *harness) produceAtRate(ctx context.Context, pubs []otklik.Publication, rate int) <-chan error {
	errc := make(chan error, 1)
	msgs := rawMessages(h.topics.Raw, pubs)
	go func() {
		start := time.Now()
		sent := 0
		for sent < len(msgs) {
			due := min(len(msgs), int(time.Since(start).Seconds()*float64(rate))+1)
			if due > sent {
				if err := h.produce(ctx, msgs[sent:due]); err != nil {
					errc <- err
					return
				}
				sent = due
			}
			select {
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		errc <- nil
	}()
	return errc
}

// count refreshes and counts, tolerating an engine that is down.
func (h *harness) count(ctx context.Context) (int64, error) {
	if err := h.es.Refresh(ctx); err != nil {
		return 0, err
	}
	return h.es.Count(ctx)
}

// waitCount waits until at least want documents are searchable.
func (h *harness) waitCount(ctx context.Context, want int64, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	var n int64
	var err error
	for time.Now().Before(deadline) {
		if n, err = h.count(ctx); err == nil && n >= want {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	h.t.Fatalf("%d of %d documents searchable after %s (last error: %v)", n, want, timeout, err)
}

// assertExactly checks that the index holds exactly pubs: each id once, nothing else.
func (h *harness) assertExactly(ctx context.Context, pubs []otklik.Publication) {
	h.t.Helper()
	n, err := h.count(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	if n != int64(len(pubs)) {
		h.t.Errorf("index holds %d documents, want %d (duplicates or losses)", n, len(pubs))
	}
	want := make([]string, len(pubs))
	for i, p := range pubs {
		want[i] = p.ID
	}
	found, err := h.es.Existing(ctx, want)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(found) != len(want) {
		missing := map[string]bool{}
		for _, id := range want {
			missing[id] = true
		}
		for _, id := range found {
			delete(missing, id)
		}
		h.t.Errorf("%d of %d publications missing from the index, e.g. %v", len(missing), len(want), firstKeys(missing, 5))
	}
}

func firstKeys(m map[string]bool, n int) []string {
	var out []string
	for k := range m {
		if len(out) == n {
			break
		}
		out = append(out, k)
	}
	return out
}

// deadLetters reads every record of the dead-letter topic.
func (h *harness) deadLetters(ctx context.Context) []pipeline.Message {
	h.t.Helper()
	lags, err := h.bus.Lag(ctx, h.prefix+"-dlq-reader", h.topics.DeadLetter)
	if err != nil {
		h.t.Fatal(err)
	}
	var total int64
	for _, l := range lags {
		total += l.End
	}
	if total == 0 {
		return nil
	}
	c, err := h.bus.Consumer(h.prefix+"-dlq-reader", h.topics.DeadLetter)
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	var out []pipeline.Message
	for int64(len(out)) < total {
		m, err := c.Fetch(ctx)
		if err != nil {
			h.t.Fatalf("read dead letters: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// TestPipelineAcceptance: publications produced to the raw topic are searchable with
// their classification; dropped ones only as dropped; malformed records land in the
// dead-letter topic with their error. Against every engine given.
func TestPipelineAcceptance(t *testing.T) {
	brokers := testenv.Kafka(t)
	for name, url := range testenv.Engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			h := newHarness(t, brokers, url)
			pubs := h.publications(320, "acc")
			msgs := rawMessages(h.topics.Raw, pubs)
			malformed := []pipeline.Message{
				{Topic: h.topics.Raw, Key: []byte("bad-json"), Value: []byte(`{"network": "vk", "post_id": `)},
				{Topic: h.topics.Raw, Key: []byte("bad-network"), Value: []byte(`{"network": "myspace", "post_id": "1", "text": "x"}`)},
			}
			if err := h.produce(ctx, append(msgs, malformed...)); err != nil {
				t.Fatal(err)
			}
			h.startClassify()
			h.startIndex()
			h.waitCount(ctx, int64(len(pubs)), 2*time.Minute)

			cl, err := classifier.New(classifier.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			var dropped, kept []string
			for _, p := range pubs {
				want := p
				cl.Classify(&want)
				got, err := h.es.Get(ctx, p.ID)
				if err != nil {
					t.Fatalf("Get %s: %v", p.ID, err)
				}
				if got.Class == nil || got.Class.Topic != want.Class.Topic || got.Class.Location != want.Class.Location ||
					got.Class.Priority != want.Class.Priority || !slices.Equal(got.Class.Drop, want.Class.Drop) {
					t.Errorf("%s: class %+v, want %+v", p.ID, got.Class, want.Class)
				}
				if want.Class.Dropped() {
					dropped = append(dropped, p.ID)
				} else {
					kept = append(kept, p.ID)
				}
			}
			if len(dropped) == 0 || len(kept) == 0 {
				t.Fatalf("the demo corpus gave %d dropped and %d kept; the test needs both", len(dropped), len(kept))
			}
			for _, c := range []struct {
				dropped bool
				want    []string
			}{{false, kept}, {true, dropped}} {
				var got []string
				for off := 0; ; off += index.MaxSize {
					res, err := h.es.Search(ctx, index.Query{Dropped: c.dropped, Offset: off, Size: index.MaxSize})
					if err != nil {
						t.Fatal(err)
					}
					if res.Total != int64(len(c.want)) {
						t.Errorf("dropped=%v: total %d, want %d", c.dropped, res.Total, len(c.want))
					}
					for _, p := range res.Publications {
						got = append(got, p.ID)
					}
					if len(res.Publications) < index.MaxSize {
						break
					}
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(c.want))
				if !slices.Equal(got, want) {
					t.Errorf("dropped=%v: %d found, want %d", c.dropped, len(got), len(want))
				}
			}

			dead := h.deadLetters(ctx)
			if len(dead) != len(malformed) {
				t.Fatalf("%d dead letters, want %d", len(dead), len(malformed))
			}
			for _, d := range dead {
				var src *pipeline.Message
				for i := range malformed {
					if bytes.Equal(malformed[i].Key, d.Key) {
						src = &malformed[i]
					}
				}
				if src == nil || !bytes.Equal(d.Value, src.Value) {
					t.Errorf("dead letter %q does not carry the failed record", d.Key)
				}
				if d.Headers[pipeline.HeaderError] == "" || d.Headers[pipeline.HeaderStage] != "classify" ||
					d.Headers[pipeline.HeaderSourceTopic] != h.topics.Raw {
					t.Errorf("dead letter %q headers %v", d.Key, d.Headers)
				}
			}
		})
	}
}

// serviceOf names the deployments/services service behind an engine.
func serviceOf(engine string) string { return engine } // "opensearch" or "elasticsearch"

func ctl(t *testing.T, script, action, service string) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(script, action, service).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s %s: %v\n%s", script, action, service, err, out)
	}
	t.Logf("%s %s took %s", action, service, time.Since(start).Round(time.Second))
}

// TestFaultEngineDown: the search engine is stopped for 60 s during ingestion and
// restarted; nothing is lost and nothing duplicated.
func TestFaultEngineDown(t *testing.T) {
	brokers := testenv.Kafka(t)
	script := testenv.Ctl(t)
	for name, url := range testenv.Engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			h := newHarness(t, brokers, url)
			h.startClassify()
			h.startIndex()
			pubs := h.publications(6000, "down")
			errc := h.produceAtRate(ctx, pubs, 60) // 100 s of ingestion
			h.waitCount(ctx, 300, time.Minute)
			ctl(t, script, "stop", serviceOf(name))
			restarted := false
			defer func() {
				if !restarted {
					exec.Command(script, "start", serviceOf(name)).Run()
				}
			}()
			time.Sleep(60 * time.Second)
			ctl(t, script, "start", serviceOf(name))
			restarted = true
			if err := <-errc; err != nil {
				t.Fatalf("produce: %v", err)
			}
			h.waitCount(ctx, int64(len(pubs)), 3*time.Minute)
			h.assertExactly(ctx, pubs)
			if dead := h.deadLetters(ctx); len(dead) != 0 {
				t.Errorf("%d dead letters, e.g. %v", len(dead), dead[0].Headers)
			}
		})
	}
}

// TestFaultBrokerRestart: the Kafka broker is restarted during ingestion.
func TestFaultBrokerRestart(t *testing.T) {
	brokers := testenv.Kafka(t)
	script := testenv.Ctl(t)
	url := firstEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	h := newHarness(t, brokers, url)
	h.startClassify()
	h.startIndex()
	pubs := h.publications(3000, "broker")
	errc := h.produceAtRate(ctx, pubs, 100)
	h.waitCount(ctx, 300, time.Minute)
	ctl(t, script, "restart", "kafka")
	if err := <-errc; err != nil {
		t.Fatalf("produce: %v", err)
	}
	h.waitCount(ctx, int64(len(pubs)), 3*time.Minute)
	h.assertExactly(ctx, pubs)
	if dead := h.deadLetters(ctx); len(dead) != 0 {
		t.Errorf("%d dead letters, e.g. %v", len(dead), dead[0].Headers)
	}
}

func firstEngine(t *testing.T) string {
	engines := testenv.Engines(t)
	if u, ok := engines["opensearch"]; ok {
		return u
	}
	for _, u := range engines {
		return u
	}
	return ""
}

// TestFaultIndexKilled: an `otklik run` process running only the index stage is killed
// with SIGKILL during ingestion (batches in flight) and started again.
func TestFaultIndexKilled(t *testing.T) {
	brokers := testenv.Kafka(t)
	url := firstEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "otklik")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/otklik/otklik/cmd/otklik")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build otklik: %v\n%s", err, out)
	}
	h := newHarness(t, brokers, url)
	env := append(os.Environ(),
		"OTKLIK_CONFIG=",
		"OTKLIK_BUS=kafka",
		"OTKLIK_INDEX=elastic",
		"OTKLIK_STAGES=index",
		"OTKLIK_DEMO=false",
		"OTKLIK_DATA_DIR="+t.TempDir(),
		"OTKLIK_HTTP_ADDR=127.0.0.1:0",
		"OTKLIK_LOG_LEVEL=warn",
		"OTKLIK_KAFKA_BROKERS="+strings.Join(brokers, ","),
		"OTKLIK_KAFKA_SESSION_TIMEOUT=6s",
		"OTKLIK_KAFKA_HEARTBEAT_INTERVAL=1s",
		"OTKLIK_ELASTIC_URLS="+url,
		"OTKLIK_ELASTIC_ALIAS="+h.prefix,
		"OTKLIK_TOPICS_RAW="+h.topics.Raw,
		"OTKLIK_TOPICS_CLASSIFIED="+h.topics.Classified,
		"OTKLIK_TOPICS_DROPPED="+h.topics.Dropped,
		"OTKLIK_TOPICS_DEAD_LETTER="+h.topics.DeadLetter,
		"OTKLIK_BATCH_SIZE=200",
		"OTKLIK_BATCH_LINGER=100ms",
	)
	var logs bytes.Buffer
	var logMu sync.Mutex
	startIndexer := func() *exec.Cmd {
		cmd := exec.Command(bin, "run")
		cmd.Env = env
		w := &lockedWriter{mu: &logMu, w: &logs}
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Start(); err != nil {
			t.Fatalf("start otklik run: %v", err)
		}
		return cmd
	}
	defer func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("otklik run output:\n%s", logs.String())
			logMu.Unlock()
		}
	}()

	h.startClassify()
	pubs := h.publications(4000, "kill")
	errc := h.produceAtRate(ctx, pubs, 100)
	first := startIndexer()
	h.waitCount(ctx, 800, 2*time.Minute)
	if err := first.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	state, _ := first.Process.Wait()
	n, _ := h.count(ctx)
	t.Logf("killed the index process (%v) with %d of %d indexed", state, n, len(pubs))
	if n >= int64(len(pubs)) {
		t.Fatal("everything was indexed before the kill: the test proves nothing")
	}
	second := startIndexer()
	defer func() {
		second.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { second.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			second.Process.Kill()
		}
	}()
	if err := <-errc; err != nil {
		t.Fatalf("produce: %v", err)
	}
	h.waitCount(ctx, int64(len(pubs)), 3*time.Minute)
	h.assertExactly(ctx, pubs)
	if dead := h.deadLetters(ctx); len(dead) != 0 {
		t.Errorf("%d dead letters, e.g. %v", len(dead), dead[0].Headers)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
