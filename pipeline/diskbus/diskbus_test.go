package diskbus

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/otklik/otklik/pipeline"
)

func msg(topic, v string) pipeline.Message {
	return pipeline.Message{Topic: topic, Key: []byte("k"), Value: []byte(v), Headers: map[string]string{"h": v}}
}

func fetchN(t *testing.T, c pipeline.Consumer, n int) []pipeline.Message {
	t.Helper()
	var out []pipeline.Message
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, err := c.Fetch(ctx)
		cancel()
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		out = append(out, m)
	}
	return out
}

func TestResumeAfterCommitAndReopen(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := b.Produce(ctx, msg("raw", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	c, err := b.Consumer("g", "raw")
	if err != nil {
		t.Fatal(err)
	}
	got := fetchN(t, c, 3)
	if string(got[2].Value) != "2" || got[2].Offset != 2 || got[2].Headers["h"] != "2" || string(got[2].Key) != "k" {
		t.Fatalf("third message = %+v", got[2])
	}
	// Commit only the first two: the third must come again after a restart.
	if err := c.Commit(ctx, got[:2]...); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err = b.Consumer("g", "raw")
	if err != nil {
		t.Fatal(err)
	}
	got = fetchN(t, c, 3)
	for i, want := range []string{"2", "3", "4"} {
		if string(got[i].Value) != want {
			t.Errorf("after reopen message %d = %q, want %q", i, got[i].Value, want)
		}
	}
	if off, _ := b.Committed("g", "raw"); off != 2 {
		t.Errorf("committed = %d, want 2", off)
	}
	lag, err := b.Lag()
	if err != nil || lag[[2]string{"g", "raw"}] != 3 {
		t.Errorf("lag = %v, %v; want 3", lag, err)
	}
}

func TestFetchBlocksUntilProduce(t *testing.T) {
	b, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := b.Consumer("g", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan pipeline.Message)
	go func() {
		m, err := c.Fetch(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- m
	}()
	time.Sleep(20 * time.Millisecond)
	if err := b.Produce(context.Background(), msg("b", "x")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-done:
		if m.Topic != "b" || string(m.Value) != "x" {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Fetch did not wake up on Produce")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.Fetch(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fetch on empty topic: %v, want deadline exceeded", err)
	}
}

func TestRoundRobinBetweenTopics(t *testing.T) {
	b, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := b.Produce(ctx, msg("a", "a"), msg("b", "b")); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := b.Consumer("g", "a", "b")
	got := fetchN(t, c, 4)
	var seq string
	for _, m := range got {
		seq += m.Topic
	}
	if seq != "abab" {
		t.Fatalf("order = %s, want abab (no topic starves the other)", seq)
	}
}

func TestOneMemberPerGroupAndClose(t *testing.T) {
	b, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Consumer("g", "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Consumer("g", "a"); err == nil {
		t.Fatal("second member of a group accepted")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err = b.Consumer("g", "a")
	if err != nil {
		t.Fatalf("member after Close: %v", err)
	}
	errc := make(chan error)
	go func() { _, err := c.Fetch(context.Background()); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	b.Close()
	if err := <-errc; !errors.Is(err, pipeline.ErrClosed) {
		t.Fatalf("Fetch after bus Close: %v", err)
	}
	if err := b.Produce(context.Background(), msg("a", "x")); !errors.Is(err, pipeline.ErrClosed) {
		t.Fatalf("Produce after Close: %v", err)
	}
	if err := b.Ready(context.Background()); err == nil {
		t.Fatal("closed bus is ready")
	}
}

func TestTrimKeepsUncommittedAndRecent(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	b, err := Open(t.TempDir(), Options{Retention: time.Hour, Now: func() time.Time { return now }, Keep: []string{"events"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if err := b.Produce(ctx, msg("raw", fmt.Sprint(i)), msg("dlq", fmt.Sprint(i)), msg("events", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := b.Consumer("g", "raw")
	got := fetchN(t, c, 2)
	if err := c.Commit(ctx, got...); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Trim(); n != 0 {
		t.Fatalf("trimmed %d recent messages", n)
	}
	now = now.Add(2 * time.Hour)
	n, err := b.Trim()
	if err != nil {
		t.Fatal(err)
	}
	// raw: the 2 committed ones; dlq (no consumer): all 4 old ones; events: none (kept).
	if n != 6 {
		t.Fatalf("trimmed %d, want 6", n)
	}
	got = fetchN(t, c, 2)
	if string(got[0].Value) != "2" {
		t.Fatalf("uncommitted message lost: %+v", got[0])
	}
	if end, _ := b.End("raw"); end != 4 {
		t.Fatalf("end = %d after trim, want 4 (offsets never reused)", end)
	}
}

func TestDecodeRejectsTruncated(t *testing.T) {
	enc := encode(msg("t", "value"))
	if _, err := decode(enc); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(enc); i++ {
		if _, err := decode(enc[:i]); err == nil {
			t.Fatalf("decode of %d/%d bytes succeeded", i, len(enc))
		}
	}
}
