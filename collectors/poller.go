package collectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/otklik/otklik"
	"github.com/prometheus/client_golang/prometheus"
)

// PollerConfig tunes the shared poller.
type PollerConfig struct {
	// Interval is how often a source is polled when its Source.Interval is zero.
	Interval time.Duration `yaml:"interval" json:"interval"`
	// Timeout bounds one fetch call, rate-limit waits included, and one delivery.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// BackoffMin is the first wait after a failure; it doubles per consecutive failure…
	BackoffMin time.Duration `yaml:"backoff_min" json:"backoff_min"`
	// BackoffMax … up to BackoffMax.
	BackoffMax time.Duration `yaml:"backoff_max" json:"backoff_max"`
	// MaxPages is how many pages (Page.More) are fetched back to back before the source
	// yields until its next interval; it keeps one busy source from starving the others.
	MaxPages int `yaml:"max_pages" json:"max_pages"`
}

// DefaultPollerConfig returns the defaults: poll every minute, 30 s per call, back off
// from 5 s to 10 min, at most 50 pages per round.
func DefaultPollerConfig() PollerConfig {
	return PollerConfig{
		Interval:   time.Minute,
		Timeout:    30 * time.Second,
		BackoffMin: 5 * time.Second,
		BackoffMax: 10 * time.Minute,
		MaxPages:   50,
	}
}

// SetDefaults fills zero fields with the defaults.
func (c *PollerConfig) SetDefaults() {
	d := DefaultPollerConfig()
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = d.BackoffMin
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = d.BackoffMax
	}
	if c.MaxPages == 0 {
		c.MaxPages = d.MaxPages
	}
}

// Validate reports a configuration the poller cannot run with.
func (c PollerConfig) Validate() error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("collectors: interval must be positive, got %s", c.Interval))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("collectors: timeout must be positive, got %s", c.Timeout))
	}
	if c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin {
		errs = append(errs, fmt.Errorf("collectors: need 0 < backoff_min ≤ backoff_max, got %s and %s", c.BackoffMin, c.BackoffMax))
	}
	if c.MaxPages < 1 {
		errs = append(errs, fmt.Errorf("collectors: max_pages must be ≥ 1, got %d", c.MaxPages))
	}
	return errors.Join(errs...)
}

// Poller polls targets, delivers what they return to the sink and then persists their
// positions. It owns scheduling, timeouts, back-off, metrics and the one log line per
// failure streak; fetch functions only talk to their network.
type Poller struct {
	cfg       PollerConfig
	sink      Sink
	positions Positions
	log       *slog.Logger
	m         *Metrics
	now       func() time.Time
}

// NewPoller checks cfg and registers the collector metrics on reg. It starts nothing.
func NewPoller(cfg PollerConfig, sink Sink, positions Positions, logger *slog.Logger, reg prometheus.Registerer) (*Poller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sink == nil || positions == nil {
		return nil, errors.New("collectors: poller needs a sink and a positions store")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Poller{cfg: cfg, sink: sink, positions: positions, log: logger, m: m, now: time.Now}, nil
}

// Run polls targets until ctx is done, then waits for in-flight deliveries (each bounded
// by the configured timeout) and returns nil; it lasts as long as ctx even when there are
// no targets or all were disabled. It returns an error at once, polling
// nothing, when the targets are invalid (duplicate keys, no fetch function).
func (p *Poller) Run(ctx context.Context, targets []Target) error {
	seen := make(map[string]bool, len(targets))
	for _, t := range targets {
		switch {
		case t.Key == "":
			return fmt.Errorf("collectors: a %s %s target has no key", t.Network, t.Kind)
		case seen[t.Key]:
			return fmt.Errorf("collectors: duplicate target key %q", t.Key)
		case t.Fetch == nil:
			return fmt.Errorf("collectors: target %q has no fetch function", t.Key)
		case !t.Network.Valid():
			return fmt.Errorf("collectors: target %q has unknown network %q", t.Key, t.Network)
		case t.Kind == "":
			return fmt.Errorf("collectors: target %q has no kind", t.Key)
		}
		seen[t.Key] = true
	}
	var wg sync.WaitGroup
	for i, t := range targets {
		// Spread the first polls over one interval so hundreds of sources do not start
		// at the same instant.
		offset := time.Duration(0)
		if n := len(targets); n > 1 {
			offset = p.interval(t) * time.Duration(i) / time.Duration(n)
		}
		wg.Go(func() { p.poll(ctx, t, offset) })
	}
	wg.Wait()
	<-ctx.Done() // with no targets, or all disabled, Run still lasts as long as ctx
	return nil
}

func (p *Poller) interval(t Target) time.Duration {
	if t.Interval > 0 {
		return t.Interval
	}
	return p.cfg.Interval
}

// poll is the loop of one target.
func (p *Poller) poll(ctx context.Context, t Target, offset time.Duration) {
	net, kind := string(t.Network), t.Kind
	if !Sleep(ctx, offset) {
		return
	}
	failures := 0
	fail := func(err error, reason string) time.Duration {
		failures++
		p.m.Errors.WithLabelValues(net, kind, reason).Inc()
		if failures == 1 {
			p.log.Warn("collector source failing", "network", net, "source_kind", kind,
				"source", t.Key, "reason", reason, "error", err.Error())
		}
		return p.backoff(failures)
	}

	var cursor string
	for {
		c, err := p.positions.Load(ctx, t.Key)
		if err == nil {
			cursor = c
			break
		}
		if ctx.Err() != nil || !Sleep(ctx, fail(err, ReasonPosition)) {
			return
		}
	}

	pages := 0
	partialLogged := false // a partial failure is logged once per source and run
	for {
		page, err := p.fetch(ctx, t, cursor)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			reason := Reason(err)
			var auth *AuthError
			if errors.As(err, &auth) {
				p.m.Errors.WithLabelValues(net, kind, reason).Inc()
				p.m.SourcesDisabled.WithLabelValues(net, kind).Inc()
				p.log.Error("collector source disabled: the network rejected the token",
					"network", net, "source_kind", kind, "source", t.Key, "error", err.Error())
				return
			}
			wait := fail(err, reason)
			var rl *RateLimitError
			if errors.As(err, &rl) && rl.RetryAfter > wait {
				wait = rl.RetryAfter
			}
			if !Sleep(ctx, wait) {
				return
			}
			continue
		}

		for i, perr := range page.Partial {
			p.m.Errors.WithLabelValues(net, kind, Reason(perr)).Inc()
			if i == 0 && !partialLogged {
				partialLogged = true
				p.log.Warn("collector source partly failing", "network", net, "source_kind", kind,
					"source", t.Key, "reason", Reason(perr), "error", perr.Error(), "errors", len(page.Partial))
			}
		}
		if err := p.deliver(ctx, t, page.Publications); err != nil {
			if !Sleep(ctx, fail(err, ReasonDeliver)) {
				return
			}
			continue // the position is not advanced: the page is fetched again
		}
		if page.Cursor != "" && page.Cursor != cursor {
			if err := p.save(ctx, t.Key, page.Cursor); err != nil {
				// Delivered but not saved: after a restart the page is fetched and
				// delivered again, which is harmless (ids are stable).
				fail(err, ReasonPosition)
			}
			cursor = page.Cursor
		}
		if failures > 0 {
			p.log.Info("collector source recovered", "network", net, "source_kind", kind,
				"source", t.Key, "failures", failures)
			failures = 0
		}
		if page.More && pages+1 < p.cfg.MaxPages {
			pages++
			continue
		}
		pages = 0
		if !Sleep(ctx, p.interval(t)) {
			return
		}
	}
}

