package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/cases"
	"github.com/otklik/otklik/cases/esstore"
	"github.com/otklik/otklik/cases/worktime"
	"github.com/otklik/otklik/classifier"
	"github.com/otklik/otklik/cmd/otklik/internal/config"
	occollectors "github.com/otklik/otklik/collectors"
	"github.com/otklik/otklik/collectors/agencies"
	"github.com/otklik/otklik/collectors/facebook"
	"github.com/otklik/otklik/collectors/instagram"
	"github.com/otklik/otklik/collectors/ok"
	"github.com/otklik/otklik/collectors/replay"
	"github.com/otklik/otklik/collectors/vk"
	"github.com/otklik/otklik/index"
	"github.com/otklik/otklik/pipeline"
	"github.com/otklik/otklik/pipeline/diskbus"
	"github.com/otklik/otklik/pipeline/kafkabus"
)

// engine is a search engine: the embedded Bleve index or Elasticsearch/OpenSearch.
type engine interface {
	pipeline.Indexer
	index.Searcher
	Ready(ctx context.Context) error
	Close() error
}

// daemon is one running Otklik process: the stages its configuration names, around one
// bus and one index, behind one HTTP server.
type daemon struct {
	cfg    *config.Config
	logger *slog.Logger
	reg    *prometheus.Registry

	bus     pipeline.Bus
	disk    *diskbus.Bus // the embedded bus, nil on Kafka
	engine  engine       // nil when this process neither indexes nor serves search
	metrics *pipeline.Metrics

	classify  *pipeline.ClassifyStage
	indexer   *pipeline.IndexStage
	cases     *cases.Service
	poller    *occollectors.Poller
	positions *occollectors.BoltPositions
	targets   []occollectors.Target
	tracker   *agencies.Tracker
	// push are the long-running push collectors (VK Streaming).
	push    []func(context.Context) error
	mux     *http.ServeMux
	closers []func() error
}

// newDaemon builds every part the configuration asks for. It opens the local files of the
// embedded mode but dials no server: a Kafka broker or search engine that is down only
// makes /readyz fail until it is up.
func newDaemon(cfg *config.Config, logger *slog.Logger) (d *daemon, err error) {
	d = &daemon{cfg: cfg, logger: logger, reg: prometheus.NewRegistry(), mux: http.NewServeMux()}
	built := d // "return nil, err" clears d before the deferred call runs
	defer func() {
		if err != nil {
			built.close()
		}
	}()
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "otklik_build_info", Help: "Otklik's version.",
		ConstLabels: prometheus.Labels{"version": version, "bus": cfg.Bus, "index": cfg.Index}})
	build.Set(1)
	d.reg.MustRegister(build)
	if d.metrics, err = pipeline.NewMetrics(d.reg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}

	switch cfg.Bus {
	case config.Kafka:
		kb, err := kafkabus.New(cfg.Kafka, logger, d.reg)
		if err != nil {
			return nil, fmt.Errorf("kafka: %w", err)
		}
		d.bus = kb
	default:
		// Case events are the record projections are rebuilt from: never trimmed.
		db, err := diskbus.Open(filepath.Join(cfg.DataDir, "bus"), diskbus.Options{Keep: []string{cfg.Cases.Topic}})
		if err != nil {
			return nil, err
		}
		d.bus, d.disk = db, db
		if err := d.reg.Register(db); err != nil {
			return nil, err
		}
	}
	d.closers = append(d.closers, d.bus.Close)

	if cfg.Index == config.Elastic || cfg.Runs(config.StageIndex) {
		if err := d.openEngine(); err != nil {
			return nil, err
		}
	}
	if cfg.Runs(config.StageClassify) {
		ccfg := cfg.Classifier
		if ccfg.Metrics, err = classifier.NewMetrics(d.reg); err != nil {
			return nil, err
		}
		cl, err := classifier.New(ccfg)
		if err != nil {
			return nil, fmt.Errorf("classifier: %w", err)
		}
		if d.classify, err = pipeline.NewClassifyStage(d.bus, "otklik-classify", cfg.Topics, cfg.Batch, cl, d.metrics, logger); err != nil {
			return nil, err
		}
	}
	if cfg.Runs(config.StageIndex) {
		if d.indexer, err = pipeline.NewIndexStage(d.bus, "otklik-index", cfg.Topics, cfg.Batch, d.engine, d.metrics, logger); err != nil {
			return nil, err
		}
	}
	if cfg.Runs(config.StageCases) {
		if err := d.openCases(); err != nil {
			return nil, err
		}
	}
	if cfg.Runs(config.StageCollect) {
		if err := d.openCollectors(); err != nil {
			return nil, err
		}
	}
	d.routes()
	return d, nil
}

