package ok

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
)

// KindFeed is the source kind of a group feed (metric label).
const KindFeed = "feed"

// commentDate is the layout of discussions.getComments' dates (local time, see Timezone).
const commentDate = "2006-01-02 15:04:05"

// topicsResponse is mediatopic.getTopics.
type topicsResponse struct {
	MediaTopics []mediaTopic `json:"media_topics"`
	Entities    struct {
		Users  []entity `json:"users"`
		Groups []entity `json:"groups"`
	} `json:"entities"`
	Anchor  string `json:"anchor"`
	HasMore bool   `json:"has_more"`
}

type mediaTopic struct {
	ID                string  `json:"id"`
	CreatedMs         int64   `json:"created_ms"`
	AuthorRef         string  `json:"author_ref"`
	OwnerRef          string  `json:"owner_ref"`
	Media             []media `json:"media"`
	DiscussionSummary struct {
		CommentsCount int `json:"comments_count"`
	} `json:"discussion_summary"`
	LikeSummary struct {
		Count int64 `json:"count"`
	} `json:"like_summary"`
	ReshareSummary struct {
		Count int64 `json:"count"`
	} `json:"reshare_summary"`
}

type media struct {
	Type      string   `json:"type"`
	Text      string   `json:"text"`
	URL       string   `json:"url"`
	Title     string   `json:"title"`
	PhotoRefs []string `json:"photo_refs"`
	MovieRefs []string `json:"movie_refs"`
}

type entity struct {
	UID          string `json:"uid"`
	Ref          string `json:"ref"`
	Name         string `json:"name"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	MembersCount int64  `json:"members_count"`
}

// commentsResponse is discussions.getComments.
type commentsResponse struct {
	Comments []comment `json:"comments"`
	Anchor   string    `json:"anchor"`
	HasMore  bool      `json:"has_more"`
}

type comment struct {
	ID               string `json:"id"`
	AuthorID         string `json:"author_id"`
	AuthorName       string `json:"author_name"`
	Date             string `json:"date"`
	Text             string `json:"text"`
	LikeCount        int64  `json:"like_count"`
	ReplyToCommentID string `json:"reply_to_comment_id"`
	Type             string `json:"type"`
}

// userInfo is one element of users.getInfo.
type userInfo struct {
	UID       string `json:"uid"`
	Name      string `json:"name"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

func parseTopics(b []byte) (topicsResponse, error) {
	var r topicsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%w: mediatopic.getTopics: %v", collectors.ErrMalformed, err)
	}
	return r, nil
}

func parseComments(b []byte) (commentsResponse, error) {
	var r commentsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%w: discussions.getComments: %v", collectors.ErrMalformed, err)
	}
	return r, nil
}

// parseDate reads a comment date in loc; OK sends local time without a zone.
func parseDate(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(commentDate, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: comment date %q: %v", collectors.ErrMalformed, s, err)
	}
	return t.UTC(), nil
}

// refID splits "user:123" into its kind and id.
func refID(ref string) (kind, id string) {
	kind, id, ok := strings.Cut(ref, ":")
	if !ok {
		return "", ref
	}
	return kind, id
}

