// Package diskbus is the embedded bus of Otklik's default mode: a durable, single-process
// log of topics in one bbolt file under the data directory, with committed offsets per
// consumer group. It gives the stages the same contract Kafka does (pipeline.Bus): Produce
// returns once the messages are fsynced, a consumer resumes after its last commit, so a
// kill -9 at any moment loses nothing.
//
// Each topic has one partition (0). A group has at most one live member at a time.
package diskbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/otklik/otklik/pipeline"
)

// Options tune the bus.
type Options struct {
	// Retention is how long a message that every known group has committed is kept;
	// messages no group has read yet are kept until Retention too, then trimmed. Zero
	// means DefaultRetention.
	Retention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Keep lists topics that are never trimmed, such as an event log that projections
	// are rebuilt from.
	Keep []string
}

// DefaultRetention keeps a week of messages, as a default Kafka topic does.
const DefaultRetention = 7 * 24 * time.Hour

// Bus is the embedded on-disk bus. It is safe for concurrent use.
type Bus struct {
	db   *bolt.DB
	opts Options

	mu      sync.Mutex
	notify  chan struct{} // closed and replaced on every Produce
	members map[string]bool
	closed  bool
}

var (
	topicsPrefix = []byte("t/")
	groupsPrefix = []byte("g/")
)