func (d *daemon) openEngine() error {
	switch d.cfg.Index {
	case config.Elastic:
		es, err := index.NewElastic(d.cfg.Elastic, d.logger, d.reg)
		if err != nil {
			return fmt.Errorf("elastic: %w", err)
		}
		d.engine = es
	default:
		b, err := index.OpenBleve(filepath.Join(d.cfg.DataDir, "index", "publications.bleve"))
		if err != nil {
			return err
		}
		d.engine = b
	}
	d.closers = append(d.closers, d.engine.Close)
	return nil
}

func (d *daemon) openCases() error {
	clock, err := worktime.New(d.cfg.Worktime, d.logger, d.reg)
	if err != nil {
		return fmt.Errorf("worktime: %w", err)
	}
	var store cases.Store
	if d.cfg.Index == config.Elastic {
		// With a search engine, cases are projected there, next to the publications.
		es, err := esstore.New(casesStoreConfig(d.cfg.Elastic))
		if err != nil {
			return fmt.Errorf("cases store: %w", err)
		}
		store = es
	} else {
		bs, err := cases.OpenBoltStore(filepath.Join(d.cfg.DataDir, "cases"))
		if err != nil {
			return err
		}
		store = bs
	}
	d.closers = append(d.closers, store.Close)
	d.cases, err = cases.New(d.cfg.Cases, cases.Deps{Logger: d.logger, Registerer: d.reg, Clock: clock, Store: store, Producer: d.bus})
	if err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	return nil
}

func (d *daemon) openCollectors() error {
	pos, err := occollectors.OpenPositions(filepath.Join(d.cfg.DataDir, "positions.db"))
	if err != nil {
		return err
	}
	d.positions = pos
	d.closers = append(d.closers, pos.Close)
	bs := &busSink{bus: d.bus, topics: d.cfg.Topics}
	// The agencies' tracker marks and counts the agencies' own posts on their way to the
	// bus; every collector, polled or pushed, delivers through it.
	d.tracker, err = agencies.NewTracker(context.Background(), d.cfg.Agencies, pos, d.reg)
	if err != nil {
		return fmt.Errorf("agencies: %w", err)
	}
	sink := d.tracker.Wrap(bs)

	files := d.cfg.Replay
	if d.cfg.Demo {
		files = append([]replay.Config{{Path: replay.DemoName}}, files...)
	}
	for _, rc := range files {
		r, err := replay.New(rc, bs, nil)
		if err != nil {
			return err
		}
		d.targets = append(d.targets, r.Target())
	}
	if err := d.openNetworks(sink); err != nil {
		return err
	}
	d.poller, err = occollectors.NewPoller(d.cfg.Poller, sink, pos, d.logger, d.reg)
	return err
}

