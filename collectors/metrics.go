package collectors

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the collectors' Prometheus metrics. Pollers and push receivers (VK Callback
// API, Meta webhooks) registered on the same registry share them: NewMetrics returns the
// collectors already registered under these names.
type Metrics struct {
	// Requests counts API calls by result: ok, error, rate_limited, auth_error.
	Requests *prometheus.CounterVec
	// Publications counts publications delivered to the sink.
	Publications *prometheus.CounterVec
	// Errors counts failures by reason (see Reason).
	Errors *prometheus.CounterVec
	// LastSuccess is the Unix time of the last successful fetch or push.
	LastSuccess *prometheus.GaugeVec
	// FetchDuration observes fetch calls.
	FetchDuration *prometheus.HistogramVec
	// SourcesDisabled counts sources no longer polled because of an auth error.
	SourcesDisabled *prometheus.GaugeVec
}

// Request results: the values of the result label.
const (
	ResultOK          = "ok"
	ResultError       = "error"
	ResultRateLimited = "rate_limited"
	ResultAuthError   = "auth_error"
)

// NewMetrics registers the collector metrics on reg (or returns those already registered
// there). A nil reg gives unregistered metrics.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	labels := []string{"network", "source_kind"}
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otklik_collector_requests_total",
			Help: "Collector API calls and pushes received, by result (ok, error, rate_limited, auth_error).",
		}, []string{"network", "source_kind", "result"}),
		Publications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otklik_collector_publications_total",
			Help: "Publications (new, edited or deleted) delivered to the bus by collectors.",
		}, labels),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otklik_collector_errors_total",
			Help: "Collector failures by reason (rate_limit, auth, timeout, malformed, unavailable, network, api, deliver, position, signature).",
		}, []string{"network", "source_kind", "reason"}),
		LastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "otklik_collector_last_success_timestamp_seconds",
			Help: "Unix time of the last successful fetch (or push) per network and source kind.",
		}, labels),
		FetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "otklik_collector_fetch_duration_seconds",
			Help:    "Duration of one fetch call, rate-limit waits included.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, labels),
		SourcesDisabled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "otklik_collector_sources_disabled",
			Help: "Sources no longer polled because the network rejected the token (fix the token and restart).",
		}, labels),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.Requests, err = register(reg, m.Requests)
	if err != nil {
		return nil, err
	}
	if m.Publications, err = register(reg, m.Publications); err != nil {
		return nil, err
	}
	if m.Errors, err = register(reg, m.Errors); err != nil {
		return nil, err
	}
	if m.LastSuccess, err = register(reg, m.LastSuccess); err != nil {
		return nil, err
	}
	if m.FetchDuration, err = register(reg, m.FetchDuration); err != nil {
		return nil, err
	}
	if m.SourcesDisabled, err = register(reg, m.SourcesDisabled); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register collector metrics: %w", err)
	}
	return c, nil
}
