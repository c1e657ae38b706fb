package vk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/SevereCloud/vksdk/v2/object"
)

// fakeVK is an in-memory VK answering wall.get, wall.getComments, newsfeed.search and
// execute (interpreting the "return [API.method({…}), …];" code the collector sends) in
// the shapes of API 5.131 (see testdata/*.json for replayed real responses).
type fakeVK struct {
	mu       sync.Mutex
	now      func() time.Time
	walls    map[int][]object.WallWallpost // newest first
	comments map[[2]int][]*fakeComment     // (owner, post) → top-level comments, oldest first
	search   []object.WallWallpost         // newsfeed.search corpus, newest first
	private  map[int]bool
	next     []func(w http.ResponseWriter) // scripted answers for the next requests
	requests int
	calls    map[string]int // API calls by method (execute counts its inner calls)
	times    []time.Time    // when each request was served (fake's clock)
	events   []fakeEvent    // scheduled changes, applied when the fake's clock reaches them
}

type fakeEvent struct {
	at time.Time
	fn func()
}

// schedule runs fn (which may call addPost, addComment …) once the fake's clock reaches at.
func (f *fakeVK) schedule(at time.Time, fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fakeEvent{at, fn})
	slices.SortStableFunc(f.events, func(a, b fakeEvent) int { return a.at.Compare(b.at) })
}

func (f *fakeVK) runDue() {
	for {
		f.mu.Lock()
		if len(f.events) == 0 || f.events[0].at.After(f.now()) {
			f.mu.Unlock()
			return
		}
		ev := f.events[0]
		f.events = f.events[1:]
		f.mu.Unlock()
		ev.fn()
	}
}

type fakeComment struct {
	c       object.WallWallComment
	replies []object.WallWallComment // oldest first
}

func newFakeVK(now func() time.Time) *fakeVK {
	return &fakeVK{now: now, walls: map[int][]object.WallWallpost{}, comments: map[[2]int][]*fakeComment{},
		private: map[int]bool{}, calls: map[string]int{}}
}

// addPost publishes a post on owner's wall now and returns its id.
func (f *fakeVK) addPost(owner int, text string, at time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.nextID(owner)
	p := object.WallWallpost{ID: id, OwnerID: owner, FromID: 100 + id, Date: int(at.Unix()), Text: text, PostType: "post"}
	f.walls[owner] = append([]object.WallWallpost{p}, f.walls[owner]...)
	return id
}

