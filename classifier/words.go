package classifier

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
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
)

// cache is a concurrency-safe, bounded cache keyed by strings (looked up without
// allocating). A shard that grows past its bound is emptied (the simplest bound that needs
// no bookkeeping on hits); the counters feed the metrics.
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
	mu sync.RWMutex
	m  map[string]V
	_  [32]byte // a shard per cache line: no false sharing between cores
}

func newCache[V any]() *cache[V] {
	c := &cache[V]{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string]V, 1024)
	}
	return c
}

// get returns the cached value of key, computing it with make on a miss.
func (c *cache[V]) get(key string, make func(string) V) V {
	return c.getHashed(maphash.String(c.seed, key), key, make)
}

// hash is the hash get uses for key.
func (c *cache[V]) hash(key string) uint64 { return maphash.String(c.seed, key) }

// getHashed is get with the key's hash already computed.
func (c *cache[V]) getHashed(h uint64, key string, make func(string) V) V {
	sh := &c.shards[h%cacheShards]
	sh.mu.RLock()
	v, ok := sh.m[key]
	sh.mu.RUnlock()
	if ok {
		return v // hits are counted by the caller, per text, not per word
	}
	c.misses.Add(1)
	key = strings.Clone(key)
	v = make(key)
	c.put(sh, key, v)
	return v
}

// getBytes is get for a byte slice key; it copies the key only on a miss.
func (c *cache[V]) getBytes(key []byte, make func(string) V) V {
	sh := &c.shards[maphash.Bytes(c.seed, key)%cacheShards]
	sh.mu.RLock()
	v, ok := sh.m[string(key)]
	sh.mu.RUnlock()
	if ok {
		return v
	}
	c.misses.Add(1)
	k := string(key)
	v = make(k)
	c.put(sh, k, v)
	return v
}

func (c *cache[V]) put(sh *cacheShard[V], key string, v V) {
	sh.mu.Lock()
	if len(sh.m) >= cacheShardMaxLen {
		clear(sh.m)
		c.resets.Add(1)
	}
	sh.m[key] = v
	sh.mu.Unlock()
}
