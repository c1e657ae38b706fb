package vk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/otklik/otklik/collectors"
)

// searchCursor is the persisted position of one newsfeed.search query.
type searchCursor struct {
	// Since (Unix) is the newest result date of the last completed round; the next
	// round asks for start_time = Since − SearchOverlap.
	Since int64 `json:"since"`
	// NextFrom is newsfeed.search's next_from while a round is being paged through.
	NextFrom string `json:"next_from,omitempty"`
	// RoundMax is the newest date seen in the round in progress.
	RoundMax int64 `json:"round_max,omitempty"`
	// Pages counts the pages of the round in progress.
	Pages int `json:"pages,omitempty"`
	// Seen maps "owner_post" to [date, edited] for results inside the overlap, so that
	// re-read results are not emitted twice unless edited.
	Seen map[string][2]int64 `json:"seen,omitempty"`
}

const searchCount = 200 // newsfeed.search's maximum

// searchFetch runs one query page by page (next_from), from start_time onwards.
func (v *VK) searchFetch(key, q string) collectors.FetchFunc {
	return func(ctx context.Context, cursor string) (collectors.Page, error) {
		var page collectors.Page
		cur := collectors.DecodeCursor[searchCursor](cursor, "vk search", &page)
		if cur.Seen == nil {
			cur.Seen = map[string][2]int64{}
		}
		now := v.now()
		start := cur.Since - int64(v.cfg.SearchOverlap.Seconds())
		if cur.Since == 0 {
			start = now.Add(-v.cfg.Backfill).Unix()
		}
		params := url.Values{
			"q": {q}, "extended": {"1"}, "count": {strconv.Itoa(searchCount)},
			"start_time": {strconv.FormatInt(start, 10)}, "fields": {authorFields},
		}
		if cur.NextFrom != "" {
			params.Set("start_from", cur.NextFrom)
		}
		r, err := v.call(ctx, "newsfeed.search", params)
		if err != nil {
			return collectors.Page{}, err
		}
		res, err := parseSearch(r.Response)
		if err != nil {
			return collectors.Page{}, fmt.Errorf("vk newsfeed.search: %w", err)
		}
		a := newAuthors(res.ExtendedResponse)
		for _, p := range res.Items {
			k := strconv.Itoa(p.OwnerID) + "_" + strconv.Itoa(p.ID)
			prev, ok := cur.Seen[k]
			if ok && int64(p.Edited) <= prev[1] {
				continue
			}
			page.Publications = append(page.Publications, postPublication(p, a, key, now))
			cur.Seen[k] = [2]int64{int64(p.Date), int64(p.Edited)}
			cur.RoundMax = max(cur.RoundMax, int64(p.Date))
		}
		cur.Pages++
		if res.NextFrom != "" && len(res.Items) > 0 && cur.Pages < v.cfg.MaxPages {
			cur.NextFrom = res.NextFrom
			page.More = true
		} else {
			cur.Since = max(cur.Since, cur.RoundMax, start)
			cur.NextFrom, cur.RoundMax, cur.Pages = "", 0, 0
			keepFrom := cur.Since - int64(v.cfg.SearchOverlap.Seconds())
			for k, s := range cur.Seen {
				if s[0] < keepFrom {
					delete(cur.Seen, k)
				}
			}
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return collectors.Page{}, fmt.Errorf("vk search position: %w", err)
		}
		page.Cursor = string(b)
		return page, nil
	}
}
