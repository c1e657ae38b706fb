package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/otklik/otklik"
)

// Classifier annotates a publication with its classification (p.Class).
type Classifier interface {
	Classify(p *otklik.Publication)
}

// ClassifyStage reads raw publications, classifies them and writes each to the
// classified or the dropped topic; records that are not valid publications go to the
// dead-letter topic with their error.
type ClassifyStage struct {
	bus        Producer
	consumer   Consumer
	classifier Classifier
	topics     Topics
	loop       loop
}

// NewClassifyStage joins group on the raw topic of bus.
func NewClassifyStage(bus Bus, group string, topics Topics, batch BatchConfig, cl Classifier, m *Metrics, logger *slog.Logger) (*ClassifyStage, error) {
	if err := topics.Validate(); err != nil {
		return nil, err
	}
	if err := batch.Validate(); err != nil {
		return nil, err
	}
	c, err := bus.Consumer(group, topics.Raw)
	if err != nil {
		return nil, fmt.Errorf("classify stage: %w", err)
	}
	s := &ClassifyStage{bus: bus, consumer: c, classifier: cl, topics: topics}
	s.loop = loop{stage: "classify", consumer: c, cfg: batch, metrics: m, logger: logger, handle: s.handle}
	return s, nil
}

// Run classifies until ctx is done, then finishes its batch and leaves the group.
func (s *ClassifyStage) Run(ctx context.Context) error {
	defer s.consumer.Close()
	return s.loop.run(ctx)
}

func (s *ClassifyStage) handle(ctx context.Context, msgs []Message) error {
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		p, err := DecodePublication(m.Value)
		if err != nil {
			out = append(out, deadLetter(s.topics.DeadLetter, "classify", m, err))
			continue
		}
		if isTombstone(&p) {
			// A deletion carries ids, not text: nothing to classify. The index stage
			// marks the stored publication deleted instead of replacing it.
			p.Class = &otklik.Classification{Topic: "other", Priority: otklik.Low, Drop: []otklik.DropReason{}, Model: "deleted", ClassifiedAt: m.Time}
		} else {
			s.classifier.Classify(&p)
		}
		v, err := json.Marshal(p)
		if err != nil {
			out = append(out, deadLetter(s.topics.DeadLetter, "classify", m, fmt.Errorf("encode: %w", err)))
			continue
		}
		topic := s.topics.Classified
		if p.Class.Dropped() {
			topic = s.topics.Dropped
		}
		out = append(out, Message{Topic: topic, Key: []byte(p.ThreadID()), Value: v, Headers: m.Headers})
	}
	if err := s.bus.Produce(ctx, out...); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	for _, o := range out {
		if o.Topic == s.topics.DeadLetter {
			s.loop.metrics.Failed.WithLabelValues("classify").Inc()
			s.loop.metrics.DeadLetters.WithLabelValues("classify").Inc()
			continue
		}
		s.loop.metrics.Out.WithLabelValues("classify", o.Topic).Inc()
	}
	return nil
}

// isTombstone reports whether p only records that a publication was deleted.
func isTombstone(p *otklik.Publication) bool {
	return p.Deleted && strings.TrimSpace(p.Text) == "" && len(p.Attachments) == 0
}

// DecodePublication decodes and validates a publication from a bus message.
func DecodePublication(b []byte) (otklik.Publication, error) {
	var p otklik.Publication
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("not a publication: %w", err)
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

// EncodePublication makes the bus message of p for topic, keyed by its thread
// (Publication.ThreadID): every version of a publication, and every comment with its post,
// stays in one partition, in order, and is classified by one process.
func EncodePublication(topic string, p *otklik.Publication) (Message, error) {
	v, err := json.Marshal(p)
	if err != nil {
		return Message{}, fmt.Errorf("encode publication %s: %w", p.ID, err)
	}
	return Message{Topic: topic, Key: []byte(p.ThreadID()), Value: v}, nil
}
