package vk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
)

// Source kinds of the VK collector (metric label values).
const (
	KindWall      = "wall"
	KindSearch    = "search"
	KindCallback  = "callback"
	KindStreaming = "streaming"
)

// Targets returns what the poller polls: one target per batch of BatchSize walls (one
// execute request reads them all) and one per search query.
func (v *VK) Targets() []collectors.Target {
	var ts []collectors.Target
	for i := 0; i < len(v.cfg.Walls); i += v.cfg.BatchSize {
		owners := v.cfg.Walls[i:min(i+v.cfg.BatchSize, len(v.cfg.Walls))]
		ids := make([]string, len(owners))
		for k, o := range owners {
			ids[k] = strconv.Itoa(o)
		}
		key := "vk:wall:" + strings.Join(ids, ",")
		ts = append(ts, collectors.Target{
			Source: collectors.Source{Network: otklik.VK, Kind: KindWall, Key: key, Interval: v.cfg.WallInterval},
			Fetch:  v.wallFetch(key, owners),
		})
	}
	for _, q := range v.cfg.Searches {
		key := "vk:search:" + q
		ts = append(ts, collectors.Target{
			Source: collectors.Source{Network: otklik.VK, Kind: KindSearch, Key: key, Interval: v.cfg.SearchInterval},
			Fetch:  v.searchFetch(key, q),
		})
	}
	return ts
}

// wallCursor is the persisted position of a batch of walls: what was seen on each wall
// within the watch window, and the calls still to make (comment pages, threads, older
// wall pages) so that a restart in the middle of a batch resumes where it stopped.
type wallCursor struct {
	Walls   map[int]*wallState `json:"walls"`
	Pending []job              `json:"pending,omitempty"`
}

type wallState struct {
	// MaxID is the highest post id seen on the wall.
	MaxID int `json:"max_id"`
	// Posts are the posts within the watch window.
	Posts map[int]*postState `json:"posts,omitempty"`
	// SkipUntil (Unix) pauses a wall VK refused (private, blocked, deleted).
	SkipUntil int64 `json:"skip_until,omitempty"`
}

type postState struct {
	Date        int64 `json:"d"`
	Edited      int64 `json:"e,omitempty"`
	Comments    int   `json:"c,omitempty"` // comments.count whose comments were collected
	LastComment int   `json:"l,omitempty"` // highest comment id collected
}

// job is one API call of a batch.
type job struct {
	Method string `json:"m"` // wall.get or wall.getComments
	Owner  int    `json:"o"`
	Post   int    `json:"p,omitempty"`
	Offset int    `json:"off,omitempty"`
	Thread int    `json:"t,omitempty"` // comment_id: read the thread under this comment
	Since  int    `json:"s,omitempty"` // collect ids above Since (-1: first poll of a wall)
	Need   int    `json:"n,omitempty"` // comments expected (count delta)
	Count  int    `json:"c,omitempty"` // comments.count that the job brings the post up to
}

const commentsPerCall = 100
const authorFields = "followers_count,members_count"

func (j job) params(c Config) map[string]any {
	p := map[string]any{"owner_id": j.Owner, "extended": 1, "fields": authorFields}
	if j.Offset > 0 {
		p["offset"] = j.Offset
	}
	switch j.Method {
	case "wall.get":
		p["count"] = c.PostsPerWall
	case "wall.getComments":
		p["post_id"] = j.Post
		p["count"] = commentsPerCall
		p["sort"] = "desc"
		p["need_likes"] = 1
		if j.Thread != 0 {
			p["comment_id"] = j.Thread
		} else {
			p["thread_items_count"] = 10
		}
	}
	return p
}

// executeCode is the VKScript running jobs in one request: "return [API.m({…}), …];".
func executeCode(c Config, jobs []job) string {
	var b strings.Builder
	b.WriteString("return [")
	for i, j := range jobs {
		if i > 0 {
			b.WriteByte(',')
		}
		js, _ := json.Marshal(j.params(c)) // map of ints and strings: cannot fail
		fmt.Fprintf(&b, "API.%s(%s)", j.Method, js)
	}
	b.WriteString("];")
	return b.String()
}

// execute runs jobs in one execute request. It returns each call's result, the errors of
// the calls that failed on their own (a private wall), or an error when the request as a
// whole failed or a call hit a token-wide condition (rate limit, bad token).
func (v *VK) execute(ctx context.Context, jobs []job) ([]json.RawMessage, map[int]error, error) {
	r, err := v.call(ctx, "execute", url.Values{"code": {executeCode(v.cfg, jobs)}})
	if err != nil {
		return nil, nil, err
	}
	results, failed, err := parseExecute(r.Response, len(jobs))
	if err != nil {
		return nil, nil, err
	}
	itemErrs := map[int]error{}
	for i, k := range failed {
		if k >= len(r.ExecuteErrors) {
			itemErrs[i] = fmt.Errorf("vk execute: %s failed without an error entry", jobs[i].Method)
			continue
		}
		e, fatal := v.itemError(r.ExecuteErrors[k])
		if fatal {
			return nil, nil, fmt.Errorf("vk execute: %w", e)
		}
		itemErrs[i] = e
	}
	return results, itemErrs, nil
}

