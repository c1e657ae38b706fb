// Package kafkabus is the production pipeline.Bus: Apache Kafka through
// github.com/segmentio/kafka-go.
//
// Produce is synchronous and waits for every in-sync replica (RequiredAcks all); messages
// with the same key go to the same partition (hash balancer) and so keep their order.
// A consumer is a kafka-go group Reader: Fetch is FetchMessage and Commit is
// CommitMessages, which commits, per partition, only the partitions of the messages it is
// given; nothing is committed automatically, so a crash before Commit redelivers.
// Migrate creates topics idempotently. The consumer lag of the groups of open consumers
// is exported per partition as otklik_consumer_lag{group,topic,partition}.
//
// Tested against Apache Kafka 4.1.1 (KRaft, single broker, deployments/services/up.sh),
// including a broker restart under load, and, in unit tests, against franz-go's kfake
// in-process broker.
package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/otklik/otklik/pipeline"
)

// Bus is a pipeline.Bus on Kafka. It is safe for concurrent use.
type Bus struct {
	cfg       Config
	log       *slog.Logger
	transport *kafka.Transport
	client    *kafka.Client
	writer    *kafka.Writer
	dialer    *kafka.Dialer
	m         *metrics

	mu      sync.Mutex
	closed  bool
	groups  map[string]*groupTopics // open consumers' groups, for the lag gauge
	lagStop chan struct{}
	lagDone chan struct{}
}

type groupTopics struct {
	refs   int
	topics map[string]int // topic → consumers reading it
}

var _ pipeline.Bus = (*Bus)(nil)

// New returns a Bus for cfg, with defaults filled in. It does not dial: the first Produce,
// Consumer fetch, Ready or Migrate does. Metrics are registered on reg (nil: not
// registered).
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Bus, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("kafkabus: %w", err)
	}
	transport := &kafka.Transport{
		ClientID:    cfg.ClientID,
		DialTimeout: cfg.DialTimeout,
		MetadataTTL: 10 * time.Second,
	}
	b := &Bus{
		cfg:       cfg,
		log:       logger,
		transport: transport,
		client:    &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: transport, Timeout: cfg.WriteTimeout},
		dialer:    &kafka.Dialer{ClientID: cfg.ClientID, Timeout: cfg.DialTimeout, DualStack: true},
		m:         m,
		groups:    map[string]*groupTopics{},
	}
	codec, _ := compressionOf(cfg.Compression) // validated
	b.writer = &kafka.Writer{
		Compression:     codec,
		Addr:            kafka.TCP(cfg.Brokers...),
		Balancer:        &kafka.Hash{},
		MaxAttempts:     cfg.MaxAttempts,
		WriteBackoffMin: cfg.BackoffMin,
		WriteBackoffMax: cfg.BackoffMax,
		BatchSize:       cfg.BatchSize,
		BatchBytes:      cfg.BatchBytes,
		BatchTimeout:    cfg.BatchTimeout,
		WriteTimeout:    cfg.WriteTimeout,
		ReadTimeout:     cfg.WriteTimeout,
		RequiredAcks:    kafka.RequireAll,
		Async:           false,
		Transport:       transport,
		ErrorLogger:     kafkaLogger{logger, slog.LevelWarn},
	}
	return b, nil
}

// Config returns the bus's configuration with defaults filled in.
func (b *Bus) Config() Config { return b.cfg }

// Produce writes msgs and returns when every one is acknowledged by all in-sync
// replicas. Messages with the same Key keep their order. Retriable failures are retried
// with back-off (inside the writer, then ProduceRetries times for the messages still
// failing); on error some messages may have been stored and the caller retries them all.
func (b *Bus) Produce(ctx context.Context, msgs ...pipeline.Message) error {
	if b.isClosed() {
		return pipeline.ErrClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	pending := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		if m.Topic == "" {
			return fmt.Errorf("kafkabus: produce: message %d has no topic", i)
		}
		pending[i] = toKafka(m)
	}
	backoff := b.cfg.BackoffMin
	for attempt := 0; ; attempt++ {
		err := b.writer.WriteMessages(ctx, pending...)
		if err == nil {
			for _, m := range pending {
				b.m.produced.WithLabelValues(m.Topic).Inc()
			}
			return nil
		}
		var werrs kafka.WriteErrors
		var failed []kafka.Message
		if errors.As(err, &werrs) {
			for i, e := range werrs {
				if e == nil {
					b.m.produced.WithLabelValues(pending[i].Topic).Inc()
					continue
				}
				failed = append(failed, pending[i])
			}
		} else {
			failed = pending
		}
		for _, m := range failed {
			b.m.produceErrors.WithLabelValues(m.Topic).Inc()
		}
		if ctx.Err() != nil || attempt >= b.cfg.ProduceRetries || !retriable(err) {
			return fmt.Errorf("kafkabus: produce %d of %d messages: %w", len(failed), len(msgs), err)
		}
		if err := sleep(ctx, backoff); err != nil {
			return fmt.Errorf("kafkabus: produce %d of %d messages: %w", len(failed), len(msgs), err)
		}
		backoff = min(2*backoff, b.cfg.BackoffMax)
		pending = failed
	}
}