// fetch makes one bounded fetch call and counts it.
func (p *Poller) fetch(ctx context.Context, t Target, cursor string) (page Page, err error) {
	net, kind := string(t.Network), t.Kind
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: fetch panicked: %v", ErrMalformed, r)
			}
		}()
		page, err = t.Fetch(cctx, cursor)
	}()
	p.m.FetchDuration.WithLabelValues(net, kind).Observe(time.Since(start).Seconds())
	if err != nil && ctx.Err() != nil {
		return page, err // shutting down: not a failure
	}
	result := ResultOK
	if err != nil {
		var rl *RateLimitError
		var auth *AuthError
		switch {
		case errors.As(err, &rl):
			result = ResultRateLimited
		case errors.As(err, &auth):
			result = ResultAuthError
		default:
			result = ResultError
		}
	}
	p.m.Requests.WithLabelValues(net, kind, result).Inc()
	if err == nil {
		p.m.LastSuccess.WithLabelValues(net, kind).Set(float64(p.now().UnixNano()) / 1e9)
	}
	return page, err
}

// deliver validates pubs (filling ids), drops and counts the invalid ones, and hands the
// rest to the sink. It survives ctx's cancellation for up to the configured timeout so
// that a delivery in flight at shutdown finishes.
func (p *Poller) deliver(ctx context.Context, t Target, pubs []otklik.Publication) error {
	if len(pubs) == 0 {
		return nil
	}
	valid := pubs[:0:0]
	for i := range pubs {
		pub := pubs[i]
		if pub.Source == "" {
			pub.Source = t.Key
		}
		if err := pub.Validate(); err != nil {
			p.m.Errors.WithLabelValues(string(t.Network), t.Kind, ReasonMalformed).Inc()
			continue
		}
		valid = append(valid, pub)
	}
	if len(valid) == 0 {
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
	defer cancel()
	if err := p.sink.Deliver(dctx, valid); err != nil {
		return fmt.Errorf("deliver %d publications from %s: %w", len(valid), t.Key, err)
	}
	p.m.Publications.WithLabelValues(string(t.Network), t.Kind).Add(float64(len(valid)))
	return nil
}

func (p *Poller) save(ctx context.Context, key, cursor string) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
	defer cancel()
	return p.positions.Save(sctx, key, cursor)
}

// backoff returns the wait after the n-th consecutive failure: BackoffMin·2^(n−1), capped
// at BackoffMax, with up to 25 % random jitter subtracted so that sources sharing a token
// do not retry in lockstep.
func (p *Poller) backoff(n int) time.Duration {
	d := p.cfg.BackoffMin
	for i := 1; i < n && d < p.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.cfg.BackoffMax)
	return d - time.Duration(rand.Float64()*0.25*float64(d))
}

// Sleep waits d or until ctx is done; it reports whether to go on (false once ctx is
// done). It is how the poller and the push receivers back off.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
