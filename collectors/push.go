package collectors

import (
	"context"
	"fmt"
	"time"

	"github.com/otklik/otklik"
	"github.com/prometheus/client_golang/prometheus"
)

// Push delivers publications that the network pushes to Otklik (VK Callback API and
// Streaming API, Meta webhooks) to the sink, counting them in the same metrics as the
// poller. A push handler acknowledges to the network only after Deliver returned nil, so
// the network retries anything not stored.
type Push struct {
	network otklik.Network
	kind    string
	sink    Sink
	m       *Metrics
	now     func() time.Time
}

// NewPush returns a Push for one network and source kind (callback, streaming, webhook).
func NewPush(network otklik.Network, kind string, sink Sink, reg prometheus.Registerer) (*Push, error) {
	if sink == nil {
		return nil, fmt.Errorf("collectors: %s %s push needs a sink", network, kind)
	}
	m, err := NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Push{network: network, kind: kind, sink: sink, m: m, now: time.Now}, nil
}

// Deliver validates pubs (filling ids) and hands them to the sink.
func (p *Push) Deliver(ctx context.Context, pubs []otklik.Publication) error {
	net := string(p.network)
	for i := range pubs {
		if err := pubs[i].Validate(); err != nil {
			p.Fail(ReasonMalformed)
			return fmt.Errorf("%s %s push: %w", net, p.kind, err)
		}
	}
	if len(pubs) > 0 {
		if err := p.sink.Deliver(ctx, pubs); err != nil {
			p.Fail(ReasonDeliver)
			return fmt.Errorf("%s %s push: deliver: %w", net, p.kind, err)
		}
	}
	p.m.Requests.WithLabelValues(net, p.kind, ResultOK).Inc()
	p.m.Publications.WithLabelValues(net, p.kind).Add(float64(len(pubs)))
	p.m.LastSuccess.WithLabelValues(net, p.kind).Set(float64(p.now().UnixNano()) / 1e9)
	return nil
}

// Fail counts a rejected or failed push (bad signature, malformed body, delivery error).
func (p *Push) Fail(reason string) {
	p.m.Requests.WithLabelValues(string(p.network), p.kind, ResultError).Inc()
	p.m.Errors.WithLabelValues(string(p.network), p.kind, reason).Inc()
}