// retriable tells errors worth another produce attempt from permanent ones (a message
// too large, an unknown topic is retried: it may be being created).
func retriable(err error) bool {
	var tooLarge kafka.MessageTooLargeError
	if errors.As(err, &tooLarge) || errors.Is(err, kafka.MessageSizeTooLarge) {
		return false
	}
	if errors.Is(err, kafka.InvalidTopic) || errors.Is(err, kafka.TopicAuthorizationFailed) {
		return false
	}
	return !errors.Is(err, io.ErrClosedPipe)
}

func toKafka(m pipeline.Message) kafka.Message {
	km := kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Time: m.Time}
	if len(m.Headers) > 0 {
		keys := slices.Sorted(maps.Keys(m.Headers))
		km.Headers = make([]kafka.Header, len(keys))
		for i, k := range keys {
			km.Headers[i] = kafka.Header{Key: k, Value: []byte(m.Headers[k])}
		}
	}
	return km
}

func fromKafka(km kafka.Message) pipeline.Message {
	m := pipeline.Message{
		Topic:     km.Topic,
		Partition: km.Partition,
		Offset:    km.Offset,
		Key:       km.Key,
		Value:     km.Value,
		Time:      km.Time,
	}
	if len(km.Headers) > 0 {
		m.Headers = make(map[string]string, len(km.Headers))
		for _, h := range km.Headers {
			m.Headers[h.Key] = string(h.Value)
		}
	}
	return m
}

// Consumer joins group on topics with a kafka-go group Reader. A new group starts at
// the earliest offset, so nothing produced before the group first joined is skipped.
// Offsets are committed only by Commit.
func (b *Bus) Consumer(group string, topics ...string) (pipeline.Consumer, error) {
	if group == "" {
		return nil, errors.New("kafkabus: consumer: group is empty")
	}
	if len(topics) == 0 {
		return nil, errors.New("kafkabus: consumer: no topics")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, pipeline.ErrClosed
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:               b.cfg.Brokers,
		GroupID:               group,
		GroupTopics:           topics,
		Dialer:                b.dialer,
		MinBytes:              b.cfg.MinBytes,
		MaxBytes:              b.cfg.MaxBytes,
		MaxWait:               b.cfg.MaxWait,
		HeartbeatInterval:     b.cfg.HeartbeatInterval,
		SessionTimeout:        b.cfg.SessionTimeout,
		RebalanceTimeout:      b.cfg.RebalanceTimeout,
		CommitInterval:        0, // synchronous, explicit commits only
		WatchPartitionChanges: true,
		StartOffset:           kafka.FirstOffset,
		ReadBackoffMin:        b.cfg.BackoffMin,
		ReadBackoffMax:        b.cfg.BackoffMax,
		ErrorLogger:           kafkaLogger{b.log.With("group", group), slog.LevelWarn},
	})
	g := b.groups[group]
	if g == nil {
		g = &groupTopics{topics: map[string]int{}}
		b.groups[group] = g
	}
	g.refs++
	for _, t := range topics {
		g.topics[t]++
	}
	if b.lagStop == nil {
		b.lagStop, b.lagDone = make(chan struct{}), make(chan struct{})
		go b.lagLoop(b.lagStop, b.lagDone)
	}
	return &consumer{bus: b, r: r, group: group, topics: topics}, nil
}

type consumer struct {
	bus    *Bus
	r      *kafka.Reader
	group  string
	topics []string

	once sync.Once
}

// Fetch returns the next message of the partitions assigned to this member. It blocks
// through broker outages: the reader reconnects and rejoins the group by itself, so
// errors it reports meanwhile (a refused connection, a coordinator moving) are counted
// in otklik_bus_fetch_errors_total, logged once per outage, and waited out with
// back-off. It returns only a message, ErrClosed after Close, or ctx's error.
func (c *consumer) Fetch(ctx context.Context) (pipeline.Message, error) {
	backoff := c.bus.cfg.BackoffMin
	failing := false
	for {
		km, err := c.r.FetchMessage(ctx)
		if err == nil {
			if failing {
				c.bus.log.Info("kafka fetch recovered", "group", c.group)
			}
			return fromKafka(km), nil
		}
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe):
			return pipeline.Message{}, pipeline.ErrClosed
		case ctx.Err() != nil:
			return pipeline.Message{}, ctx.Err()
		}
		c.bus.m.fetchErrors.WithLabelValues(c.group).Inc()
		if !failing {
			c.bus.log.Warn("kafka fetch failing, retrying", "group", c.group, "err", err)
			failing = true
		}
		if err := sleep(ctx, backoff); err != nil {
			return pipeline.Message{}, err
		}
		backoff = min(2*backoff, c.bus.cfg.BackoffMax)
	}
}

