package classifier

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/kljensen/snowball/russian"
)

// wordInfo is everything the classifier derives from one normalised word on its own. It
// is computed once per distinct word and cached: residents' vocabulary is small, so after
// warm-up almost every word of a publication is a cache hit.
type wordInfo struct {
	// stem is the Snowball (Russian) stem.
	stem string
	// obscene and insult name the lexicon entry the word matched, "" when none.
	obscene, insult string
	// animal reports a word that insults only after a pointing word («эти свиньи»).
	animal bool
	// topics and prio list the single-word topic and priority terms the word matched.
	topics, prio []termHit
}

// termHit is a reference to a dictionary term.
type termHit struct {
	term int32 // index into the topic term table
}

const (
	cacheShards      = 64
	cacheShardMaxLen = 8192 // per shard: about 500k words in all before a shard is reset
)

// wordCache is a concurrency-safe, bounded cache of wordInfo keyed by the normalised word.
// A shard that grows past its bound is emptied (the simplest bound that needs no
// bookkeeping on hits); the counters feed the metrics.
type wordCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
	hits   atomic.Uint64
	misses atomic.Uint64
	resets atomic.Uint64
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*wordInfo
}

func newWordCache() *wordCache {
	c := &wordCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*wordInfo, 256)
	}
	return c
}

// get returns the cached info of w, computing it with make on a miss.
func (c *wordCache) get(w string, make func(string) *wordInfo) *wordInfo {
	sh := &c.shards[maphash.String(c.seed, w)%cacheShards]
	sh.mu.RLock()
	wi, ok := sh.m[w]
	sh.mu.RUnlock()
	if ok {
		c.hits.Add(1)
		return wi
	}
	c.misses.Add(1)
	wi = make(w)
	sh.mu.Lock()
	if len(sh.m) >= cacheShardMaxLen {
		clear(sh.m)
		c.resets.Add(1)
	}
	sh.m[w] = wi
	sh.mu.Unlock()
	return wi
}

// Stem returns the Snowball (Russian) stem of a normalised word.
func Stem(w string) string {
	return russian.Stem(w, false)
}
