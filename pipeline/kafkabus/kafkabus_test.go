package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/otklik/otklik/internal/testenv"
	"github.com/otklik/otklik/pipeline"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"bad broker", func(c *Config) { c.Brokers = []string{"localhost"} }, "not host:port"},
		{"negative partitions", func(c *Config) { c.Partitions = -1 }, "partitions: must be positive"},
		{"heartbeat above session", func(c *Config) { c.HeartbeatInterval = time.Minute }, "heartbeat_interval"},
		{"backoff inverted", func(c *Config) { c.BackoffMin = time.Minute }, "backoff_max"},
		{"unlimited retention", func(c *Config) { c.Retention = -1 }, ""},
		{"no compression", func(c *Config) { c.Compression = "none" }, ""},
		{"unknown compression", func(c *Config) { c.Compression = "brotli" }, "compression"},
		{"negative retention", func(c *Config) { c.Retention = -time.Hour }, "retention"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewDoesNotDial(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Brokers = []string{"127.0.0.1:1"} // nothing listens there
	b, err := New(cfg, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := b.Ready(ctx); err == nil {
		t.Fatal("Ready succeeded with no broker listening")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Produce(ctx, pipeline.Message{Topic: "x", Value: []byte("v")}); !errors.Is(err, pipeline.ErrClosed) {
		t.Fatalf("Produce after Close = %v, want ErrClosed", err)
	}
}

func newFake(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func newBus(t *testing.T, brokers []string, reg prometheus.Registerer) *Bus {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Brokers = brokers
	cfg.Partitions = 3
	cfg.LagInterval = 200 * time.Millisecond
	cfg.SessionTimeout = 6 * time.Second
	cfg.HeartbeatInterval = time.Second
	cfg.MaxWait = 100 * time.Millisecond
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	b, err := New(cfg, log, reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestBusRoundTrip exercises the whole contract against an in-process Kafka-protocol
// broker: migrate, keyed produce, group fetch in key order, per-partition commit,
// redelivery of what was not committed, and the lag gauge.
func TestBusRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("joins consumer groups (several seconds)")
	}
	testRoundTrip(t, newFake(t), "")
}

// TestBusRoundTripKafka is TestBusRoundTrip against a real broker (OTKLIK_TEST_KAFKA).
func TestBusRoundTripKafka(t *testing.T) {
	testRoundTrip(t, testenv.Kafka(t), fmt.Sprintf("-%d", time.Now().UnixNano()))
}

func testRoundTrip(t *testing.T, brokers []string, suffix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	b := newBus(t, brokers, reg)
	raw, group := "raw"+suffix, "g1"+suffix
	t.Cleanup(func() { b.DeleteTopics(context.Background(), raw, "dead"+suffix) })

	topics := []TopicSpec{{Name: raw}, {Name: "dead" + suffix, Partitions: 1, Retention: -1}}
	for range 2 { // idempotent
		if err := b.Migrate(ctx, topics); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	// 5 keys × 20 messages; each key's messages must arrive in order.
	const keys, perKey = 5, 20
	var msgs []pipeline.Message
	for i := range perKey {
		for k := range keys {
			msgs = append(msgs, pipeline.Message{
				Topic:   raw,
				Key:     []byte("key" + strconv.Itoa(k)),
				Value:   []byte(fmt.Sprintf("%d/%d", k, i)),
				Headers: map[string]string{"seq": strconv.Itoa(i)},
			})
		}
	}
	if err := b.Produce(ctx, msgs...); err != nil {
		t.Fatalf("Produce: %v", err)
	}
	if got := metricValue(t, reg, "otklik_bus_produced_total", map[string]string{"topic": raw}); got != keys*perKey {
		t.Errorf("otklik_bus_produced_total{topic=%s} = %v, want %d", raw, got, keys*perKey)
	}

	c, err := b.Consumer(group, raw)
	if err != nil {
		t.Fatalf("Consumer: %v", err)
	}
	next := map[string]int{}
	partOfKey := map[string]int{}
	var firstOfPart = map[int]pipeline.Message{}
	var got []pipeline.Message
	for len(got) < keys*perKey {
		m, err := c.Fetch(ctx)
		if err != nil {
			t.Fatalf("Fetch after %d: %v", len(got), err)
		}
		got = append(got, m)
		k := string(m.Key)
		if p, ok := partOfKey[k]; ok && p != m.Partition {
			t.Fatalf("key %s in partitions %d and %d", k, p, m.Partition)
		}
		partOfKey[k] = m.Partition
		want := fmt.Sprintf("%s/%d", strings.TrimPrefix(k, "key"), next[k])
		if string(m.Value) != want || m.Headers["seq"] != strconv.Itoa(next[k]) {
			t.Fatalf("key %s: got %s (seq %s), want %s", k, m.Value, m.Headers["seq"], want)
		}
		next[k]++
		if _, ok := firstOfPart[m.Partition]; !ok {
			firstOfPart[m.Partition] = m
		}
	}
	if len(firstOfPart) < 2 {
		t.Fatalf("5 keys landed in %d partition(s); the test needs at least 2", len(firstOfPart))
	}

	// Commit everything of one partition only.
	var committedPart = -1
	var last pipeline.Message
	for _, m := range got {
		if committedPart == -1 {
			committedPart = m.Partition
		}
		if m.Partition == committedPart {
			last = m
		}
	}
	if err := c.Commit(ctx, last); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	lags, err := b.Lag(ctx, group, raw)
	if err != nil {
		t.Fatalf("Lag: %v", err)
	}
	var total int64
	for _, l := range lags {
		if l.Partition == committedPart && l.Lag != 0 {
			t.Errorf("lag of committed partition %d = %d, want 0", l.Partition, l.Lag)
		}
		total += l.Lag
	}
	uncommitted := 0
	for _, m := range got {
		if m.Partition != committedPart {
			uncommitted++
		}
	}
	if total != int64(uncommitted) {
		t.Errorf("total lag = %d, want %d (messages of uncommitted partitions)", total, uncommitted)
	}
	waitFor(t, 5*time.Second, "lag gauge", func() bool {
		var sum float64
		for p := range 3 {
			sum += metricValue(t, reg, "otklik_consumer_lag", map[string]string{"group": group, "topic": raw, "partition": strconv.Itoa(p)})
		}
		return sum == float64(uncommitted)
	})
	if err := c.Close(); err != nil {
		t.Fatalf("Close consumer: %v", err)
	}

	// A new member of the group gets exactly the uncommitted messages again.
	c2, err := b.Consumer(group, raw)
	if err != nil {
		t.Fatalf("Consumer: %v", err)
	}
	defer c2.Close()
	for i := range uncommitted {
		m, err := c2.Fetch(ctx)
		if err != nil {
			t.Fatalf("Fetch redelivery %d: %v", i, err)
		}
		if m.Partition == committedPart {
			t.Fatalf("redelivered a committed message: partition %d offset %d", m.Partition, m.Offset)
		}
	}
	fctx, fcancel := context.WithTimeout(ctx, time.Second)
	defer fcancel()
	if m, err := c2.Fetch(fctx); err == nil {
		t.Fatalf("unexpected extra message: %s/%d", m.Topic, m.Offset)
	}
}

func TestProduceNeedsTopic(t *testing.T) {
	b := newBus(t, []string{"127.0.0.1:1"}, nil)
	err := b.Produce(context.Background(), pipeline.Message{Value: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "no topic") {
		t.Fatalf("Produce without topic = %v", err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metricValue returns the value of the counter or gauge name with exactly labels in reg
// (0 when absent).
func metricValue(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}
