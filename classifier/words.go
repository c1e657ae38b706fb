package classifier

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
	"unsafe"
)

// wordInfo is everything the classifier derives from one normalised word on its own. It
// is computed once per distinct word and cached: residents' vocabulary is small, so after
// warm-up almost every word of a publication is a cache hit.
//
// The fields are ordered by use: the first 64 bytes are read for every word of every text,
// the next 64 for most, the rest (dictionary hits) only when has says there are any. The
// struct is 248 bytes, so it is allocated in the 256-byte size class, aligned to cache
// lines (TestWordInfoSize).
type wordInfo struct {
	// stem is the Snowball (Russian) stem.
	stem string
	// obscene and insult name the lexicon entry the word matched, "" when none.
	obscene, insult string
	// has tells which of the dictionary hits below are non-empty (hasTopic, hasPrio,
	// hasGaz).
	has uint8
	// animal reports a word that insults only after a pointing word («эти свиньи»).
	animal bool
	// threat reports a threat word; threatPhr the threat phrases it starts; pointer a word
	// that aims an animal word at someone («эти», «ты»).
	threat, pointer bool
	// model reports a word that feeds the toxic model: not a pronoun, not a word of the
	// topic dictionaries, not a number (see modelWord).
	model bool
	// tbanned, tq and tn cache the toxic model's view of the word on its own (see
	// ToxicModel.wordSum): a banned root, the sum of its features' quantised weights and
	// their number.
	tbanned bool
	// lexNeutral reports a hard negative of the point-16 lexicon (see toxicLexicon.analyse).
	lexNeutral bool
	// stop reports a word of toxicStop (pronouns and reader-addressing verbs).
	stop bool
	tq   int32
	// pair is the stem's half of a pair feature (packRunes of its first four letters).
	pair uint32

	// word is the normalised word itself (the cache key).
	word      string
	threatPhr []int
	// nb is the topic model's log P(stem | topic), nil when the model does not know it.
	nb *[len(topicIDs)]float64

	// topics and prio list the single-word topic and priority terms the word matched;
	// topicPhr and prioPhr the phrases whose first word it is.
	topics, prio      []termHit
	topicPhr, prioPhr []int32
	// gaz lists the gazetteer entries whose first word it is.
	gaz []int
	tn  int32
	_   [16]byte // pads to the 256-byte size class (see above)
}

// Bits of wordInfo.has.
const (
	hasTopic uint8 = 1 << iota // topics or topicPhr
	hasPrio                    // prio or prioPhr
	hasGaz                     // gaz
)

// termHit is a reference to a dictionary term.
type termHit struct {
	term int32 // index into the topic term table
}

const (
	cacheShards = 64
	// cacheShardMaxLen bounds each shard: 64 × 3072 ≈ 196k words and as many chunks, more
	// than all the shared sets together hold (84k words, 141k chunks in 45k texts), and
	// about 90 MiB at worst (every word new: BenchmarkClassifyNewWords).
	cacheShardMaxLen = 3072
	// cacheShardSlots is the size of a shard's table: a power of two, so that a full
	// shard is at most three quarters full and probes stay short.
	cacheShardSlots = 4096
)

// cache is a concurrency-safe, bounded cache keyed by strings, read without locks and
// without allocating. Each shard is an insert-only open-addressing table; a shard that
// reaches its bound is replaced by an empty one (the simplest bound that needs no
// bookkeeping on hits: readers still holding the old table finish their lookups in it).
// The counters feed the metrics.
type cache[V any] struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard[V]
	// lookups counts lookups (added per text by the tokenizer); misses and resets are
	// counted where they happen.
	lookups atomic.Uint64
	misses  atomic.Uint64
	resets  atomic.Uint64
}

type cacheShard[V any] struct {
	t atomic.Pointer[cacheTable[V]]
	_ [56]byte // a shard per cache line: no false sharing between cores
}

// cacheTable is one shard's table. A slot is claimed by setting its hash (never 0) and
// then filled with its entry; a reader that finds the hash but not yet the entry takes it
// as a miss (the value is computed twice, which is harmless).
type cacheTable[V any] struct {
	slots [cacheShardSlots]cacheSlot[V]
	n     atomic.Int32 // claimed slots
}

type cacheSlot[V any] struct {
	h atomic.Uint64
	e atomic.Pointer[cacheEntry[V]]
}

type cacheEntry[V any] struct {
	key string
	v   V
}

func newCache[V any]() *cache[V] {
	c := &cache[V]{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].t.Store(new(cacheTable[V]))
	}
	return c
}

// get returns the cached value of key, computing it with make on a miss.
func (c *cache[V]) get(key string, make func(string) V) V {
	return c.getHashed(c.hash(key), key, make)
}

// hash is the hash get uses for key (never 0: 0 marks a free slot).
func (c *cache[V]) hash(key string) uint64 { return maphash.String(c.seed, key) | 1<<63 }

// getHashed is get with the key's hash already computed.
func (c *cache[V]) getHashed(h uint64, key string, make func(string) V) V {
	sh := &c.shards[h%cacheShards]
	if v, ok := sh.t.Load().find(h, key); ok {
		return v // hits are counted by the caller, per text, not per word
	}
	c.misses.Add(1)
	key = strings.Clone(key)
	v := make(key)
	c.put(sh, h, key, v)
	return v
}

// getBytes is get for a byte slice key; it copies the key only on a miss.
func (c *cache[V]) getBytes(key []byte, make func(string) V) V {
	h := maphash.Bytes(c.seed, key) | 1<<63
	sh := &c.shards[h%cacheShards]
	if v, ok := sh.t.Load().find(h, unsafe.String(unsafe.SliceData(key), len(key))); ok {
		return v
	}
	c.misses.Add(1)
	k := string(key)
	v := make(k)
	c.put(sh, h, k, v)
	return v
}

// find looks key up in the table.
func (t *cacheTable[V]) find(h uint64, key string) (V, bool) {
	for i := (h / cacheShards) % cacheShardSlots; ; i = (i + 1) % cacheShardSlots {
		s := &t.slots[i]
		switch s.h.Load() {
		case 0:
			var zero V
			return zero, false
		case h:
			if e := s.e.Load(); e != nil && e.key == key {
				return e.v, true
			}
		}
	}
}

// put adds key to the shard, replacing a full table with an empty one first.
func (c *cache[V]) put(sh *cacheShard[V], h uint64, key string, v V) {
	e := &cacheEntry[V]{key: key, v: v}
	for {
		t := sh.t.Load()
		if t.n.Add(1) > cacheShardMaxLen {
			if sh.t.CompareAndSwap(t, new(cacheTable[V])) {
				c.resets.Add(1)
			}
			continue
		}
		for i := (h / cacheShards) % cacheShardSlots; ; i = (i + 1) % cacheShardSlots {
			s := &t.slots[i]
			if s.h.Load() == 0 && s.h.CompareAndSwap(0, h) {
				s.e.Store(e)
				return
			}
		}
	}
}
