package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

type metrics struct {
	lag           *prometheus.GaugeVec
	lagErrors     prometheus.Counter
	produced      *prometheus.CounterVec
	produceErrors *prometheus.CounterVec
	fetchErrors   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "otklik_consumer_lag",
			Help: "Records not yet committed by a consumer group: the partition's high watermark minus the group's committed offset.",
		}, []string{"group", "topic", "partition"}),
		lagErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "otklik_consumer_lag_errors_total",
			Help: "Failed attempts to compute the consumer lag.",
		}),
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otklik_bus_produced_total",
			Help: "Messages acknowledged by Kafka, per topic.",
		}, []string{"topic"}),
		produceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otklik_bus_produce_errors_total",
			Help: "Failed attempts to produce a message to Kafka, per topic (each retry counts).",
		}, []string{"topic"}),
		fetchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otklik_bus_fetch_errors_total",
			Help: "Errors of a consumer group's reader while fetching (retried), per group.",
		}, []string{"group"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.lag, m.lagErrors, m.produced, m.produceErrors, m.fetchErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// PartitionLag is the lag of a consumer group on one partition.
type PartitionLag struct {
	Topic     string
	Partition int
	// Committed is the group's committed offset (-1 when it has committed nothing).
	Committed int64
	// End is the high watermark: the offset the next produced record will get.
	End int64
	// Lag is End minus Committed, or End minus the first available offset when nothing
	// is committed.
	Lag int64
}

// Lag computes the lag of group on every partition of topics from the committed offsets
// (OffsetFetch) and the high watermarks (ListOffsets). It is what the
// otklik_consumer_lag gauge reports, and it works for any group, open here or not.
func (b *Bus) Lag(ctx context.Context, group string, topics ...string) ([]PartitionLag, error) {
	md, err := b.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("kafkabus: lag: metadata: %w", err)
	}
	parts := map[string][]int{}
	offReq := map[string][]kafka.OffsetRequest{}
	for _, t := range md.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("kafkabus: lag: topic %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			parts[t.Name] = append(parts[t.Name], p.ID)
			offReq[t.Name] = append(offReq[t.Name], kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
		}
	}
	if len(parts) == 0 {
		return nil, nil
	}
	offs, err := b.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: offReq})
	if err != nil {
		return nil, fmt.Errorf("kafkabus: lag: list offsets: %w", err)
	}
	committed, err := b.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: parts})
	if err != nil {
		return nil, fmt.Errorf("kafkabus: lag: offset fetch: %w", err)
	}
	if committed.Error != nil {
		return nil, fmt.Errorf("kafkabus: lag: offset fetch: %w", committed.Error)
	}
	type tp struct {
		topic string
		part  int
	}
	comm := map[tp]int64{}
	for topic, ps := range committed.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("kafkabus: lag: offset fetch %s/%d: %w", topic, p.Partition, p.Error)
			}
			comm[tp{topic, p.Partition}] = p.CommittedOffset
		}
	}
	var out []PartitionLag
	for _, topic := range slices.Sorted(maps.Keys(offs.Topics)) {
		ps := offs.Topics[topic]
		slices.SortFunc(ps, func(a, b kafka.PartitionOffsets) int { return a.Partition - b.Partition })
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("kafkabus: lag: list offsets %s/%d: %w", topic, p.Partition, p.Error)
			}
			c, ok := comm[tp{topic, p.Partition}]
			if !ok {
				c = -1
			}
			pl := PartitionLag{Topic: topic, Partition: p.Partition, Committed: c, End: p.LastOffset}
			if c >= 0 {
				pl.Lag = p.LastOffset - c
			} else {
				pl.Lag = p.LastOffset - max(p.FirstOffset, 0)
			}
			pl.Lag = max(pl.Lag, 0)
			out = append(out, pl)
		}
	}
	return out, nil
}

// lagLoop refreshes the lag gauge every LagInterval for the groups of open consumers.
func (b *Bus) lagLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-stop
		cancel()
	}()
	t := time.NewTicker(b.cfg.LagInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		b.mu.Lock()
		groups := map[string][]string{}
		for g, gt := range b.groups {
			groups[g] = slices.Sorted(maps.Keys(gt.topics))
		}
		b.mu.Unlock()
		for g, topics := range groups {
			if err := b.updateLag(ctx, g, topics); err != nil && !errors.Is(err, context.Canceled) {
				b.m.lagErrors.Inc()
			}
		}
	}
}

func (b *Bus) updateLag(ctx context.Context, group string, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.LagInterval)
	defer cancel()
	lags, err := b.Lag(ctx, group, topics...)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, open := b.groups[group]; !open {
		return nil
	}
	for _, l := range lags {
		b.m.lag.WithLabelValues(group, l.Topic, strconv.Itoa(l.Partition)).Set(float64(l.Lag))
	}
	return nil
}