// openNetworks adds the configured networks' sources, with the agencies' own accounts
// among them, and mounts their push receivers.
func (d *daemon) openNetworks(sink occollectors.Sink) error {
	ag := d.cfg.Agencies
	vc := d.cfg.VK
	for _, id := range ag.Owners(otklik.VK) {
		n, err := strconv.Atoi(id)
		if err != nil {
			return fmt.Errorf("agencies: VK account %q is not a numeric owner id", id)
		}
		if !slices.Contains(vc.Walls, n) {
			vc.Walls = append(vc.Walls, n)
		}
	}
	if len(vc.Walls) > 0 || len(vc.Searches) > 0 || vc.Streaming.Enabled || vc.Callback.Secret != "" {
		if (len(vc.Walls) > 0 || len(vc.Searches) > 0) && vc.Token == "" {
			return errors.New("vk: walls or searches are configured but OTKLIK_VK_TOKEN (or OTKLIK_VK_TOKEN_FILE) is not set")
		}
		v, err := vk.New(vc)
		if err != nil {
			return fmt.Errorf("vk: %w", err)
		}
		if len(vc.Walls) > 0 || len(vc.Searches) > 0 {
			d.targets = append(d.targets, v.Targets()...)
		}
		if vc.Callback.Secret != "" {
			h, err := v.CallbackHandler(sink, d.reg, d.logger)
			if err != nil {
				return fmt.Errorf("vk callback: %w", err)
			}
			d.mux.Handle("/callbacks/vk", h)
		}
		if vc.Streaming.Enabled {
			d.push = append(d.push, func(ctx context.Context) error { return v.Stream(ctx, sink, d.reg, d.logger) })
		}
	}
	oc := d.cfg.OK
	for _, id := range ag.Owners(otklik.OK) {
		if !slices.Contains(oc.Groups, id) {
			oc.Groups = append(oc.Groups, id)
		}
	}
	if len(oc.Groups) > 0 {
		o, err := ok.New(oc)
		if err != nil {
			return fmt.Errorf("ok: %w", err)
		}
		d.targets = append(d.targets, o.Targets()...)
	}
	fc := d.cfg.Facebook
	for _, id := range ag.Owners(otklik.Facebook) {
		if !slices.Contains(fc.Pages, id) {
			fc.Pages = append(fc.Pages, id)
		}
	}
	if fc.Enabled {
		f, err := facebook.New(fc)
		if err != nil {
			return fmt.Errorf("facebook: %w", err)
		}
		d.targets = append(d.targets, f.Targets()...)
		h, err := f.WebhookHandler(sink, d.reg, d.logger)
		if err != nil {
			return fmt.Errorf("facebook webhook: %w", err)
		}
		d.mux.Handle("/webhooks/facebook", h)
	}
	if ic := d.cfg.Instagram; ic.Enabled {
		in, err := instagram.New(ic)
		if err != nil {
			return fmt.Errorf("instagram: %w", err)
		}
		d.targets = append(d.targets, in.Targets()...)
		h, err := in.WebhookHandler(sink, d.reg, d.logger)
		if err != nil {
			return fmt.Errorf("instagram webhook: %w", err)
		}
		d.mux.Handle("/webhooks/instagram", h)
	}
	return nil
}

