package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/index"
)

// Indexer writes publications to the search index, idempotently by id. It returns the
// documents the engine refused for good (id → error), which go to the dead-letter topic;
// err means the whole batch must be retried.
type Indexer interface {
	Index(ctx context.Context, docs []otklik.Publication) (failed map[string]error, err error)
}

// IndexStage reads classified and dropped publications and writes them to the index in
// batches, committing only after the index has them.
type IndexStage struct {
	bus      Producer
	consumer Consumer
	indexer  Indexer
	topics   Topics
	loop     loop
}

// NewIndexStage joins group on the classified and dropped topics of bus.
func NewIndexStage(bus Bus, group string, topics Topics, batch BatchConfig, ix Indexer, m *Metrics, logger *slog.Logger) (*IndexStage, error) {
	if err := topics.Validate(); err != nil {
		return nil, err
	}
	if err := batch.Validate(); err != nil {
		return nil, err
	}
	c, err := bus.Consumer(group, topics.Classified, topics.Dropped)
	if err != nil {
		return nil, fmt.Errorf("index stage: %w", err)
	}
	s := &IndexStage{bus: bus, consumer: c, indexer: ix, topics: topics}
	s.loop = loop{stage: "index", consumer: c, cfg: batch, metrics: m, logger: logger, handle: s.handle}
	return s, nil
}

// Run indexes until ctx is done, then finishes its batch and leaves the group.
func (s *IndexStage) Run(ctx context.Context) error {
	defer s.consumer.Close()
	return s.loop.run(ctx)
}

func (s *IndexStage) handle(ctx context.Context, msgs []Message) error {
	var dead []Message
	docs := make([]otklik.Publication, 0, len(msgs))
	source := make(map[string]Message, len(msgs))
	pos := make(map[string]int, len(msgs))
	for _, m := range msgs {
		p, err := DecodePublication(m.Value)
		if err == nil && p.Class == nil {
			err = errors.New("publication is not classified")
		}
		if err != nil {
			dead = append(dead, deadLetter(s.topics.DeadLetter, "index", m, err))
			continue
		}
		// A later version of the same publication in the batch replaces the earlier one.
		if i, ok := pos[p.ID]; ok {
			docs[i] = p
		} else {
			pos[p.ID] = len(docs)
			docs = append(docs, p)
		}
		source[p.ID] = m
	}
	if err := s.mergeTombstones(ctx, docs); err != nil {
		return err
	}
	if len(docs) > 0 {
		failed, err := s.indexer.Index(ctx, docs)
		if err != nil {
			return fmt.Errorf("index: %w", err)
		}
		for id, ferr := range failed {
			dead = append(dead, deadLetter(s.topics.DeadLetter, "index", source[id], ferr))
		}
		s.loop.metrics.Out.WithLabelValues("index", "index").Add(float64(len(docs) - len(failed)))
	}
	if len(dead) > 0 {
		if err := s.bus.Produce(ctx, dead...); err != nil {
			return fmt.Errorf("produce dead letters: %w", err)
		}
		s.loop.metrics.Failed.WithLabelValues("index").Add(float64(len(dead)))
		s.loop.metrics.DeadLetters.WithLabelValues("index").Add(float64(len(dead)))
	}
	return nil
}

// getter is an index that can read a stored publication back.
type getter interface {
	Get(ctx context.Context, id string) (otklik.Publication, error)
}

// mergeTombstones turns each deletion record into the stored publication marked deleted,
// so the text a curator may still need is kept. A deletion of a publication the index
// never had is stored as it is.
func (s *IndexStage) mergeTombstones(ctx context.Context, docs []otklik.Publication) error {
	g, ok := s.indexer.(getter)
	if !ok {
		return nil
	}
	for i := range docs {
		if !isTombstone(&docs[i]) {
			continue
		}
		stored, err := g.Get(ctx, docs[i].ID)
		if errors.Is(err, index.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s to mark it deleted: %w", docs[i].ID, err)
		}
		stored.Deleted = true
		if docs[i].FetchedAt.After(stored.FetchedAt) {
			stored.FetchedAt = docs[i].FetchedAt
		}
		docs[i] = stored
	}
	return nil
}