// wallFetch polls a batch of walls: one execute with a wall.get per wall, then, on the
// following fetches (Page.More), the comment pages and threads the posts need.
func (v *VK) wallFetch(key string, owners []int) collectors.FetchFunc {
	return func(ctx context.Context, cursor string) (collectors.Page, error) {
		var page collectors.Page
		cur := collectors.DecodeCursor[wallCursor](cursor, "vk wall", &page)
		if cur.Walls == nil {
			cur.Walls = map[int]*wallState{}
		}
		now := v.now()
		var jobs []job
		if len(cur.Pending) > 0 {
			n := min(len(cur.Pending), v.cfg.BatchSize)
			jobs, cur.Pending = cur.Pending[:n:n], cur.Pending[n:]
		} else {
			for _, o := range owners {
				st := cur.Walls[o]
				if st != nil && st.SkipUntil > now.Unix() {
					continue
				}
				since := -1
				if st != nil {
					since = st.MaxID
				}
				jobs = append(jobs, job{Method: "wall.get", Owner: o, Since: since})
			}
		}
		if len(jobs) == 0 {
			return page, nil
		}
		results, itemErrs, err := v.execute(ctx, jobs)
		if err != nil {
			return collectors.Page{}, err
		}
		var follow []job
		for i, j := range jobs {
			if e := itemErrs[i]; e != nil {
				page.Partial = append(page.Partial, fmt.Errorf("wall %d: %w", j.Owner, e))
				if j.Method == "wall.get" {
					st := cur.wall(j.Owner)
					st.SkipUntil = now.Add(24 * time.Hour).Unix()
				}
				continue
			}
			var pubs []otklik.Publication
			var more []job
			var perr error
			switch j.Method {
			case "wall.get":
				pubs, more, perr = v.applyWall(&cur, j, results[i], key, now)
			case "wall.getComments":
				pubs, more, perr = v.applyComments(&cur, j, results[i], key, now)
			}
			if perr != nil {
				page.Partial = append(page.Partial, fmt.Errorf("wall %d: %w", j.Owner, perr))
				continue
			}
			page.Publications = append(page.Publications, pubs...)
			follow = append(follow, more...)
		}
		cur.Pending = append(cur.Pending, follow...)
		b, err := json.Marshal(cur)
		if err != nil {
			return collectors.Page{}, fmt.Errorf("vk wall position: %w", err)
		}
		page.Cursor = string(b)
		page.More = len(cur.Pending) > 0
		return page, nil
	}
}

func (c *wallCursor) wall(owner int) *wallState {
	st := c.Walls[owner]
	if st == nil {
		st = &wallState{Posts: map[int]*postState{}}
		c.Walls[owner] = st
	}
	if st.Posts == nil {
		st.Posts = map[int]*postState{}
	}
	return st
}

