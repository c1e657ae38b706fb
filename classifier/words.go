package classifier

import (
	"hash/maphash"
	"math"
	"strings"
	"sync/atomic"
	"unsafe"
)

// wordInfo is everything the classifier derives from one normalised word on its own. It
// is computed once per distinct word and cached: residents' vocabulary is small, so after
// warm-up almost every word of a publication is a cache hit.
//
// The fields are ordered by use: the first 64 bytes are read for every word of every text,
// the next for most; the dictionary hits, which few words have, are behind hits. The
// struct is 128 bytes, a size class whose objects are aligned to cache lines
// (TestWordInfoSize).
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
	// threat reports a threat word; pointer a word that aims an animal word at someone
	// («эти», «ты»).
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
	word string
	// nb is the topic model's log P(stem | topic), nil when the model does not know it.
	nb *[len(topicIDs)]float64
	// hits are the word's dictionary hits: the classifier's empty noHits for most words.
	hits *wordHits
	// h is the hash of word in the word cache.
	h  uint64
	tn int32
	// short holds word inline when it has at most 19 bytes (slen of them; 255 when longer),
	// so that a cache lookup compares keys without reading the word's own memory.
	short [19]byte
	slen  uint8
}

// wordHits are the dictionary entries a word matches on its own or starts.
type wordHits struct {
	// topics and prio list the single-word topic and priority terms the word matched;
	// topicPhr and prioPhr the phrases whose first word it is.
	topics, prio      []termHit
	topicPhr, prioPhr []int32
	// gaz lists the gazetteer entries whose first word it is.
	gaz []int
	// threatPhr lists the threat phrases whose first word it is.
	threatPhr []int
}

func (h *wordHits) empty() bool {
	return len(h.topics)+len(h.prio)+len(h.topicPhr)+len(h.prioPhr)+len(h.gaz)+len(h.threatPhr) == 0
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
	// cacheShardSlots is the size of a shard's table, and so its hard bound: 64 × 4096 ≈
	// 262k words and as many chunks, about 90 MiB at worst (every word new:
	// BenchmarkClassifyNewWords).
	cacheShardSlots = 4096
	// cacheMaxProbe is the longest run of slots a lookup or insert looks at: a table where
	// an insert finds no free slot that close to its place is replaced by an empty one.
	// That happens at 69–80% full, 2,800–3,300 entries per shard, so each cache holds about
	// 190k entries: more than all the shared sets together need (81k words, 141k chunks in
	// 45k texts; no reset).
	cacheMaxProbe = 48
)

// cache is a concurrency-safe, bounded cache of values that carry their own string key
// (a word's info, a chunk's tokens), read without locks and without allocating. Each
// shard is an insert-only open-addressing table of pointers to the values, a value
// published by one compare-and-swap; a shard whose table is too full is given an empty
// one (the simplest bound that needs no bookkeeping on hits: readers still holding the
// old table finish their lookups in it). The counters feed the metrics.
type cache[T any, P keyed[T]] struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard[T]
	// lookups counts lookups (added per text by the tokenizer); misses and resets are
	// counted where they happen.
	lookups atomic.Uint64
	misses  atomic.Uint64
	resets  atomic.Uint64
}

// keyed is a cached value: a pointer that records the hash of its key when it is cached,
// and tells whether it is the value of a key.
type keyed[T any] interface {
	*T
	// setCacheHash records h (and what else cachedAs compares) before the value is
	// published.
	setCacheHash(h uint64)
	// cachedAs reports whether the value is the one of key k, whose hash is h.
	cachedAs(h uint64, k string) bool
}

type cacheShard[T any] struct {
	t atomic.Pointer[cacheTable[T]]
	_ [56]byte // a shard per cache line: no false sharing between cores
}

// cacheTable is one shard's table.
type cacheTable[T any] [cacheShardSlots]atomic.Pointer[T]

func newCache[T any, P keyed[T]]() *cache[T, P] {
	c := &cache[T, P]{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].t.Store(new(cacheTable[T]))
	}
	return c
}

// get returns the cached value of key, computing it with make on a miss.
func (c *cache[T, P]) get(key string, make func(string) P) P {
	return c.getHashed(c.hash(key), key, make)
}

// hash is the hash get uses for key.
func (c *cache[T, P]) hash(key string) uint64 { return maphash.String(c.seed, key) }

// getHashed is get with the key's hash already computed.
func (c *cache[T, P]) getHashed(h uint64, key string, make func(string) P) P {
	v, _ := c.lookup(h, key, make)
	return v
}

// lookup is getHashed that also tells whether the key was missing.
func (c *cache[T, P]) lookup(h uint64, key string, make func(string) P) (P, bool) {
	sh := &c.shards[h%cacheShards]
	if v := find[T, P](sh.t.Load(), h, key); v != nil {
		return v, false // hits are counted by the caller, per text, not per word
	}
	c.misses.Add(1)
	return c.put(sh, h, key, make(strings.Clone(key))), true
}

// getBytes is get for a byte slice key; it copies the key only on a miss (lookup clones
// it, and nothing else keeps it).
func (c *cache[T, P]) getBytes(key []byte, make func(string) P) P {
	return c.getHashed(maphash.Bytes(c.seed, key), unsafe.String(unsafe.SliceData(key), len(key)), make)
}

// first returns the value in the first slot where a key of hash h would be, nil when it
// is empty: the value of that key, or another one's. Reading it ahead of a lookup brings
// the slot and the value into the processor's cache.
func (c *cache[T, P]) first(h uint64) P {
	return P(c.shards[h%cacheShards].t.Load()[slot(h)].Load())
}

// slot is where a key of hash h starts its run in a shard's table.
func slot(h uint64) uint64 { return (h / cacheShards) % cacheShardSlots }

// find looks key up in the table; nil when it is not there.
func find[T any, P keyed[T]](t *cacheTable[T], h uint64, key string) P {
	for i, n := slot(h), 0; n < cacheMaxProbe; i, n = (i+1)%cacheShardSlots, n+1 {
		v := P(t[i].Load())
		if v == nil {
			return nil
		}
		if v.cachedAs(h, key) {
			return v
		}
	}
	return nil
}

// put adds v (the value of key, whose hash is h) to the shard, replacing its table with
// an empty one when there is no free slot near the key's place, and returns the value
// cached for key: v, or the value another worker cached first.
func (c *cache[T, P]) put(sh *cacheShard[T], h uint64, key string, v P) P {
	v.setCacheHash(h)
	for {
		t := sh.t.Load()
		for i, n := slot(h), 0; n < cacheMaxProbe; i, n = (i+1)%cacheShardSlots, n+1 {
			cur := P(t[i].Load())
			if cur == nil {
				if t[i].CompareAndSwap(nil, (*T)(v)) {
					return v
				}
				cur = P(t[i].Load()) // taken meanwhile: maybe by the same key
			}
			if cur.cachedAs(h, key) {
				return cur
			}
		}
		if sh.t.CompareAndSwap(t, new(cacheTable[T])) {
			c.resets.Add(1)
		}
	}
}

func (wi *wordInfo) setCacheHash(h uint64) {
	wi.h = h
	wi.slen = math.MaxUint8
	if len(wi.word) <= len(wi.short) {
		wi.slen = uint8(copy(wi.short[:], wi.word))
	}
}

// cachedAs reports whether the info is the word k's (the word cache's key).
func (wi *wordInfo) cachedAs(h uint64, k string) bool {
	if wi.h != h {
		return false
	}
	if len(k) <= len(wi.short) {
		return int(wi.slen) == len(k) && string(wi.short[:len(k)]) == k
	}
	return wi.word == k
}