// nextID mimics VK: posts and comments of one wall share an increasing counter.
func (f *fakeVK) nextID(owner int) int {
	max := 0
	for _, p := range f.walls[owner] {
		max = maxInt(max, p.ID)
	}
	for k, cs := range f.comments {
		if k[0] != owner {
			continue
		}
		for _, c := range cs {
			max = maxInt(max, c.c.ID)
			for _, r := range c.replies {
				max = maxInt(max, r.ID)
			}
		}
	}
	return max + 1
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// addComment adds a comment under post (a reply in the thread of root when root ≠ 0).
func (f *fakeVK) addComment(owner, post, root int, text string, at time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.nextID(owner)
	c := object.WallWallComment{ID: id, FromID: 500 + id, Date: int(at.Unix()), Text: text, PostID: post, OwnerID: owner}
	key := [2]int{owner, post}
	if root == 0 {
		f.comments[key] = append(f.comments[key], &fakeComment{c: c})
	} else {
		c.ReplyToComment = root
		c.ParentsStack = []int{root}
		for _, t := range f.comments[key] {
			if t.c.ID == root {
				t.replies = append(t.replies, c)
			}
		}
	}
	for i := range f.walls[owner] {
		if f.walls[owner][i].ID == post {
			f.walls[owner][i].Comments.Count++
		}
	}
	return id
}

func (f *fakeVK) edit(owner, post int, text string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.walls[owner] {
		if f.walls[owner][i].ID == post {
			f.walls[owner][i].Text = text
			f.walls[owner][i].Edited = int(at.Unix())
		}
	}
}

func (f *fakeVK) deletePost(owner, post int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.walls[owner] = slices.DeleteFunc(f.walls[owner], func(p object.WallWallpost) bool { return p.ID == post })
}

// script queues raw answers for the next requests.
func (f *fakeVK) script(fns ...func(w http.ResponseWriter)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = append(f.next, fns...)
}

func (f *fakeVK) stats() (requests int, calls map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, maps(f.calls)
}

func maps(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

var apiCall = regexp.MustCompile(`API\.([a-zA-Z]+\.[a-zA-Z]+)\((\{[^{}]*\})\)`)

func (f *fakeVK) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.runDue()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.times = append(f.times, f.now())
	if len(f.next) > 0 {
		fn := f.next[0]
		f.next = f.next[1:]
		fn(w)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	method := r.URL.Path[len("/method/"):]
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if method != "execute" {
		params := map[string]any{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		res, code := f.apply(method, params)
		if code != 0 {
			fmt.Fprintf(w, `{"error":{"error_code":%d,"error_msg":"fake error","request_params":[]}}`, code)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"response": res})
		return
	}
	var results []any
	var errs []map[string]any
	for _, m := range apiCall.FindAllStringSubmatch(r.PostForm.Get("code"), -1) {
		var params map[string]any
		if err := json.Unmarshal([]byte(m[2]), &params); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		res, code := f.apply(m[1], params)
		if code != 0 {
			results = append(results, false)
			errs = append(errs, map[string]any{"method": m[1], "error_code": code, "error_msg": "fake error"})
			continue
		}
		results = append(results, res)
	}
	out := map[string]any{"response": results}
	if len(errs) > 0 {
		out["execute_errors"] = errs
	}
	json.NewEncoder(w).Encode(out)
}

func num(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}

func (f *fakeVK) apply(method string, p map[string]any) (any, int) {
	f.calls[method]++
	owner := num(p["owner_id"])
	switch method {
	case "wall.get":
		if f.private[owner] {
			return nil, 30
		}
		posts := f.walls[owner]
		off, n := num(p["offset"]), num(p["count"])
		items := []any{}
		if off < len(posts) {
			for _, p := range posts[off:min(off+n, len(posts))] {
				items = append(items, leanPost(p))
			}
		}
		return map[string]any{"count": len(posts), "items": items, "profiles": []any{}, "groups": []any{}}, 0
	case "wall.getComments":
		key := [2]int{owner, num(p["post_id"])}
		off, n := num(p["offset"]), num(p["count"])
		var all []object.WallWallComment
		if root := num(p["comment_id"]); root != 0 {
			for _, t := range f.comments[key] {
				if t.c.ID == root {
					all = append(all, t.replies...)
				}
			}
		} else {
			for _, t := range f.comments[key] {
				c := t.c
				c.Thread = object.WallWallCommentThread{Count: len(t.replies), Items: t.replies[:min(10, len(t.replies))]}
				all = append(all, c)
			}
		}
		slices.Reverse(all) // sort=desc
		items := []any{}
		if off < len(all) {
			for _, c := range all[off:min(off+n, len(all))] {
				items = append(items, leanComment(c))
			}
		}
		return map[string]any{"count": len(all), "current_level_count": len(all), "items": items, "profiles": []any{}, "groups": []any{}}, 0
	case "newsfeed.search":
		start := num(p["start_time"])
		off := num(p["start_from"])
		var hits []object.WallWallpost
		for _, s := range f.search {
			if s.Date >= start {
				hits = append(hits, s)
			}
		}
		items := []object.WallWallpost{}
		next := ""
		n := 2 // small pages to exercise next_from
		if off < len(hits) {
			items = hits[off:min(off+n, len(hits))]
			if off+n < len(hits) {
				next = strconv.Itoa(off + n)
			}
		}
		return map[string]any{"items": items, "count": len(items), "total_count": len(hits), "next_from": next}, 0
	}
	return nil, 3
}

type fakeWallpost = object.WallWallpost

func fakePost(owner, id int, at time.Time) object.WallWallpost {
	return object.WallWallpost{ID: id, OwnerID: owner, FromID: owner, Date: int(at.Unix()), Text: "мусор", PostType: "post"}
}

// leanPost renders a post with the fields VK 5.131 actually sends for a plain text post
// (see testdata/wall_get.json), not every zero field of vksdk's struct.
func leanPost(p object.WallWallpost) map[string]any {
	m := map[string]any{
		"id": p.ID, "owner_id": p.OwnerID, "from_id": p.FromID, "date": p.Date, "post_type": "post",
		"text": p.Text, "marked_as_ads": 0, "is_favorite": false,
		"comments":    map[string]any{"can_post": 1, "count": p.Comments.Count, "groups_can_post": true},
		"likes":       map[string]any{"can_like": 1, "count": p.Likes.Count, "user_likes": 0, "can_publish": 1},
		"reposts":     map[string]any{"count": p.Reposts.Count, "user_reposted": 0},
		"views":       map[string]any{"count": p.Views.Count},
		"post_source": map[string]any{"type": "vk"}, "hash": "h",
	}
	if p.Edited != 0 {
		m["edited"] = p.Edited
	}
	return m
}

func leanComment(c object.WallWallComment) map[string]any {
	m := map[string]any{
		"id": c.ID, "from_id": c.FromID, "date": c.Date, "text": c.Text, "post_id": c.PostID,
		"owner_id": c.OwnerID, "parents_stack": c.ParentsStack,
		"likes": map[string]any{"can_like": 1, "count": c.Likes.Count, "user_likes": 0, "can_publish": 1},
	}
	if m["parents_stack"] == nil {
		m["parents_stack"] = []int{}
	}
	if c.ReplyToComment != 0 {
		m["reply_to_comment"] = c.ReplyToComment
		m["reply_to_user"] = c.FromID
	}
	if len(c.ParentsStack) == 0 {
		items := []any{}
		for _, r := range c.Thread.Items {
			items = append(items, leanComment(r))
		}
		m["thread"] = map[string]any{"count": c.Thread.Count, "items": items, "can_post": true, "show_reply_button": true, "groups_can_post": true}
	}
	return m
}
