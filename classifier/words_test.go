package classifier

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// TestWordInfoSize keeps wordInfo in the 128-byte size class, where allocations are
// aligned to cache lines, with its hot fields in the first line (see words.go).
func TestWordInfoSize(t *testing.T) {
	if n := unsafe.Sizeof(wordInfo{}); n != 128 {
		t.Errorf("wordInfo is %d bytes, want 128", n)
	}
	if off := unsafe.Offsetof(wordInfo{}.word); off != 64 {
		t.Errorf("wordInfo.word at %d, want 64 (the hot fields fill the first cache line)", off)
	}
}

// TestChunkSize keeps chunk in the 128-byte size class with a hit's fields in the first
// 64 bytes (see normalize.go).
func TestChunkSize(t *testing.T) {
	if n := unsafe.Sizeof(chunk{}); n != 128 {
		t.Errorf("chunk is %d bytes, want 128", n)
	}
	if off := unsafe.Offsetof(chunk{}.key); off != 64 {
		t.Errorf("chunk.key at %d, want 64", off)
	}
}

func TestDigitOrStar(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"", false}, {"петушонок", false}, {"х*й", true}, {"дом12", true}, {"abc", false}, {"0", true},
	} {
		if got := digitOrStar(tc.s); got != tc.want {
			t.Errorf("digitOrStar(%q) = %v", tc.s, got)
		}
	}
}

// testEntry is a cached value of TestCache.
type testEntry struct {
	k, v string
	h    uint64
}

func (e *testEntry) setCacheHash(h uint64)            { e.h = h }
func (e *testEntry) cachedAs(h uint64, k string) bool { return e.h == h && e.k == k }

// TestCache checks the lock-free cache under concurrent use: every get returns the value
// of its own key, each key is computed about once while it stays cached, and a shard that
// reaches its bound is replaced (resets) without losing correctness.
func TestCache(t *testing.T) {
	c := newCache[testEntry]()
	var calls atomic.Int64
	mk := func(k string) *testEntry { calls.Add(1); return &testEntry{k: k, v: "v:" + k} }
	const keys = 2000
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 5; r++ {
				for i := 0; i < keys; i++ {
					k := strconv.Itoa(i)
					var e *testEntry
					if i%2 == 0 {
						e = c.get(k, mk)
					} else {
						e = c.getBytes([]byte(k), mk)
					}
					if e.v != "v:"+k {
						t.Errorf("get(%q) = %q", k, e.v)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	// Four goroutines may race on a key's first computation, never on later rounds.
	if n := calls.Load(); n < keys || n > 4*keys {
		t.Errorf("%d computations for %d keys", n, keys)
	}
	if c.resets.Load() != 0 {
		t.Errorf("resets = %d below the bound", c.resets.Load())
	}
	// Past the bound: more distinct keys than all shards hold.
	many := cacheShards*cacheShardSlots + 10000
	for i := 0; i < many; i++ {
		k := "k" + strconv.Itoa(i)
		if e := c.get(k, mk); e.v != "v:"+k {
			t.Fatalf("get(%q) = %q", k, e.v)
		}
	}
	if c.resets.Load() == 0 {
		t.Error("no shard was reset past the bound")
	}
	// The keys still cached have their own values; the last one is there.
	found := 0
	for i := 0; i < many; i++ {
		k := "k" + strconv.Itoa(i)
		if e := find[testEntry](c.shards[c.hash(k)%cacheShards].t.Load(), c.hash(k), k); e != nil {
			if e.v != "v:"+k {
				t.Fatalf("find(%q) = %q", k, e.v)
			}
			found++
		}
	}
	last := "k" + strconv.Itoa(many-1)
	if find[testEntry](c.shards[c.hash(last)%cacheShards].t.Load(), c.hash(last), last) == nil {
		t.Errorf("the last key inserted, %q, is not found", last)
	}
	if found == 0 || found > cacheShards*cacheShardSlots {
		t.Errorf("%d keys still cached, want 1..%d", found, cacheShards*cacheShardSlots)
	}
}