func topicText(t mediaTopic) string {
	var parts []string
	for _, m := range t.Media {
		if m.Type == "text" && m.Text != "" {
			parts = append(parts, m.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func topicURL(group, topic string) string { return "https://ok.ru/group/" + group + "/topic/" + topic }

// topicPublication converts a media topic; names maps "user:1"/"group:2" refs to names.
func topicPublication(t mediaTopic, group string, r *topicsResponse, source string, fetched time.Time) otklik.Publication {
	_, authorID := refID(t.AuthorRef)
	author := otklik.Author{ID: authorID}
	refs := func(prefix string, es []entity) []entity {
		out := slices.Clone(es)
		for i := range out {
			if out[i].Ref == "" {
				out[i].Ref = prefix + out[i].UID
			}
		}
		return out
	}
	for _, e := range append(refs("user:", r.Entities.Users), refs("group:", r.Entities.Groups)...) {
		if e.Ref == t.AuthorRef {
			author.Name = e.Name
			if author.Name == "" {
				author.Name = strings.TrimSpace(e.FirstName + " " + e.LastName)
			}
			author.Followers = e.MembersCount
		}
	}
	var atts []otklik.Attachment
	for _, m := range t.Media {
		switch m.Type {
		case "text":
		case "link":
			atts = append(atts, otklik.Attachment{Type: "link", URL: m.URL, Title: m.Title})
		default:
			atts = append(atts, otklik.Attachment{Type: m.Type})
		}
	}
	pub := otklik.Publication{
		Network: otklik.OK, Owner: group, PostID: t.ID, Kind: otklik.Post, URL: topicURL(group, t.ID),
		Source: source, Author: author, Text: topicText(t), Attachments: atts,
		Engagement: otklik.Engagement{Likes: t.LikeSummary.Count, Comments: int64(t.DiscussionSummary.CommentsCount),
			Reposts: t.ReshareSummary.Count},
		PublishedAt: time.UnixMilli(t.CreatedMs).UTC(), FetchedAt: fetched,
	}
	pub.ID = otklik.DocID(otklik.OK, group, t.ID, "")
	return pub
}

func textHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// groupCursor is the persisted position of one group.
type groupCursor struct {
	MaxCreated int64                  `json:"max_created"` // ms; 0 before the first poll
	Topics     map[string]*topicState `json:"topics,omitempty"`
	Pending    []commentJob           `json:"pending,omitempty"`
}

type topicState struct {
	Created  int64    `json:"created"`
	Hash     uint64   `json:"hash"`
	Comments int      `json:"comments"`
	LastMs   int64    `json:"last_ms,omitempty"`  // date of the newest comment collected
	LastIDs  []string `json:"last_ids,omitempty"` // ids collected at LastMs (dates have 1 s resolution)
}

type commentJob struct {
	Topic   string   `json:"topic"`
	Anchor  string   `json:"anchor,omitempty"`
	SinceMs int64    `json:"since_ms"`
	SeenIDs []string `json:"seen_ids,omitempty"`
	Count   int      `json:"count"`
	Page    int      `json:"page,omitempty"`
}

// Targets returns one target per group.
func (o *OK) Targets() []collectors.Target {
	var ts []collectors.Target
	for _, g := range o.cfg.Groups {
		key := "ok:group:" + g
		ts = append(ts, collectors.Target{
			Source: collectors.Source{Network: otklik.OK, Kind: KindFeed, Key: key, Interval: o.cfg.Interval},
			Fetch:  o.groupFetch(key, g),
		})
	}
	return ts
}

func (o *OK) groupFetch(key, group string) collectors.FetchFunc {
	return func(ctx context.Context, cursor string) (collectors.Page, error) {
		var page collectors.Page
		cur := collectors.DecodeCursor[groupCursor](cursor, "ok", &page)
		if cur.Topics == nil {
			cur.Topics = map[string]*topicState{}
		}
		if err := o.checkQuota(ctx); err != nil {
			return collectors.Page{}, err
		}
		now := o.now()
		var err error
		if len(cur.Pending) > 0 {
			j := cur.Pending[0]
			cur.Pending = cur.Pending[1:]
			err = o.comments(ctx, &cur, j, group, key, now, &page)
		} else {
			err = o.topics(ctx, &cur, group, key, now, &page)
		}
		if err != nil {
			return collectors.Page{}, err
		}
		if err := o.fillNames(ctx, page.Publications); err != nil {
			page.Partial = append(page.Partial, err) // names are nice to have: deliver anyway
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return collectors.Page{}, fmt.Errorf("ok position: %w", err)
		}
		page.Cursor = string(b)
		page.More = len(cur.Pending) > 0
		return page, nil
	}
}

// topics reads the group feed's latest topics.
func (o *OK) topics(ctx context.Context, cur *groupCursor, group, key string, now time.Time, page *collectors.Page) error {
	var raw json.RawMessage
	err := o.call(ctx, "mediatopic.getTopics", url.Values{
		"gid": {group}, "count": {strconv.Itoa(o.cfg.TopicsPerCall)},
		"fields": {"media_topic.*,user.NAME,user.FIRST_NAME,user.LAST_NAME,group.NAME,group.MEMBERS_COUNT"},
	}, &raw)
	if err != nil {
		return err
	}
	r, err := parseTopics(raw)
	if err != nil {
		return err
	}
	first := cur.MaxCreated == 0
	watchFrom := now.Add(-o.cfg.Watch).UnixMilli()
	backfillFrom := now.Add(-o.cfg.Backfill).UnixMilli()
	seen := map[string]bool{}
	oldest := int64(0)
	maxCreated := cur.MaxCreated
	for _, t := range r.MediaTopics {
		seen[t.ID] = true
		if oldest == 0 || t.CreatedMs < oldest {
			oldest = t.CreatedMs
		}
		maxCreated = max(maxCreated, t.CreatedMs)
		ts := cur.Topics[t.ID]
		h := textHash(topicText(t))
		n := t.DiscussionSummary.CommentsCount
		switch {
		case ts == nil && (!first && t.CreatedMs > cur.MaxCreated || first && t.CreatedMs >= backfillFrom):
			page.Publications = append(page.Publications, topicPublication(t, group, &r, key, now))
			if t.CreatedMs >= watchFrom {
				cur.Topics[t.ID] = &topicState{Created: t.CreatedMs, Hash: h}
				if n > 0 {
					cur.Pending = append(cur.Pending, commentJob{Topic: t.ID, Count: n})
				}
			}
		case ts != nil:
			if h != ts.Hash {
				pub := topicPublication(t, group, &r, key, now)
				pub.EditedAt = now // OK does not say when; the edit was seen now
				page.Publications = append(page.Publications, pub)
				ts.Hash = h
			}
			if n > ts.Comments {
				cur.Pending = append(cur.Pending, commentJob{Topic: t.ID, SinceMs: ts.LastMs, SeenIDs: ts.LastIDs, Count: n})
			} else if n < ts.Comments {
				ts.Comments = n
			}
		}
	}
	full := len(r.MediaTopics) >= o.cfg.TopicsPerCall
	if !first {
		for id, ts := range cur.Topics {
			if !seen[id] && (!full || ts.Created >= oldest) {
				page.Publications = append(page.Publications, deletedTopic(group, id, ts.Created, key, now))
				delete(cur.Topics, id)
			}
		}
	}
	for id, ts := range cur.Topics {
		if ts.Created < watchFrom {
			delete(cur.Topics, id)
		}
	}
	cur.MaxCreated = max(maxCreated, 1)
	return nil
}

func deletedTopic(group, id string, created int64, key string, now time.Time) otklik.Publication {
	return otklik.Publication{
		ID: otklik.DocID(otklik.OK, group, id, ""), Network: otklik.OK, Owner: group, PostID: id,
		Kind: otklik.Post, URL: topicURL(group, id), Source: key, PublishedAt: time.UnixMilli(created).UTC(),
		FetchedAt: now, Deleted: true,
	}
}

// comments reads one page of a topic's comments, newest first, and emits those after the
// job's position.
func (o *OK) comments(ctx context.Context, cur *groupCursor, j commentJob, group, key string, now time.Time, page *collectors.Page) error {
	params := url.Values{"discussionId": {j.Topic}, "discussionType": {"GROUP_TOPIC"}, "count": {"100"}, "direction": {"BACKWARD"}}
	if j.Anchor != "" {
		params.Set("anchor", j.Anchor)
	}
	var raw json.RawMessage
	err := o.call(ctx, "discussions.getComments", params, &raw)
	var oe *okError
	if errors.As(err, &oe) && oe.Code == 300 { // NOT_FOUND: the topic was deleted
		if ts := cur.Topics[j.Topic]; ts != nil {
			page.Publications = append(page.Publications, deletedTopic(group, j.Topic, ts.Created, key, now))
			delete(cur.Topics, j.Topic)
		}
		return nil
	}
	if err != nil {
		return err
	}
	r, err := parseComments(raw)
	if err != nil {
		return err
	}
	ts := cur.Topics[j.Topic]
	allNew := len(r.Comments) > 0
	for _, c := range r.Comments {
		d, err := parseDate(c.Date, o.loc)
		if err != nil {
			page.Partial = append(page.Partial, err)
			continue
		}
		ms := d.UnixMilli()
		if ms < j.SinceMs || ms == j.SinceMs && slices.Contains(j.SeenIDs, c.ID) {
			allNew = false
			continue
		}
		pub := otklik.Publication{
			Network: otklik.OK, Owner: group, PostID: c.ID, ParentID: j.Topic, ReplyTo: c.ReplyToCommentID,
			Kind: otklik.Comment, URL: topicURL(group, j.Topic), Source: key,
			Author: otklik.Author{ID: c.AuthorID, Name: c.AuthorName}, Text: c.Text,
			Engagement: otklik.Engagement{Likes: c.LikeCount}, PublishedAt: d, FetchedAt: now,
			Deleted: c.Type == "DELETED",
		}
		pub.ID = otklik.DocID(otklik.OK, group, j.Topic, c.ID)
		page.Publications = append(page.Publications, pub)
		if ts != nil {
			switch {
			case ms > ts.LastMs:
				ts.LastMs, ts.LastIDs = ms, []string{c.ID}
			case ms == ts.LastMs && !slices.Contains(ts.LastIDs, c.ID):
				ts.LastIDs = append(ts.LastIDs, c.ID)
			}
		}
	}
	if r.HasMore && allNew && r.Anchor != "" && j.Page+1 < o.cfg.MaxPages {
		j.Anchor, j.Page = r.Anchor, j.Page+1
		cur.Pending = append([]commentJob{j}, cur.Pending...)
	} else if ts != nil {
		ts.Comments = max(ts.Comments, j.Count)
	}
	return nil
}

// fillNames resolves comment authors' names with users.getInfo (cached).
func (o *OK) fillNames(ctx context.Context, pubs []otklik.Publication) error {
	var missing []string
	o.mu.Lock()
	for _, p := range pubs {
		if p.Author.Name == "" && p.Author.ID != "" && o.names[p.Author.ID] == "" && !slices.Contains(missing, p.Author.ID) {
			missing = append(missing, p.Author.ID)
		}
	}
	o.mu.Unlock()
	for len(missing) > 0 {
		n := min(len(missing), 100)
		var users []userInfo
		err := o.call(ctx, "users.getInfo", url.Values{"uids": {strings.Join(missing[:n], ",")},
			"fields": {"uid,name,first_name,last_name"}}, &users)
		if err != nil {
			return fmt.Errorf("ok users.getInfo: %w", err)
		}
		o.mu.Lock()
		if len(o.names) > 100_000 {
			clear(o.names)
		}
		for _, u := range users {
			name := u.Name
			if name == "" {
				name = strings.TrimSpace(u.FirstName + " " + u.LastName)
			}
			o.names[u.UID] = name
		}
		o.mu.Unlock()
		missing = missing[n:]
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range pubs {
		if pubs[i].Author.Name == "" {
			pubs[i].Author.Name = o.names[pubs[i].Author.ID]
		}
	}
	return nil
}