// applyWall folds one wall.get page into the wall's state: new posts and edits are
// emitted, posts gone from the page are emitted as deleted, and comment reads are queued
// for posts whose comment count grew.
func (v *VK) applyWall(cur *wallCursor, j job, raw []byte, source string, now time.Time) ([]otklik.Publication, []job, error) {
	r, err := parseWallGet(raw)
	if err != nil {
		return nil, nil, err
	}
	st := cur.wall(j.Owner)
	st.SkipUntil = 0
	a := newAuthors(r.ExtendedResponse)
	watchFrom := now.Add(-v.cfg.Watch).Unix()
	backfillFrom := now.Add(-v.cfg.Backfill).Unix()
	var pubs []otklik.Publication
	var more []job
	seen := map[int]bool{}
	oldest := int64(0) // date of the oldest non-pinned post on the page
	nonPinned, allNew := 0, true
	for _, p := range r.Items {
		date := int64(p.Date)
		seen[p.ID] = true
		if !p.IsPinned {
			nonPinned++
			if oldest == 0 || date < oldest {
				oldest = date
			}
		}
		ps := st.Posts[p.ID]
		switch {
		case ps == nil && (j.Since >= 0 && p.ID > j.Since || j.Since < 0 && date >= backfillFrom):
			pubs = append(pubs, postPublication(p, a, source, now))
			if date >= watchFrom {
				ps = &postState{Date: date, Edited: int64(p.Edited)}
				st.Posts[p.ID] = ps
				if p.Comments.Count > 0 {
					more = append(more, job{Method: "wall.getComments", Owner: j.Owner, Post: p.ID, Need: p.Comments.Count, Count: p.Comments.Count})
				}
			}
		case ps == nil:
			if !p.IsPinned {
				allNew = false
			}
		default:
			if !p.IsPinned {
				allNew = false
			}
			if int64(p.Edited) > ps.Edited {
				pubs = append(pubs, postPublication(p, a, source, now))
				ps.Edited = int64(p.Edited)
			}
			switch c := p.Comments.Count; {
			case c > ps.Comments:
				more = append(more, job{Method: "wall.getComments", Owner: j.Owner, Post: p.ID, Since: ps.LastComment, Need: c - ps.Comments, Count: c})
			case c < ps.Comments:
				ps.Comments = c // deleted comments: VK's count drops; Callback API names them
			}
		}
		if p.ID > st.MaxID {
			st.MaxID = p.ID
		}
	}
	full := nonPinned >= v.cfg.PostsPerWall
	if j.Offset == 0 {
		// Deletions: a watched post missing from the part of the wall the page covers.
		for id, ps := range st.Posts {
			if !seen[id] && (!full || ps.Date >= oldest) && j.Since >= 0 {
				pubs = append(pubs, otklik.Publication{
					Network: otklik.VK, Owner: strconv.Itoa(j.Owner), PostID: strconv.Itoa(id), Kind: otklik.Post,
					URL: postURL(j.Owner, id), Source: source, PublishedAt: time.Unix(ps.Date, 0).UTC(),
					FetchedAt: now, Deleted: true,
					ID: otklik.DocID(otklik.VK, strconv.Itoa(j.Owner), strconv.Itoa(id), ""),
				})
				delete(st.Posts, id)
			}
		}
	}
	// More new posts than one page: read the next page (older posts) too.
	nextPage := j.Offset/v.cfg.PostsPerWall + 1
	if full && nextPage < v.cfg.MaxPages && (j.Since >= 0 && allNew || j.Since < 0 && oldest >= backfillFrom) {
		more = append(more, job{Method: "wall.get", Owner: j.Owner, Offset: j.Offset + v.cfg.PostsPerWall, Since: j.Since})
	}
	for id, ps := range st.Posts {
		if ps.Date < watchFrom {
			delete(st.Posts, id)
		}
	}
	return pubs, more, nil
}

// applyComments emits the comments (and thread replies) above the job's Since and queues
// the next page or the threads VK truncated.
func (v *VK) applyComments(cur *wallCursor, j job, raw []byte, source string, now time.Time) ([]otklik.Publication, []job, error) {
	r, err := parseComments(raw)
	if err != nil {
		return nil, nil, err
	}
	a := newAuthors(r.ExtendedResponse)
	var pubs []otklik.Publication
	var more []job
	found, topNew, maxID := 0, 0, j.Since
	for _, c := range r.Items {
		if c.ID > j.Since {
			pubs = append(pubs, commentPublication(c, j.Owner, j.Post, j.Thread, a, source, now))
			found++
			topNew++
		}
		maxID = max(maxID, c.ID)
		for _, t := range c.Thread.Items {
			if t.ID > j.Since {
				pubs = append(pubs, commentPublication(t, j.Owner, j.Post, c.ID, a, source, now))
				found++
			}
			maxID = max(maxID, t.ID)
		}
	}
	page := j.Offset/commentsPerCall + 1
	switch {
	case topNew == len(r.Items) && len(r.Items) == commentsPerCall && page < v.cfg.MaxPages:
		// Every comment on the page is new: older ones may be new too.
		more = append(more, job{Method: j.Method, Owner: j.Owner, Post: j.Post, Thread: j.Thread,
			Offset: j.Offset + commentsPerCall, Since: j.Since, Need: j.Need - found})
	case j.Thread == 0 && found < j.Need:
		// Fewer new comments than the count grew by: the rest are replies deep in
		// threads that thread_items_count cut off.
		for _, c := range r.Items {
			if c.Thread.Count > len(c.Thread.Items) {
				// thread.items are the thread's first replies; the later ones have
				// higher ids, so the thread read starts after the last one returned.
				since := j.Since
				for _, t := range c.Thread.Items {
					since = max(since, t.ID)
				}
				more = append(more, job{Method: j.Method, Owner: j.Owner, Post: j.Post, Thread: c.ID, Since: since})
			}
		}
	}
	if ps := cur.wall(j.Owner).Posts[j.Post]; ps != nil {
		ps.LastComment = max(ps.LastComment, maxID)
		ps.Comments = max(ps.Comments, j.Count)
	}
	return pubs, more, nil
}
