// Package index stores classified publications and searches them for curators. Two
// engines implement the same methods: Bleve, an embedded on-disk index for the default
// mode, and Elastic, for Elasticsearch 8 and OpenSearch 2.x in production. Every write is
// keyed by the publication's stable id, so replays are idempotent.
package index

import (
	"errors"
	"fmt"
	"time"

	"github.com/otklik/otklik"
)

// Query is a curators' search. Zero fields do not filter.
type Query struct {
	// Text is a full-text query over the publication's text (Russian analysis: ё→е, stop
	// words, stemming), so «воды» finds «вода».
	Text string
	// Topic, Location, Priority and Network filter on the classification and the source.
	Topic    string
	Location string
	Priority otklik.Priority
	Network  otklik.Network
	// From and To bound the publication time (From inclusive, To exclusive).
	From, To time.Time
	// Dropped selects point-16 publications: false (the default) hides them, true shows
	// only them.
	Dropped bool
	// Offset and Size page the results; Size 0 means DefaultSize.
	Offset, Size int
	// Ascending sorts by publication time, oldest first; the default is newest first.
	Ascending bool
}

// Paging limits.
const (
	DefaultSize = 20
	MaxSize     = 200
	// MaxOffset bounds deep paging (as Elasticsearch's index.max_result_window does).
	MaxOffset = 10000
)

// ErrBadQuery is wrapped by Validate's errors.
var ErrBadQuery = errors.New("bad query")

// Validate checks the paging and the time range, and sets the default size.
func (q *Query) Validate() error {
	if q.Offset < 0 || q.Offset > MaxOffset {
		return fmt.Errorf("%w: offset must be between 0 and %d", ErrBadQuery, MaxOffset)
	}
	if q.Size < 0 || q.Size > MaxSize {
		return fmt.Errorf("%w: size must be between 0 and %d", ErrBadQuery, MaxSize)
	}
	if q.Size == 0 {
		q.Size = DefaultSize
	}
	if q.Priority != "" {
		switch q.Priority {
		case otklik.Critical, otklik.High, otklik.Medium, otklik.Low:
		default:
			return fmt.Errorf("%w: unknown priority %q", ErrBadQuery, q.Priority)
		}
	}
	if q.Network != "" && !q.Network.Valid() {
		return fmt.Errorf("%w: unknown network %q", ErrBadQuery, q.Network)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return fmt.Errorf("%w: from must be before to", ErrBadQuery)
	}
	return nil
}

// Result is one page of a search.
type Result struct {
	// Total is the number of matching publications.
	Total int64 `json:"total"`
	// Publications are the page, in the requested order.
	Publications []otklik.Publication `json:"publications"`
}

// ErrNotFound is returned by Get for an unknown id.
var ErrNotFound = errors.New("publication not found")
