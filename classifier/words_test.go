package classifier

import (
	"testing"
	"unsafe"
)

// TestWordInfoSize keeps wordInfo in the 256-byte size class, where allocations are
// aligned to cache lines, with its hot fields in the first line (see words.go).
func TestWordInfoSize(t *testing.T) {
	if n := unsafe.Sizeof(wordInfo{}); n > 256 || n <= 192 {
		t.Errorf("wordInfo is %d bytes, want 193–256", n)
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
