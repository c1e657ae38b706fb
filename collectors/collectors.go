// Package collectors finds residents' publications in the social networks. Each network
// is a small fetch function over a configurable base URL (packages collectors/vk,
// collectors/ok, collectors/facebook, collectors/instagram, and collectors/replay for JSON
// Lines files); one shared Poller owns ticking, per-call timeouts, back-off on rate limits
// and errors, positions, metrics and the one log line on failure.
package collectors

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/otklik/otklik"
)

// Source is one thing a collector polls: a community wall, the comments of a wall, a
// keyword search, a file.
type Source struct {
	// Network is the network polled.
	Network otklik.Network
	// Kind is the bounded kind of source (wall, comments, search, feed, media, hashtag,
	// account, file); it is a metric label.
	Kind string
	// Key identifies the source among all sources; it keys the persisted position.
	Key string
	// Interval is how often to poll; zero means the poller's default.
	Interval time.Duration
}

// Page is what one fetch returns.
type Page struct {
	// Publications are new or changed publications (edits carry the same id; deletions
	// have Deleted set).
	Publications []otklik.Publication
	// Cursor is the source's position after Publications; the poller persists it only
	// after Publications are delivered. Empty keeps the previous position.
	Cursor string
	// More asks the poller to fetch again at once (another page is waiting).
	More bool
	// Partial lists errors on part of the source that the fetch skipped (a private wall in
	// a batch, one malformed item); the poller counts each by Reason and logs the first.
	// The rest of the page is delivered and the position advanced.
	Partial []error
}

// FetchFunc fetches what a source published after cursor ("" on the first call).
type FetchFunc func(ctx context.Context, cursor string) (Page, error)

// DecodeCursor reads a position that a fetch function saved as JSON ("" gives the zero
// T). A position that does not decode is added to page.Partial as ErrMalformed ("<what>
// position: …") and the zero T is returned: a damaged position must not stop the source
// for good, so it starts over with its backfill window (ids are stable, so what it
// collects again is written idempotently).
func DecodeCursor[T any](cursor, what string, page *Page) T {
	var cur T
	if cursor == "" {
		return cur
	}
	if err := json.Unmarshal([]byte(cursor), &cur); err != nil {
		page.Partial = append(page.Partial, fmt.Errorf("%w: %s position: %v", ErrMalformed, what, err))
		var zero T
		return zero
	}
	return cur
}

// Target is a source with its fetch function.
type Target struct {
	Source
	// Fetch reads the source.
	Fetch FetchFunc
}

// Sink receives collected publications. Deliver returns nil only once they are durably
// stored (on the bus); the poller then advances the source's position.
type Sink interface {
	Deliver(ctx context.Context, pubs []otklik.Publication) error
}

// Positions persists each source's cursor.
type Positions interface {
	Load(ctx context.Context, key string) (string, error)
	Save(ctx context.Context, key, cursor string) error
}