func (d *daemon) routes() {
	d.mux.Handle("GET /metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg}))
	d.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	d.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := d.ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if d.engine != nil {
		zone, err := time.LoadLocation(d.cfg.Worktime.Zone)
		if err != nil {
			zone = time.UTC
		}
		index.NewAPI(d.engine, zone, d.logger).Register(d.mux)
	}
	if d.tracker != nil {
		d.mux.Handle("GET /api/v1/agencies/accounts", d.tracker.Handler())
	}
	if d.cases != nil {
		h := d.cases.Handler()
		d.mux.Handle("/api/v1/cases", h)
		d.mux.Handle("/api/v1/cases/", h)
	}
}

func (d *daemon) ready(ctx context.Context) error {
	if err := d.bus.Ready(ctx); err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	if d.engine != nil {
		if err := d.engine.Ready(ctx); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	return nil
}

// run serves until ctx is done, then stops in order: collectors first, then (embedded)
// waits for the stages to drain what is already on the bus, then the stages, the HTTP
// server, and closes the index and the bus.
func (d *daemon) run(ctx context.Context) error {
	ln, err := net.Listen("tcp", d.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	srv := &http.Server{Handler: d.mux, ReadHeaderTimeout: 10 * time.Second}
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()

	// Production servers get their topics, templates and indices before the stages use
	// them (idempotent; a server still starting only delays the stages).
	if m := newMigration(d.cfg); len(m.brokers)+len(m.urls) > 0 {
		_ = d.retry(ctx, "migration", func(ctx context.Context) error { return m.run(ctx, d.logger, nil) })
	}
	failed := make(chan error, 8)
	stageCtx, stopStages := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStages()
	var stages sync.WaitGroup
	start := func(name string, run func(context.Context) error) {
		stages.Add(1)
		go func() {
			defer stages.Done()
			if err := run(stageCtx); err != nil && stageCtx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	if d.classify != nil {
		start("classify", d.classify.Run)
	}
	if d.indexer != nil {
		start("index", d.indexer.Run)
	}
	if d.disk != nil {
		start("bus retention", d.trimLoop)
	}
	if d.cases != nil {
		start("cases", func(ctx context.Context) error { return d.cases.Run(ctx, d.bus) })
		start("cases monitor", d.cases.RunMonitor)
	}
	collectCtx, stopCollect := context.WithCancel(ctx)
	defer stopCollect()
	var collect sync.WaitGroup
	for _, push := range d.push {
		collect.Add(1)
		go func() {
			defer collect.Done()
			if err := push(collectCtx); err != nil && collectCtx.Err() == nil {
				failed <- fmt.Errorf("collect: %w", err)
			}
		}()
	}
	if d.poller != nil {
		collect.Add(1)
		go func() {
			defer collect.Done()
			if err := d.poller.Run(collectCtx, d.targets); err != nil && collectCtx.Err() == nil {
				failed <- fmt.Errorf("collect: %w", err)
			}
		}()
	}
	d.logger.Info("otklik started", "version", version, "http", ln.Addr().String(), "bus", d.cfg.Bus,
		"index", d.cfg.Index, "stages", d.cfg.Stages, "data_dir", d.cfg.DataDir, "sources", len(d.targets))

	var runErr error
	select {
	case <-ctx.Done():
		d.logger.Info("otklik stopping")
	case runErr = <-failed:
		d.logger.Error("otklik stopping after a failure", "err", runErr)
	case err := <-httpErr:
		runErr = fmt.Errorf("http: %w", err)
		d.logger.Error("otklik stopping after a failure", "err", runErr)
	}
	stopCollect()
	collect.Wait()
	if runErr == nil {
		d.drain()
	}
	stopStages()
	stages.Wait()
	shut, cancel := context.WithTimeout(context.Background(), d.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && runErr == nil {
		runErr = fmt.Errorf("http shutdown: %w", err)
	}
	if err := d.close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		d.logger.Info("otklik stopped")
	}
	return runErr
}

// drain waits, on the embedded bus, until the stages have committed everything the
// collectors delivered, or the drain timeout passes (what is left is processed after
// the next start: nothing is lost either way).
func (d *daemon) drain() {
	if d.disk == nil {
		return
	}
	deadline := time.Now().Add(d.cfg.Batch.DrainTimeout)
	for time.Now().Before(deadline) {
		lag, err := d.disk.Lag()
		if err != nil {
			return
		}
		pending := int64(0)
		for k, v := range lag {
			if k[1] == d.cfg.Topics.DeadLetter {
				continue
			}
			pending += v
		}
		if pending == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.logger.Warn("stopping before the stages drained the bus; the rest is processed after the next start")
}

// retry runs f until it succeeds or ctx ends, backing off from 1 s to 1 min; a server
// that is down at start-up delays the stage instead of failing the process. One log line
// per outage.
func (d *daemon) retry(ctx context.Context, what string, f func(context.Context) error) error {
	if f == nil {
		return nil
	}
	delay := time.Second
	for logged := false; ; {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if !logged {
			d.logger.Warn(what+" failed, retrying", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Minute)
	}
}

// trimLoop applies the embedded bus's retention once an hour.
func (d *daemon) trimLoop(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := d.disk.Trim(); err != nil {
			d.logger.Warn("bus retention failed", "err", err)
		} else if n > 0 {
			d.logger.Info("bus retention trimmed old messages", "messages", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (d *daemon) close() error {
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	d.closers = nil
	return errors.Join(errs...)
}

// busSink delivers collected publications to the raw topic and rejected input to the
// dead-letter topic.
type busSink struct {
	bus    pipeline.Producer
	topics pipeline.Topics
}

// Deliver implements collectors.Sink.
func (s *busSink) Deliver(ctx context.Context, pubs []otklik.Publication) error {
	msgs := make([]pipeline.Message, 0, len(pubs))
	for i := range pubs {
		if err := pubs[i].Validate(); err != nil {
			return err
		}
		m, err := pipeline.EncodePublication(s.topics.Raw, &pubs[i])
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	return s.bus.Produce(ctx, msgs...)
}

// Reject implements replay.DeadLetters.
func (s *busSink) Reject(ctx context.Context, source string, line []byte, cause error) error {
	return s.bus.Produce(ctx, pipeline.Message{Topic: s.topics.DeadLetter, Value: line, Headers: map[string]string{
		pipeline.HeaderError: cause.Error(), pipeline.HeaderStage: "collect", pipeline.HeaderSourceTopic: "replay:" + source,
	}})
}
