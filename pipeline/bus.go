// Package pipeline moves publications between Otklik's stages over a bus and runs the
// stages themselves: classify (raw → classified or dropped) and index (classified and
// dropped → search index). The bus is either the embedded on-disk log (package
// pipeline/diskbus) or Kafka (package pipeline/kafkabus); the stages cannot tell which.
//
// Delivery is at least once: a producer returns only when its messages are durably stored,
// and a consumer commits a message only after what it produced from it, or wrote to the
// index, is durable. Writes downstream are idempotent (keyed by the publication's stable
// id), so a redelivery after a crash changes nothing.
package pipeline

import (
	"context"
	"errors"
	"time"
)

// Message is one record on the bus.
type Message struct {
	// Topic is where the message is, or is to be written.
	Topic string
	// Partition and Offset locate a consumed message; ignored when producing.
	Partition int
	Offset    int64
	// Key orders messages: messages with the same key keep their order (one partition).
	Key []byte
	// Value is the payload, a JSON-encoded otklik.Publication for publication topics.
	Value []byte
	// Headers carry metadata such as the error of a dead letter.
	Headers map[string]string
	// Time is when the message was produced.
	Time time.Time
}

// Producer writes messages. Produce returns nil only when every message is durably stored;
// on error some may have been stored, and the caller retries all of them (duplicates are
// harmless: every downstream write is idempotent).
type Producer interface {
	Produce(ctx context.Context, msgs ...Message) error
}

// Consumer reads topics as a member of a consumer group.
type Consumer interface {
	// Fetch blocks until the next message is available or ctx is done.
	Fetch(ctx context.Context) (Message, error)
	// Commit records that msgs (and everything before them in their partitions) are done.
	Commit(ctx context.Context, msgs ...Message) error
	// Close leaves the group.
	Close() error
}

// Bus is a message bus: the embedded log or Kafka.
type Bus interface {
	Producer
	// Consumer joins group on topics. Members of one group share the topics' partitions.
	Consumer(group string, topics ...string) (Consumer, error)
	// Ready reports whether the bus can be used now (for /readyz).
	Ready(ctx context.Context) error
	// Close releases the bus.
	Close() error
}

// ErrClosed is returned by a bus or consumer used after Close.
var ErrClosed = errors.New("bus closed")

// Header keys set on dead letters.
const (
	// HeaderError is the error that sent a record to the dead-letter topic.
	HeaderError = "otklik-error"
	// HeaderStage is the stage that failed: classify or index.
	HeaderStage = "otklik-stage"
	// HeaderSourceTopic is the topic the failed record was read from.
	HeaderSourceTopic = "otklik-source-topic"
)