// Commit commits, for each partition among msgs, the offset after the last of them.
func (c *consumer) Commit(ctx context.Context, msgs ...pipeline.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	kms := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		kms[i] = kafka.Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
	}
	if err := c.r.CommitMessages(ctx, kms...); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
			return pipeline.ErrClosed
		}
		return fmt.Errorf("kafkabus: commit (group %s): %w", c.group, err)
	}
	return nil
}

// Close leaves the group.
func (c *consumer) Close() error {
	var err error
	c.once.Do(func() {
		err = c.r.Close()
		c.bus.release(c.group, c.topics)
	})
	if err != nil {
		return fmt.Errorf("kafkabus: close consumer (group %s): %w", c.group, err)
	}
	return nil
}

func (b *Bus) release(group string, topics []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := b.groups[group]
	if g == nil {
		return
	}
	g.refs--
	for _, t := range topics {
		if g.topics[t]--; g.topics[t] <= 0 {
			delete(g.topics, t)
		}
	}
	if g.refs <= 0 {
		delete(b.groups, group)
		b.m.lag.DeletePartialMatch(prometheus.Labels{"group": group})
	}
}

// Ready asks a broker for the cluster metadata.
func (b *Bus) Ready(ctx context.Context) error {
	if b.isClosed() {
		return pipeline.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.DialTimeout)
	defer cancel()
	md, err := b.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
	if err != nil {
		return fmt.Errorf("kafkabus: ready: %w", err)
	}
	if len(md.Brokers) == 0 {
		return errors.New("kafkabus: ready: the cluster reports no brokers")
	}
	return nil
}

// Migrate creates topics that do not exist yet; topics that exist are left as they are
// (their partitions and retention are not changed). It is idempotent.
func (b *Bus) Migrate(ctx context.Context, topics []TopicSpec) error {
	if b.isClosed() {
		return pipeline.ErrClosed
	}
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		if t.Name == "" {
			return errors.New("kafkabus: migrate: a topic has no name")
		}
		tc := kafka.TopicConfig{
			Topic:             t.Name,
			NumPartitions:     cmp(t.Partitions, b.cfg.Partitions),
			ReplicationFactor: cmp(t.ReplicationFactor, b.cfg.ReplicationFactor),
		}
		retention := t.Retention
		if retention == 0 {
			retention = b.cfg.Retention
		}
		ms := "-1"
		if retention > 0 {
			ms = fmt.Sprint(retention.Milliseconds())
		}
		tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: ms}}
		req.Topics = append(req.Topics, tc)
	}
	if len(req.Topics) == 0 {
		return nil
	}
	resp, err := b.client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("kafkabus: migrate: %w", err)
	}
	var errs []error
	for _, t := range req.Topics {
		switch e := resp.Errors[t.Topic]; {
		case e == nil:
			b.log.Info("kafka topic created", "topic", t.Topic, "partitions", t.NumPartitions,
				"replication_factor", t.ReplicationFactor)
		case errors.Is(e, kafka.TopicAlreadyExists):
		default:
			errs = append(errs, fmt.Errorf("topic %s: %w", t.Topic, e))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kafkabus: migrate: %w", err)
	}
	return nil
}

func cmp(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Close flushes and closes the writer and stops the lag gauge. Open consumers must be
// closed by their owners.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	stop, done := b.lagStop, b.lagDone
	b.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	err := b.writer.Close()
	b.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("kafkabus: close: %w", err)
	}
	return nil
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// kafkaLogger adapts slog to kafka-go's Logger.
type kafkaLogger struct {
	log   *slog.Logger
	level slog.Level
}

func (l kafkaLogger) Printf(format string, args ...any) {
	if !l.log.Enabled(context.Background(), l.level) {
		return
	}
	l.log.Log(context.Background(), l.level, "kafka: "+fmt.Sprintf(format, args...))
}

// DeleteTopics deletes topics (tests and otklik bench, which create topics of their
// own). Unknown topics are not an error.
func (b *Bus) DeleteTopics(ctx context.Context, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	resp, err := b.client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("kafkabus: delete topics: %w", err)
	}
	var errs []error
	for t, e := range resp.Errors {
		if e != nil && !errors.Is(e, kafka.UnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("topic %s: %w", t, e))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kafkabus: delete topics: %w", err)
	}
	return nil
}
