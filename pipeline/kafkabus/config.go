package kafkabus

import (
	"errors"

	"fmt"
	"github.com/segmentio/kafka-go"
	"strings"
	"time"
)

// Config configures the Kafka bus. The zero value is not usable: start from
// DefaultConfig (or call SetDefaults) and set Brokers.
type Config struct {
	// Brokers are the bootstrap brokers, host:port.
	Brokers []string `yaml:"brokers"`
	// ClientID is sent to the brokers with every request (it shows in broker logs and quotas).
	ClientID string `yaml:"client_id"`
	// DialTimeout bounds a connection attempt to a broker.
	DialTimeout time.Duration `yaml:"dial_timeout"`

	// Partitions, ReplicationFactor and Retention are the defaults Migrate uses for a
	// TopicSpec that leaves them zero.
	Partitions        int           `yaml:"partitions"`
	ReplicationFactor int           `yaml:"replication_factor"`
	Retention         time.Duration `yaml:"retention"`

	// BatchSize and BatchBytes bound one produce request per partition; BatchTimeout is
	// how long the writer waits to fill a batch. Produce is synchronous, so BatchTimeout
	// adds to its latency when traffic is light: keep it short.
	BatchSize    int           `yaml:"batch_size"`
	BatchBytes   int64         `yaml:"batch_bytes"`
	BatchTimeout time.Duration `yaml:"batch_timeout"`
	// Compression of produced batches: none, gzip, snappy, lz4 or zstd. The broker
	// stores batches as they come, so compression saves its disk and network (and, on a
	// small machine, the CPU the search engine needs) for a little producer CPU.
	Compression string `yaml:"compression"`
	// WriteTimeout bounds one produce request.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxAttempts is how many times the writer tries a batch (retriable errors only),
	// sleeping between BackoffMin and BackoffMax, doubling. Produce then retries the
	// messages still failing ProduceRetries more times with the same back-off.
	MaxAttempts    int           `yaml:"max_attempts"`
	ProduceRetries int           `yaml:"produce_retries"`
	BackoffMin     time.Duration `yaml:"backoff_min"`
	BackoffMax     time.Duration `yaml:"backoff_max"`

	// MinBytes, MaxBytes and MaxWait shape consumer fetches: a fetch returns as soon as
	// MinBytes are available, or after MaxWait.
	MinBytes int           `yaml:"min_bytes"`
	MaxBytes int           `yaml:"max_bytes"`
	MaxWait  time.Duration `yaml:"max_wait"`
	// SessionTimeout is how long the group coordinator waits for a silent member (a
	// killed process) before giving its partitions to others; HeartbeatInterval must be
	// well below it. RebalanceTimeout bounds a rebalance.
	SessionTimeout    time.Duration `yaml:"session_timeout"`
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	RebalanceTimeout  time.Duration `yaml:"rebalance_timeout"`

	// LagInterval is how often the consumer lag gauge is recomputed for the groups of
	// open consumers (committed offsets against high watermarks).
	LagInterval time.Duration `yaml:"lag_interval"`
}

// DefaultConfig returns the defaults for a local single-broker cluster
// (127.0.0.1:9092, one replica). Production sets Brokers and ReplicationFactor 3.
func DefaultConfig() Config {
	var c Config
	c.SetDefaults()
	return c
}

// SetDefaults fills every zero field with its default.
func (c *Config) SetDefaults() {
	if len(c.Brokers) == 0 {
		c.Brokers = []string{"127.0.0.1:9092"}
	}
	if c.ClientID == "" {
		c.ClientID = "otklik"
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.Partitions == 0 {
		c.Partitions = 6
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = 1
	}
	if c.Retention == 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 1 << 20
	}
	if c.BatchTimeout == 0 {
		c.BatchTimeout = 5 * time.Millisecond
	}
	if c.Compression == "" {
		c.Compression = "lz4"
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.ProduceRetries == 0 {
		c.ProduceRetries = 3
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = 100 * time.Millisecond
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 2 * time.Second
	}
	if c.MinBytes == 0 {
		c.MinBytes = 1
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 10 << 20
	}
	if c.MaxWait == 0 {
		c.MaxWait = 500 * time.Millisecond
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = 2 * time.Second
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = 15 * time.Second
	}
	if c.LagInterval == 0 {
		c.LagInterval = 15 * time.Second
	}
}

// Validate checks the configuration after SetDefaults.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: at least one is required"))
	}
	for _, b := range c.Brokers {
		if b == "" || !strings.Contains(b, ":") {
			errs = append(errs, fmt.Errorf("brokers: %q is not host:port", b))
		}
	}
	positive := []struct {
		name string
		v    int64
	}{
		{"dial_timeout", int64(c.DialTimeout)},
		{"partitions", int64(c.Partitions)},
		{"replication_factor", int64(c.ReplicationFactor)},
		{"batch_size", int64(c.BatchSize)},
		{"batch_bytes", c.BatchBytes},
		{"batch_timeout", int64(c.BatchTimeout)},
		{"write_timeout", int64(c.WriteTimeout)},
		{"max_attempts", int64(c.MaxAttempts)},
		{"produce_retries", int64(c.ProduceRetries)},
		{"backoff_min", int64(c.BackoffMin)},
		{"backoff_max", int64(c.BackoffMax)},
		{"min_bytes", int64(c.MinBytes)},
		{"max_bytes", int64(c.MaxBytes)},
		{"max_wait", int64(c.MaxWait)},
		{"session_timeout", int64(c.SessionTimeout)},
		{"heartbeat_interval", int64(c.HeartbeatInterval)},
		{"rebalance_timeout", int64(c.RebalanceTimeout)},
		{"lag_interval", int64(c.LagInterval)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", p.name))
		}
	}
	if _, err := compressionOf(c.Compression); err != nil {
		errs = append(errs, err)
	}
	if c.Retention < 0 && c.Retention != -1 {
		errs = append(errs, errors.New("retention: must be positive, or -1ns for unlimited"))
	}
	if c.BackoffMax < c.BackoffMin {
		errs = append(errs, errors.New("backoff_max: must not be below backoff_min"))
	}
	if c.MinBytes > c.MaxBytes {
		errs = append(errs, errors.New("min_bytes: must not exceed max_bytes"))
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		errs = append(errs, errors.New("heartbeat_interval: must be below session_timeout"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kafka config: %w", err)
	}
	return nil
}

// TopicSpec describes a topic Migrate creates. Zero Partitions, ReplicationFactor and
// Retention take the Config's defaults; Retention -1 keeps records forever.
type TopicSpec struct {
	Name              string        `yaml:"name"`
	Partitions        int           `yaml:"partitions"`
	ReplicationFactor int           `yaml:"replication_factor"`
	Retention         time.Duration `yaml:"retention"`
}

// compressionOf maps a Compression name to kafka-go's codec.
func compressionOf(name string) (kafka.Compression, error) {
	switch name {
	case "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("compression: %q is not none, gzip, snappy, lz4 or zstd", name)
}