// Open opens (creating it if needed) the bus in dir.
func Open(dir string, opts Options) (*Bus, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("diskbus: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, "bus.db")
	db, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("diskbus: open %s: %w", path, err)
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Bus{db: db, opts: opts, notify: make(chan struct{}), members: map[string]bool{}}, nil
}

func topicBucket(topic string) []byte { return append(append([]byte{}, topicsPrefix...), topic...) }
func groupBucket(group string) []byte { return append(append([]byte{}, groupsPrefix...), group...) }

// Produce appends msgs to their topics in one fsynced transaction.
func (b *Bus) Produce(ctx context.Context, msgs ...pipeline.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	now := b.opts.Now()
	err := b.db.Update(func(tx *bolt.Tx) error {
		for i := range msgs {
			if msgs[i].Topic == "" {
				return errors.New("diskbus: message without topic")
			}
			bk, err := tx.CreateBucketIfNotExists(topicBucket(msgs[i].Topic))
			if err != nil {
				return err
			}
			seq, err := bk.NextSequence() // starts at 1; offsets start at 0
			if err != nil {
				return err
			}
			m := msgs[i]
			if m.Time.IsZero() {
				m.Time = now
			}
			if err := bk.Put(offsetKey(int64(seq-1)), encode(m)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, bolt.ErrDatabaseNotOpen) {
			return pipeline.ErrClosed
		}
		return fmt.Errorf("diskbus: produce: %w", err)
	}
	b.mu.Lock()
	close(b.notify)
	b.notify = make(chan struct{})
	b.mu.Unlock()
	return nil
}

// Consumer joins group on topics. The embedded bus allows one live member per group.
func (b *Bus) Consumer(group string, topics ...string) (pipeline.Consumer, error) {
	if group == "" || len(topics) == 0 {
		return nil, errors.New("diskbus: a consumer needs a group and at least one topic")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, pipeline.ErrClosed
	}
	if b.members[group] {
		return nil, fmt.Errorf("diskbus: group %q already has a member (the embedded bus has one partition per topic)", group)
	}
	c := &consumer{bus: b, group: group, topics: topics, next: map[string]int64{}}
	err := b.db.View(func(tx *bolt.Tx) error {
		gb := tx.Bucket(groupBucket(group))
		for _, t := range topics {
			c.next[t] = 0
			if gb != nil {
				if v := gb.Get([]byte(t)); len(v) == 8 {
					c.next[t] = int64(binary.BigEndian.Uint64(v))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("diskbus: read offsets of %s: %w", group, err)
	}
	b.members[group] = true
	return c, nil
}

// Ready reports whether the bus is open.
func (b *Bus) Ready(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return pipeline.ErrClosed
	}
	return nil
}

// Close closes the file. Consumers blocked in Fetch return ErrClosed.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.notify)
	b.notify = make(chan struct{})
	b.mu.Unlock()
	return b.db.Close()
}

// Committed returns group's committed offset (the next offset to read) of topic.
func (b *Bus) Committed(group, topic string) (int64, error) {
	var off int64
	err := b.db.View(func(tx *bolt.Tx) error {
		if gb := tx.Bucket(groupBucket(group)); gb != nil {
			if v := gb.Get([]byte(topic)); len(v) == 8 {
				off = int64(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	return off, err
}

// End returns the offset the next message of topic will get (the high watermark).
func (b *Bus) End(topic string) (int64, error) {
	var end int64
	err := b.db.View(func(tx *bolt.Tx) error {
		if bk := tx.Bucket(topicBucket(topic)); bk != nil {
			end = int64(bk.Sequence())
		}
		return nil
	})
	return end, err
}

// Lag returns, per topic a group has committed on, how many messages it has not
// committed yet.
func (b *Bus) Lag() (map[[2]string]int64, error) {
	lag := map[[2]string]int64{}
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, gb *bolt.Bucket) error {
			if len(name) < len(groupsPrefix) || string(name[:len(groupsPrefix)]) != string(groupsPrefix) {
				return nil
			}
			group := string(name[len(groupsPrefix):])
			return gb.ForEach(func(topic, v []byte) error {
				var end int64
				if bk := tx.Bucket(topicBucket(string(topic))); bk != nil {
					end = int64(bk.Sequence())
				}
				lag[[2]string{group, string(topic)}] = end - int64(binary.BigEndian.Uint64(v))
				return nil
			})
		})
	})
	return lag, err
}

// Trim deletes messages older than the retention that every group consuming their topic
// has committed, and messages older than the retention that nobody consumes. It returns
// how many it deleted.
func (b *Bus) Trim() (int, error) {
	cutoff := b.opts.Now().Add(-b.opts.Retention)
	deleted := 0
	err := b.db.Update(func(tx *bolt.Tx) error {
		minCommitted := map[string]int64{}
		err := tx.ForEach(func(name []byte, gb *bolt.Bucket) error {
			if string(name[:min(len(name), len(groupsPrefix))]) != string(groupsPrefix) {
				return nil
			}
			return gb.ForEach(func(topic, v []byte) error {
				off := int64(binary.BigEndian.Uint64(v))
				if cur, ok := minCommitted[string(topic)]; !ok || off < cur {
					minCommitted[string(topic)] = off
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			if string(name[:min(len(name), len(topicsPrefix))]) != string(topicsPrefix) {
				return nil
			}
			topic := string(name[len(topicsPrefix):])
			if slices.Contains(b.opts.Keep, topic) {
				return nil
			}
			limit, consumed := minCommitted[topic]
			c := bk.Cursor()
			for k, v := c.First(); k != nil; k, v = c.First() {
				if consumed && int64(binary.BigEndian.Uint64(k)) >= limit {
					break
				}
				m, err := decode(v)
				if err != nil || !m.Time.Before(cutoff) {
					break
				}
				if err := c.Delete(); err != nil {
					return err
				}
				deleted++
			}
			return nil
		})
	})
	return deleted, err
}

type consumer struct {
	bus    *Bus
	group  string
	topics []string
	next   map[string]int64 // next offset to fetch, per topic
	turn   int              // round-robin start among topics

	mu     sync.Mutex
	closed bool
}

// Fetch returns the next message of the group's topics, round-robin between topics, and
// blocks until one is produced.
func (c *consumer) Fetch(ctx context.Context) (pipeline.Message, error) {
	for {
		c.bus.mu.Lock()
		wait, busClosed := c.bus.notify, c.bus.closed
		c.bus.mu.Unlock()
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if busClosed || closed {
			return pipeline.Message{}, pipeline.ErrClosed
		}
		m, ok, err := c.next1()
		if err != nil {
			return pipeline.Message{}, err
		}
		if ok {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return pipeline.Message{}, ctx.Err()
		case <-wait:
		}
	}
}

func (c *consumer) next1() (pipeline.Message, bool, error) {
	var (
		m     pipeline.Message
		found bool
	)
	err := c.bus.db.View(func(tx *bolt.Tx) error {
		for i := range c.topics {
			topic := c.topics[(c.turn+i)%len(c.topics)]
			bk := tx.Bucket(topicBucket(topic))
			if bk == nil {
				continue
			}
			k, v := bk.Cursor().Seek(offsetKey(c.next[topic]))
			if k == nil {
				continue
			}
			dm, err := decode(v)
			if err != nil {
				return fmt.Errorf("diskbus: corrupt message in %s: %w", topic, err)
			}
			dm.Topic, dm.Offset = topic, int64(binary.BigEndian.Uint64(k))
			m, found = dm, true
			c.next[topic] = dm.Offset + 1
			c.turn = (c.turn + i + 1) % len(c.topics)
			return nil
		}
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return m, false, pipeline.ErrClosed
	}
	return m, found, err
}

// Commit durably records msgs as done: per topic, the next offset to read becomes the
// highest committed offset + 1. Committing an older offset never moves a group back.
func (c *consumer) Commit(ctx context.Context, msgs ...pipeline.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	high := map[string]int64{}
	for _, m := range msgs {
		if m.Offset+1 > high[m.Topic] {
			high[m.Topic] = m.Offset + 1
		}
	}
	err := c.bus.db.Update(func(tx *bolt.Tx) error {
		gb, err := tx.CreateBucketIfNotExists(groupBucket(c.group))
		if err != nil {
			return err
		}
		for topic, off := range high {
			if v := gb.Get([]byte(topic)); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) >= off {
				continue
			}
			if err := gb.Put([]byte(topic), offsetKey(off)); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return pipeline.ErrClosed
	}
	if err != nil {
		return fmt.Errorf("diskbus: commit %s: %w", c.group, err)
	}
	return nil
}

// Close leaves the group; uncommitted messages are fetched again by the next member.
func (c *consumer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.bus.mu.Lock()
	delete(c.bus.members, c.group)
	// Wake a Fetch blocked on this consumer.
	close(c.bus.notify)
	c.bus.notify = make(chan struct{})
	c.bus.mu.Unlock()
	return nil
}

func offsetKey(off int64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, uint64(off))
	return k
}

// encode lays a message out as: time (8, unix nanos), key (4+n), value (4+n), header
// count (2) and each header's name (2+n) and value (4+n).
func encode(m pipeline.Message) []byte {
	n := 8 + 4 + len(m.Key) + 4 + len(m.Value) + 2
	for k, v := range m.Headers {
		n += 2 + len(k) + 4 + len(v)
	}
	buf := make([]byte, 0, n)
	buf = binary.BigEndian.AppendUint64(buf, uint64(m.Time.UnixNano()))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(m.Key)))
	buf = append(buf, m.Key...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(m.Value)))
	buf = append(buf, m.Value...)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(m.Headers)))
	for k, v := range m.Headers {
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(k)))
		buf = append(buf, k...)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		buf = append(buf, v...)
	}
	return buf
}

var errShort = errors.New("truncated message")

func decode(b []byte) (pipeline.Message, error) {
	var m pipeline.Message
	take := func(n int) ([]byte, error) {
		if len(b) < n {
			return nil, errShort
		}
		out := b[:n]
		b = b[n:]
		return out, nil
	}
	u32 := func() (int, error) {
		x, err := take(4)
		if err != nil {
			return 0, err
		}
		return int(binary.BigEndian.Uint32(x)), nil
	}
	ts, err := take(8)
	if err != nil {
		return m, err
	}
	m.Time = time.Unix(0, int64(binary.BigEndian.Uint64(ts)))
	n, err := u32()
	if err != nil {
		return m, err
	}
	key, err := take(n)
	if err != nil {
		return m, err
	}
	if n > 0 {
		m.Key = append([]byte(nil), key...)
	}
	if n, err = u32(); err != nil {
		return m, err
	}
	val, err := take(n)
	if err != nil {
		return m, err
	}
	m.Value = append([]byte(nil), val...)
	hc, err := take(2)
	if err != nil {
		return m, err
	}
	count := int(binary.BigEndian.Uint16(hc))
	if count > 0 {
		m.Headers = make(map[string]string, count)
	}
	for i := 0; i < count; i++ {
		kl, err := take(2)
		if err != nil {
			return m, err
		}
		k, err := take(int(binary.BigEndian.Uint16(kl)))
		if err != nil {
			return m, err
		}
		vl, err := u32()
		if err != nil {
			return m, err
		}
		v, err := take(vl)
		if err != nil {
			return m, err
		}
		m.Headers[string(k)] = string(v)
	}
	return m, nil
}

// lagDesc describes the consumer lag gauge, shared with the Kafka bus.
var lagDesc = prometheus.NewDesc("otklik_consumer_lag",
	"Messages of a topic partition a consumer group has not committed yet.",
	[]string{"group", "topic", "partition"}, nil)

// Describe implements prometheus.Collector: the bus reports its consumer lag.
func (b *Bus) Describe(ch chan<- *prometheus.Desc) { ch <- lagDesc }

// Collect implements prometheus.Collector.
func (b *Bus) Collect(ch chan<- prometheus.Metric) {
	lag, err := b.Lag()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(lagDesc, err)
		return
	}
	for k, v := range lag {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(v), k[0], k[1], "0")
	}
}
