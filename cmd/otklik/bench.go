package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/classifier"
	"github.com/otklik/otklik/collectors/replay"
	"github.com/otklik/otklik/index"
	"github.com/otklik/otklik/pipeline"
	"github.com/otklik/otklik/pipeline/kafkabus"
)

// benchCmd measures the production pipeline on real servers:
//
//	(a) the raw bulk-indexing rate of N publications into a fresh index with
//	    esutil.BulkIndexer: the limit;
//	(b) end to end: N publications produced to a fresh raw topic, classified and indexed
//	    by the pipeline's stages in-process, until all are searchable (count);
//	(c) a steady rate (500/s) for a while, with the latency from produce to searchable.
//
// Every run works on topics and indices of its own (otklik-bench-<run>…) and removes them
// at the end unless --keep.
func benchCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "bench", "bench [--brokers HOST:PORT,…] [--elastic URL,…] [--n N] [--rate R --duration D]")
	brokers := fs.String("brokers", envOr(c, "OTKLIK_KAFKA_BROKERS", "127.0.0.1:9092"), "Kafka `brokers` (env OTKLIK_KAFKA_BROKERS)")
	elastic := fs.String("elastic", envOr(c, "OTKLIK_ELASTIC_URLS", "http://127.0.0.1:9200"), "search engine `URLs` (env OTKLIK_ELASTIC_URLS)")
	var o benchOptions
	fs.IntVar(&o.n, "n", 50000, "publications for the throughput runs (a) and (b)")
	fs.IntVar(&o.rate, "rate", 500, "publications per second of the steady run (c); 0 skips it")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "length of the steady run (c)")
	fs.IntVar(&o.partitions, "partitions", 6, "partitions of the bench topics")
	fs.IntVar(&o.repeat, "repeat", 3, "rounds of (a) then (b)")
	batch := pipeline.DefaultBatchConfig()
	fs.IntVar(&batch.Size, "batch", batch.Size, "stage batch size")
	fs.DurationVar(&batch.Linger, "linger", batch.Linger, "stage batch linger")
	ecfg := index.DefaultElasticConfig()
	fs.DurationVar(&ecfg.RefreshInterval, "refresh", ecfg.RefreshInterval, "refresh interval of the bench indices")
	fs.StringVar(&ecfg.Analyzer, "analyzer", envOr(c, "OTKLIK_ELASTIC_ANALYZER", ecfg.Analyzer), "text `analyzer`: russian, or standard for a server without the analysis-common module (env OTKLIK_ELASTIC_ANALYZER)")
	fs.IntVar(&ecfg.BulkWorkers, "bulk-workers", ecfg.BulkWorkers, "concurrent bulk requests per Index call (and BulkIndexer workers in (a))")
	fs.IntVar(&ecfg.BulkDocs, "bulk-docs", ecfg.BulkDocs, "documents per bulk request of the pipeline")
	fs.BoolVar(&o.keep, "keep", false, "keep the bench topics and indices")
	fs.BoolVar(&o.verbose, "v", false, "log the stages' warnings to stderr")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of run (b) to `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if o.n < 1 || o.rate < 0 || o.duration <= 0 || o.partitions < 1 || o.repeat < 1 {
		return fmt.Errorf("%w: --n, --duration, --partitions and --repeat must be positive, --rate not negative", errUsage)
	}
	kcfg := kafkabus.DefaultConfig()
	kcfg.Brokers = splitList(*brokers)
	kcfg.Partitions = o.partitions
	ecfg.URLs = splitList(*elastic)
	ecfg.Username = c.getenv("OTKLIK_ELASTIC_USERNAME")
	ecfg.Password = c.getenv("OTKLIK_ELASTIC_PASSWORD")
	o.kafka, o.elastic, o.batch = kcfg, ecfg, batch
	o.run = strconv.FormatInt(time.Now().Unix(), 36)
	level := slog.LevelError
	if o.verbose {
		level = slog.LevelWarn
	}
	o.logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))
	o.out = c.stdout
	return runBench(ctx, o)
}

// benchOptions is one bench run.
type benchOptions struct {
	n          int
	rate       int
	duration   time.Duration
	partitions int
	repeat     int
	keep       bool
	verbose    bool
	cpuProfile string
	run        string
	kafka      kafkabus.Config
	elastic    index.ElasticConfig
	batch      pipeline.BatchConfig
	logger     *slog.Logger
	out        io.Writer
}

// benchReport is what a run measured.
type benchReport struct {
	RawRate      float64 // (a) documents/s, BulkIndexer
	ProduceRate  float64 // (b) publications/s produced to the raw topic
	PipelineRate float64 // (b) publications/s from raw to searchable
	Steady       latencies
}

type latencies struct {
	Sent, Seen    int
	Rate          float64
	P50, P99, Max time.Duration
}

func runBench(ctx context.Context, o benchOptions) error {
	fmt.Fprintf(o.out, "otklik bench %s: n=%d, partitions=%d, batch=%d linger=%s, refresh=%s, bulk workers=%d docs=%d\n",
		o.run, o.n, o.partitions, o.batch.Size, o.batch.Linger, o.elastic.RefreshInterval, o.elastic.BulkWorkers, o.elastic.BulkDocs)
	cl, err := classifier.New(classifier.DefaultConfig())
	if err != nil {
		return fmt.Errorf("classifier: %w", err)
	}
	base, err := demoPublications()
	if err != nil {
		return err
	}
	var rep benchReport

	// (a) The limit: the same documents, classified beforehand, straight into the engine.
	raw := benchPublications(base, "a"+o.run, o.n)
	start := time.Now()
	for i := range raw {
		cl.Classify(&raw[i])
	}
	fmt.Fprintf(o.out, "classifier alone (one goroutine): %.0f publications/s\n", float64(o.n)/time.Since(start).Seconds())

	// (a) and (b) alternate, repeat times, so that the load of a shared machine touches
	// both alike; the ratio reported is the median of the rounds' ratios. (c) runs on
	// the pipeline of the last round.
	var ratios []float64
	run := o.run
	for r := range o.repeat {
		o.run = fmt.Sprintf("%s-%d", run, r)
		if rep.RawRate, err = benchRaw(ctx, o, raw); err != nil {
			return fmt.Errorf("(a) raw bulk: %w", err)
		}
		fmt.Fprintf(o.out, "round %d (a) raw bulk (esutil.BulkIndexer, %d workers): %d docs, %.0f docs/s\n",
			r+1, o.elastic.BulkWorkers, o.n, rep.RawRate)
		if o.verbose {
			rate, err := benchIndexOnly(ctx, o, raw)
			if err != nil {
				return fmt.Errorf("index only: %w", err)
			}
			fmt.Fprintf(o.out, "round %d (a') Elastic.Index alone, calls of %d: %.0f docs/s\n", r+1, o.batch.Size, rate)
		}
		if err := benchPipeline(ctx, o, cl, base, &rep, r == o.repeat-1); err != nil {
			return err
		}
		ratio := rep.PipelineRate / rep.RawRate
		ratios = append(ratios, ratio)
		fmt.Fprintf(o.out, "round %d (b) end to end (raw topic → classify → index → searchable): %.0f publications/s = %.2f of the raw bulk rate; produce alone %.0f/s\n",
			r+1, rep.PipelineRate, ratio, rep.ProduceRate)
	}
	slices.Sort(ratios)
	fmt.Fprintf(o.out, "(b)/(a) median of %d rounds: %.2f (goal ≥ 0.80; rounds %.2f…%.2f)\n",
		len(ratios), ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
	if o.rate > 0 {
		s := rep.Steady
		fmt.Fprintf(o.out, "(c) steady %d/s for %s: sent %d (%.0f/s), searchable %d; produce→searchable p50 %s, p99 %s (goal ≤ 2s), max %s\n",
			o.rate, o.duration, s.Sent, s.Rate, s.Seen, s.P50.Round(time.Millisecond), s.P99.Round(time.Millisecond), s.Max.Round(time.Millisecond))
		if s.Seen < s.Sent {
			return fmt.Errorf("(c) %d of %d publications never became searchable", s.Sent-s.Seen, s.Sent)
		}
	}
	return nil
}

// demoPublications are the bundled demo corpus: real-looking Russian texts of every
// topic, comments and posts.
func demoPublications() ([]otklik.Publication, error) {
	var out []otklik.Publication
	for _, line := range bytes.Split(replay.Demo(), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		p, err := replay.Parse(line)
		if err != nil {
			return nil, fmt.Errorf("demo corpus: %w", err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("demo corpus is empty")
	}
	return out, nil
}

// benchPublications makes n distinct publications from base (cycled), with owner run so
// that ids never collide across runs.
func benchPublications(base []otklik.Publication, run string, n int) []otklik.Publication {
	now := time.Now().UTC()
	out := make([]otklik.Publication, n)
	for i := range out {
		p := base[i%len(base)]
		p.ID = ""
		p.Owner = "bench-" + run
		p.PostID = strconv.Itoa(i)
		p.FetchedAt = now
		p.Class = nil
		if err := p.Validate(); err != nil {
			panic(err) // base publications are valid, and so are these
		}
		out[i] = p
	}
	return out
}

// newBenchEngine returns an engine on a fresh alias, migrated.
func newBenchEngine(ctx context.Context, o benchOptions, alias string, reg prometheus.Registerer) (*index.Elastic, func(), error) {
	cfg := o.elastic
	cfg.Alias = alias
	e, err := index.NewElastic(cfg, o.logger, reg)
	if err != nil {
		return nil, nil, err
	}
	if err := e.Migrate(ctx); err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		if !o.keep {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := e.Drop(ctx); err != nil {
				o.logger.Error("bench: drop indices", "alias", alias, "err", err)
			}
		}
		e.Close()
	}
	return e, cleanup, nil
}

// benchRaw indexes docs with esutil.BulkIndexer and returns documents per second, from
// the first Add until all are counted.
func benchRaw(ctx context.Context, o benchOptions, docs []otklik.Publication) (float64, error) {
	e, cleanup, err := newBenchEngine(ctx, o, "otklik-bench-"+o.run+"-raw", nil)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	type encoded struct {
		index string
		body  []byte
	}
	enc := make([]encoded, len(docs))
	for i := range docs {
		idx, src, err := e.Document(&docs[i])
		if err != nil {
			return 0, err
		}
		enc[i] = encoded{idx, src}
	}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:     e.Client(),
		NumWorkers: o.elastic.BulkWorkers,
	})
	if err != nil {
		return 0, err
	}
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	for i := range docs {
		err := bi.Add(ctx, esutil.BulkIndexerItem{
			Action:     "index",
			Index:      enc[i].index,
			DocumentID: docs[i].ID,
			Body:       bytes.NewReader(enc[i].body),
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, r esutil.BulkIndexerResponseItem, err error) {
				failed.Add(1)
				if err == nil {
					err = fmt.Errorf("HTTP %d: %s: %s", r.Status, r.Error.Type, r.Error.Reason)
				}
				firstErr.CompareAndSwap(nil, err.Error())
			},
		})
		if err != nil {
			return 0, err
		}
	}
	if err := bi.Close(ctx); err != nil {
		return 0, err
	}
	if n := failed.Load(); n > 0 {
		return 0, fmt.Errorf("%d documents failed, the first with: %v", n, firstErr.Load())
	}
	if err := waitCount(ctx, e, int64(len(docs)), 5*time.Minute); err != nil {
		return 0, err
	}
	return float64(len(docs)) / time.Since(start).Seconds(), nil
}

// benchIndexOnly writes docs with Elastic.Index in calls of the stage batch size, one
// after the other as the index stage does, without the bus: the engine's own rate.
func benchIndexOnly(ctx context.Context, o benchOptions, docs []otklik.Publication) (float64, error) {
	e, cleanup, err := newBenchEngine(ctx, o, "otklik-bench-"+o.run+"-idx", nil)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	start := time.Now()
	for i := 0; i < len(docs); i += o.batch.Size {
		failed, err := e.Index(ctx, docs[i:min(i+o.batch.Size, len(docs))])
		if err != nil {
			return 0, err
		}
		if len(failed) > 0 {
			return 0, fmt.Errorf("%d documents failed", len(failed))
		}
	}
	if err := waitCount(ctx, e, int64(len(docs)), 5*time.Minute); err != nil {
		return 0, err
	}
	return float64(len(docs)) / time.Since(start).Seconds(), nil
}

// waitCount refreshes and counts until the engine holds want documents.
func waitCount(ctx context.Context, e *index.Elastic, want int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := e.Refresh(ctx); err != nil {
			return err
		}
		n, err := e.Count(ctx)
		if err != nil {
			return err
		}
		if n >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d documents searchable after %s", n, want, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// benchPipeline runs (b) and (c) on fresh topics and a fresh index.
func benchPipeline(ctx context.Context, o benchOptions, cl *classifier.Classifier, base []otklik.Publication, rep *benchReport, withSteady bool) error {
	bus, err := kafkabus.New(o.kafka, o.logger, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	defer bus.Close()
	prefix := "otklik-bench-" + o.run
	topics := pipeline.Topics{Raw: prefix + ".raw", Classified: prefix + ".classified", Dropped: prefix + ".dropped", DeadLetter: prefix + ".deadletter"}
	specs := topicSpecs(topics, "", 0)
	if err := bus.Migrate(ctx, specs); err != nil {
		return err
	}
	if !o.keep {
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := bus.DeleteTopics(ctx, topics.Raw, topics.Classified, topics.Dropped, topics.DeadLetter); err != nil {
				o.logger.Error("bench: delete topics", "err", err)
			}
		}()
	}
	reg := prometheus.NewRegistry()
	e, cleanup, err := newBenchEngine(ctx, o, prefix+"-e2e", reg)
	if err != nil {
		return err
	}
	defer cleanup()

	metrics, err := pipeline.NewMetrics(reg)
	if err != nil {
		return err
	}
	cs, err := pipeline.NewClassifyStage(bus, prefix+"-classify", topics, o.batch, cl, metrics, o.logger)
	if err != nil {
		return err
	}
	is, err := pipeline.NewIndexStage(bus, prefix+"-index", topics, o.batch, e, metrics, o.logger)
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stageErr := make(chan error, 2)
	for _, run := range []func(context.Context) error{cs.Run, is.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(sctx); err != nil {
				stageErr <- err
			}
		}()
	}
	defer func() {
		stop()
		wg.Wait()
	}()

	// Warm-up: the groups join and the first batches go through before timing starts.
	const warm = 200
	if err := produceAll(ctx, bus, topics.Raw, benchPublications(base, "w"+o.run, warm)); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if err := waitCount(ctx, e, warm, 2*time.Minute); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	// (b) Throughput: produce n as fast as possible while the stages run; the clock runs
	// from the first produce to the last publication searchable.
	pubs := benchPublications(base, "b"+o.run, o.n)
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	if err := produceAll(ctx, bus, topics.Raw, pubs); err != nil {
		return fmt.Errorf("(b) produce: %w", err)
	}
	rep.ProduceRate = float64(o.n) / time.Since(start).Seconds()
	if err := waitCount(ctx, e, int64(warm+o.n), 10*time.Minute); err != nil {
		return fmt.Errorf("(b): %w", err)
	}
	rep.PipelineRate = float64(o.n) / time.Since(start).Seconds()
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if o.verbose {
		printHistograms(o.out, reg)
	}
	select {
	case err := <-stageErr:
		return fmt.Errorf("stage: %w", err)
	default:
	}
	if o.rate == 0 || !withSteady {
		return nil
	}
	// (c) Latency at a steady rate.
	lat, err := steady(ctx, o, bus, e, topics.Raw, base)
	if err != nil {
		return fmt.Errorf("(c): %w", err)
	}
	rep.Steady = lat
	return nil
}

// produceAll produces pubs keyed by id, in chunks.
func produceAll(ctx context.Context, bus *kafkabus.Bus, topic string, pubs []otklik.Publication) error {
	const chunk = 2000
	for i := 0; i < len(pubs); i += chunk {
		msgs, err := encodeAll(topic, pubs[i:min(i+chunk, len(pubs))])
		if err != nil {
			return err
		}
		if err := bus.Produce(ctx, msgs...); err != nil {
			return err
		}
	}
	return nil
}

func encodeAll(topic string, pubs []otklik.Publication) ([]pipeline.Message, error) {
	msgs := make([]pipeline.Message, len(pubs))
	for i := range pubs {
		v, err := json.Marshal(&pubs[i])
		if err != nil {
			return nil, err
		}
		msgs[i] = pipeline.Message{Topic: topic, Key: []byte(pubs[i].ThreadID()), Value: v}
	}
	return msgs, nil
}

// steady produces o.rate publications per second for o.duration and measures, for each,
// the time from its produce call to the first search that finds it (polled every 50 ms
// with an ids query, without forcing refreshes: what a curator would see).
func steady(ctx context.Context, o benchOptions, bus *kafkabus.Bus, e *index.Elastic, topic string, base []otklik.Publication) (latencies, error) {
	total := int(float64(o.rate) * o.duration.Seconds())
	pubs := benchPublications(base, "c"+o.run, total)
	var (
		mu      sync.Mutex
		sentAt  = map[string]time.Time{}
		lat     []time.Duration
		sendErr error
	)
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		sent := 0
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for sent < total {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			due := min(total, int(time.Since(start).Seconds()*float64(o.rate)))
			if due <= sent {
				continue
			}
			msgs, err := encodeAll(topic, pubs[sent:due])
			if err != nil {
				sendErr = err
				return
			}
			now := time.Now()
			mu.Lock()
			for _, p := range pubs[sent:due] {
				sentAt[p.ID] = now
			}
			mu.Unlock()
			if err := bus.Produce(ctx, msgs...); err != nil {
				sendErr = err
				return
			}
			sent = due
		}
	}()
	var sendEnd time.Time
	deadline := time.Now().Add(o.duration + 60*time.Second)
	for {
		select {
		case <-ctx.Done():
			return latencies{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		mu.Lock()
		pending := make([]string, 0, len(sentAt))
		for id := range sentAt {
			pending = append(pending, id)
		}
		mu.Unlock()
		if len(pending) > 0 {
			found, err := e.Existing(ctx, pending)
			if err != nil {
				return latencies{}, err
			}
			now := time.Now()
			mu.Lock()
			for _, id := range found {
				if t, ok := sentAt[id]; ok {
					lat = append(lat, now.Sub(t))
					delete(sentAt, id)
				}
			}
			left := len(sentAt)
			mu.Unlock()
			select {
			case <-done:
				if sendEnd.IsZero() {
					sendEnd = time.Now()
				}
				if left == 0 {
					goto finished
				}
			default:
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
finished:
	<-done
	if sendErr != nil {
		return latencies{}, sendErr
	}
	slices.Sort(lat)
	res := latencies{Sent: total, Seen: len(lat)}
	if !sendEnd.IsZero() {
		res.Rate = float64(total) / sendEnd.Sub(start).Seconds()
	}
	if len(lat) > 0 {
		res.P50 = lat[len(lat)*50/100]
		res.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
		res.Max = lat[len(lat)-1]
	}
	return res, nil
}

// printHistograms prints count and mean of every histogram in reg (stage batches, bulk
// requests), for tuning.
func printHistograms(w io.Writer, reg prometheus.Gatherer) {
	mfs, err := reg.Gather()
	if err != nil {
		return
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h == nil || h.GetSampleCount() == 0 {
				continue
			}
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			fmt.Fprintf(w, "  %s%v: %d, mean %.1f ms\n", mf.GetName(), labels, h.GetSampleCount(),
				1000*h.GetSampleSum()/float64(h.GetSampleCount()))
		}
	}
}
