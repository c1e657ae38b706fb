package cases

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store is the projection of case events: the current state of every case, its history,
// and search. Apply is idempotent, so replaying the event topic rebuilds it. BoltStore is
// the embedded implementation; an Elasticsearch one can implement the same interface.
type Store interface {
	// Get returns a case, or an error matching ErrNotFound.
	Get(ctx context.Context, id string) (Case, error)
	// Apply records ev in the case's history and, when ev.Seq is newer than what the
	// store has, makes ev.Case the current state. Applying an event twice changes nothing.
	Apply(ctx context.Context, evs ...Event) error
	// History returns a case's events in order.
	History(ctx context.Context, id string) ([]Event, error)
	// Search returns the cases matching q, sorted by due time (cases without one last),
	// and how many match in total.
	Search(ctx context.Context, q Query) ([]Case, int, error)
	// Reset deletes everything, before a rebuild.
	Reset(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Query filters cases. Zero fields do not filter.
type Query struct {
	// Stages keeps cases at one of these stages.
	Stages []Stage
	// Open keeps open (true) or finished (false) cases.
	Open *bool
	// Agency keeps cases currently at this agency ("none" for cases with the curator).
	Agency string
	// Involved keeps cases ever routed to this agency (an agency user's visibility).
	Involved string
	// Overdue keeps cases past (true) or within (false) their current deadline at Now.
	Overdue *bool
	// Now is the instant Overdue is judged at.
	Now time.Time
	// DueBefore keeps cases whose current deadline is before it.
	DueBefore time.Time
	// DetectedAfter keeps cases detected at or after it.
	DetectedAfter time.Time
	// Topic keeps cases of this topic.
	Topic string
	// Text keeps cases whose publication text contains it (case-insensitive).
	Text string
	// Offset and Limit page the results; Limit 0 means all.
	Offset, Limit int
}

func (q *Query) match(c *Case) bool {
	if len(q.Stages) > 0 && !slices.Contains(q.Stages, c.Stage) {
		return false
	}
	if q.Open != nil && c.Stage.Open() != *q.Open {
		return false
	}
	if q.Agency != "" {
		a := c.Agency
		if a == "" {
			a = "none"
		}
		if a != q.Agency {
			return false
		}
	}
	if q.Involved != "" && !slices.Contains(c.Involved, q.Involved) {
		return false
	}
	if q.Overdue != nil && c.Overdue(q.Now) != *q.Overdue {
		return false
	}
	if !q.DueBefore.IsZero() && (c.Due.IsZero() || !c.Due.Before(q.DueBefore)) {
		return false
	}
	if !q.DetectedAfter.IsZero() && c.DetectedAt.Before(q.DetectedAfter) {
		return false
	}
	if q.Topic != "" && c.Topic != q.Topic {
		return false
	}
	if q.Text != "" && !strings.Contains(strings.ToLower(c.Publication.Text), strings.ToLower(q.Text)) {
		return false
	}
	return true
}

// BoltStore is the embedded Store: a bbolt file, with the current cases also held in
// memory for search. It is meant for one process (the embedded mode).
type BoltStore struct {
	db *bolt.DB

	mu    sync.RWMutex
	cases map[string]*Case // immutable snapshots, replaced on update
}

var (
	bucketCases   = []byte("cases")
	bucketHistory = []byte("history")
)

// OpenBoltStore opens (creating it if needed) the store in dir, e.g. <datadir>/cases.
func OpenBoltStore(dir string) (*BoltStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("cases store: %w", err)
	}
	path := filepath.Join(dir, "cases.db")
	db, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("cases store: open %s: %w", path, err)
	}
	s := &BoltStore{db: db, cases: map[string]*Case{}}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketCases, bucketHistory} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			var c Case
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("case %s: %w", k, err)
			}
			s.cases[c.ID] = &c
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("cases store: load %s: %w", path, err)
	}
	return s, nil
}

// Get implements Store.
func (s *BoltStore) Get(_ context.Context, id string) (Case, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.cases[id]
	if !ok {
		return Case{}, ErrNotFound
	}
	return c.clone(), nil
}

// the current snapshot of id, or nil; callers hold s.mu.
func (s *BoltStore) current(id string, newer map[string]*Case) *Case {
	if c, ok := newer[id]; ok {
		return c
	}
	return s.cases[id]
}

func historyKey(id string, seq int64) []byte {
	k := make([]byte, 0, len(id)+9)
	k = append(k, id...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(seq))
}

// Apply implements Store.
func (s *BoltStore) Apply(_ context.Context, evs ...Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	newer := map[string]*Case{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		cb, hb := tx.Bucket(bucketCases), tx.Bucket(bucketHistory)
		for _, ev := range evs {
			if ev.CaseID == "" || ev.Seq <= 0 || ev.Case.ID != ev.CaseID {
				return fmt.Errorf("cases store: malformed event %q", ev.ID)
			}
			h := ev
			h.Case = Case{}
			hv, err := json.Marshal(h)
			if err != nil {
				return err
			}
			if err := hb.Put(historyKey(ev.CaseID, ev.Seq), hv); err != nil {
				return err
			}
			if cur := s.current(ev.CaseID, newer); cur != nil && cur.Seq >= ev.Seq {
				continue
			}
			cv, err := json.Marshal(ev.Case)
			if err != nil {
				return err
			}
			if err := cb.Put([]byte(ev.CaseID), cv); err != nil {
				return err
			}
			c := ev.Case.clone()
			newer[ev.CaseID] = &c
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cases store: apply: %w", err)
	}
	for id, c := range newer {
		s.cases[id] = c
	}
	return nil
}

// History implements Store.
func (s *BoltStore) History(_ context.Context, id string) ([]Event, error) {
	var out []Event
	prefix := append([]byte(id), 0)
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketHistory).Cursor()
		for k, v := cur.Seek(prefix); k != nil && len(k) == len(prefix)+8 && string(k[:len(prefix)]) == string(prefix); k, v = cur.Next() {
			var ev Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cases store: history of %s: %w", id, err)
	}
	return out, nil
}

// Search implements Store.
func (s *BoltStore) Search(_ context.Context, q Query) ([]Case, int, error) {
	s.mu.RLock()
	var hits []*Case
	for _, c := range s.cases {
		if q.match(c) {
			hits = append(hits, c)
		}
	}
	s.mu.RUnlock()
	sortCases(hits)
	total := len(hits)
	if q.Offset > 0 {
		hits = hits[min(q.Offset, len(hits)):]
	}
	if q.Limit > 0 && len(hits) > q.Limit {
		hits = hits[:q.Limit]
	}
	out := make([]Case, len(hits))
	for i, c := range hits {
		out[i] = c.clone()
	}
	return out, total, nil
}

func sortCases(cs []*Case) {
	slices.SortFunc(cs, func(a, b *Case) int {
		switch {
		case a.Due.IsZero() != b.Due.IsZero():
			if a.Due.IsZero() {
				return 1
			}
			return -1
		case !a.Due.Equal(b.Due):
			return a.Due.Compare(b.Due)
		case !a.DetectedAt.Equal(b.DetectedAt):
			return a.DetectedAt.Compare(b.DetectedAt)
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Reset implements Store.
func (s *BoltStore) Reset(_ context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketCases, bucketHistory} {
			if err := tx.DeleteBucket(b); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cases store: reset: %w", err)
	}
	s.cases = map[string]*Case{}
	return nil
}

// Close implements Store.
func (s *BoltStore) Close() error { return s.db.Close() }
