// Package facebook collects publications from Facebook pages through the Graph API: the
// page feed (GET /{page-id}/feed) and the comments under its posts, replies included
// (GET /{post-id}/comments?filter=stream), plus the page webhook (field "feed") verified
// with X-Hub-Signature-256. Facebook is blocked in Russia since 2022 yet named by the
// regulation: the collector is disabled by default and works when configured. See
// README.md for the Graph API version and every field relied on.
package facebook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
	"github.com/otklik/otklik/collectors/graph"
	"github.com/prometheus/client_golang/prometheus"
)

// Source kinds (metric labels).
const (
	KindFeed    = "feed"
	KindWebhook = "webhook"
)

// Config configures the Facebook collector. Secrets come from OTKLIK_FACEBOOK_TOKEN,
// OTKLIK_FACEBOOK_APP_SECRET and OTKLIK_FACEBOOK_VERIFY_TOKEN (or files).
type Config struct {
	graph.AppConfig `yaml:",inline"`

	// Pages lists the ids of monitored pages.
	Pages []string `yaml:"pages" json:"pages"`
}

// DefaultConfig returns the defaults (disabled).
func DefaultConfig() Config { return Config{AppConfig: graph.DefaultAppConfig()} }

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() { c.AppConfig.SetDefaults() }

// Validate reports every problem at once; a disabled config is always valid.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	errs := c.Problems("facebook")
	if len(c.Pages) > 0 && c.Token == "" {
		errs = append(errs, errors.New("facebook: pages are configured but the token is empty (OTKLIK_FACEBOOK_TOKEN)"))
	}
	if len(c.Pages) == 0 && c.AppSecret == "" {
		errs = append(errs, errors.New("facebook: enabled with neither pages to poll nor a webhook app secret"))
	}
	for _, p := range c.Pages {
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			errs = append(errs, fmt.Errorf("facebook: page id %q is not numeric", p))
		}
	}
	return errors.Join(errs...)
}

// Facebook is the collector.
type Facebook struct {
	cfg    Config
	client *graph.Client
	now    func() time.Time
}

// Option customises New.
type Option func(*Facebook)

// WithHTTPClient sets the HTTP client.
func WithHTTPClient(c *http.Client) Option { return func(f *Facebook) { f.client.HTTP = c } }

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(f *Facebook) { f.now = now } }

// New checks cfg (defaults applied); it dials nothing.
func New(cfg Config, opts ...Option) (*Facebook, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &Facebook{cfg: cfg, now: time.Now, client: cfg.Client()}
	for _, o := range opts {
		o(f)
	}
	return f, nil
}

// Targets returns one target per page; none when disabled.
func (f *Facebook) Targets() []collectors.Target {
	if !f.cfg.Enabled {
		return nil
	}
	var ts []collectors.Target
	for _, p := range f.cfg.Pages {
		key := "facebook:page:" + p
		ts = append(ts, collectors.Target{
			Source: collectors.Source{Network: otklik.Facebook, Kind: KindFeed, Key: key, Interval: f.cfg.Interval},
			Fetch:  f.pageFetch(key, p),
		})
	}
	return ts
}

// Graph response shapes.
type from struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type post struct {
	ID           string `json:"id"`
	Message      string `json:"message"`
	CreatedTime  string `json:"created_time"`
	UpdatedTime  string `json:"updated_time"`
	PermalinkURL string `json:"permalink_url"`
	From         *from  `json:"from"`
	Attachments  struct {
		Data []attachment `json:"data"`
	} `json:"attachments"`
	Comments struct {
		Summary struct {
			TotalCount int `json:"total_count"`
		} `json:"summary"`
	} `json:"comments"`
	Reactions struct {
		Summary struct {
			TotalCount int64 `json:"total_count"`
		} `json:"summary"`
	} `json:"reactions"`
	Shares struct {
		Count int64 `json:"count"`
	} `json:"shares"`
}

type attachment struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Title string `json:"title"`
}

type feedResponse struct {
	Data   []post       `json:"data"`
	Paging graph.Paging `json:"paging"`
}

type fbComment struct {
	ID           string `json:"id"`
	Message      string `json:"message"`
	CreatedTime  string `json:"created_time"`
	PermalinkURL string `json:"permalink_url"`
	From         *from  `json:"from"`
	Parent       *struct {
		ID string `json:"id"`
	} `json:"parent"`
	LikeCount    int64       `json:"like_count"`
	CommentCount int64       `json:"comment_count"`
	Attachment   *attachment `json:"attachment"`
}

type commentsResponse struct {
	Data   []fbComment  `json:"data"`
	Paging graph.Paging `json:"paging"`
}

const feedFields = "id,message,created_time,updated_time,permalink_url,from{id,name},attachments{type,url,title}," +
	"comments.summary(true).limit(0),reactions.summary(true).limit(0),shares"
const commentFields = "id,message,created_time,permalink_url,from{id,name},parent{id},like_count,comment_count,attachment{type,url,title}"

func postPublication(page string, p post, source string, fetched time.Time) (otklik.Publication, error) {
	created, err := graph.ParseTime(p.CreatedTime)
	if err != nil {
		return otklik.Publication{}, err
	}
	pub := otklik.Publication{
		Network: otklik.Facebook, Owner: page, PostID: p.ID, Kind: otklik.Post, URL: p.PermalinkURL, Source: source,
		Text: p.Message, PublishedAt: created, FetchedAt: fetched,
		Engagement: otklik.Engagement{Likes: p.Reactions.Summary.TotalCount, Comments: int64(p.Comments.Summary.TotalCount), Reposts: p.Shares.Count},
	}
	if p.From != nil {
		pub.Author = otklik.Author{ID: p.From.ID, Name: p.From.Name}
	}
	for _, a := range p.Attachments.Data {
		pub.Attachments = append(pub.Attachments, otklik.Attachment{Type: a.Type, URL: a.URL, Title: a.Title})
	}
	pub.ID = otklik.DocID(otklik.Facebook, page, p.ID, "")
	return pub, nil
}

func commentPublication(page, postID string, c fbComment, source string, fetched time.Time) (otklik.Publication, error) {
	created, err := graph.ParseTime(c.CreatedTime)
	if err != nil {
		return otklik.Publication{}, err
	}
	pub := otklik.Publication{
		Network: otklik.Facebook, Owner: page, PostID: c.ID, ParentID: postID, Kind: otklik.Comment,
		URL: c.PermalinkURL, Source: source, Text: c.Message, PublishedAt: created, FetchedAt: fetched,
		Engagement: otklik.Engagement{Likes: c.LikeCount, Comments: c.CommentCount},
	}
	if c.From != nil { // Graph omits from for users who did not authorise the app
		pub.Author = otklik.Author{ID: c.From.ID, Name: c.From.Name}
	}
	if c.Parent != nil && c.Parent.ID != postID {
		pub.ReplyTo = c.Parent.ID
	}
	if c.Attachment != nil {
		pub.Attachments = []otklik.Attachment{{Type: c.Attachment.Type, URL: c.Attachment.URL, Title: c.Attachment.Title}}
	}
	pub.ID = otklik.DocID(otklik.Facebook, page, postID, c.ID)
	return pub, nil
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// pageCursor is the persisted position of one page.
type pageCursor struct {
	Started bool                  `json:"started"`
	After   string                `json:"after,omitempty"` // feed paging within a round
	Seen    map[string]bool       `json:"seen,omitempty"`  // posts seen in the round in progress
	Posts   map[string]*postState `json:"posts,omitempty"`
	Pending []commentJob          `json:"pending,omitempty"`
}

type postState struct {
	Created  int64    `json:"created"`
	Hash     uint64   `json:"hash"`
	Comments int      `json:"comments"`
	Last     int64    `json:"last,omitempty"`     // newest comment time collected (Unix)
	LastIDs  []string `json:"last_ids,omitempty"` // comment ids at Last
}

type commentJob struct {
	Post    string   `json:"post"`
	After   string   `json:"after,omitempty"`
	Since   int64    `json:"since"`
	SeenIDs []string `json:"seen_ids,omitempty"`
	Count   int      `json:"count"`
}

func (f *Facebook) pageFetch(key, page string) collectors.FetchFunc {
	return func(ctx context.Context, cursor string) (collectors.Page, error) {
		var out collectors.Page
		cur := collectors.DecodeCursor[pageCursor](cursor, "facebook", &out)
		if cur.Posts == nil {
			cur.Posts = map[string]*postState{}
		}
		now := f.now()
		var err error
		if len(cur.Pending) > 0 && cur.After == "" {
			j := cur.Pending[0]
			cur.Pending = cur.Pending[1:]
			err = f.comments(ctx, &cur, j, page, key, now, &out)
		} else {
			err = f.feed(ctx, &cur, page, key, now, &out)
		}
		if err != nil {
			return collectors.Page{}, err
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return collectors.Page{}, fmt.Errorf("facebook position: %w", err)
		}
		out.Cursor = string(b)
		out.More = len(cur.Pending) > 0 || cur.After != ""
		return out, nil
	}
}

// feed reads one page of the feed since the watch window's start.
func (f *Facebook) feed(ctx context.Context, cur *pageCursor, page, key string, now time.Time, out *collectors.Page) error {
	watchFrom := now.Add(-f.cfg.Watch).Unix()
	params := url.Values{"fields": {feedFields}, "limit": {"100"}, "since": {strconv.FormatInt(watchFrom, 10)}}
	if cur.After != "" {
		params.Set("after", cur.After)
	}
	var r feedResponse
	if err := f.client.Get(ctx, page+"/feed", params, &r); err != nil {
		return err
	}
	if cur.Seen == nil {
		cur.Seen = map[string]bool{}
	}
	backfillFrom := now.Add(-f.cfg.Backfill).Unix()
	for _, p := range r.Data {
		pub, err := postPublication(page, p, key, now)
		if err != nil {
			out.Partial = append(out.Partial, err)
			continue
		}
		cur.Seen[p.ID] = true
		st := cur.Posts[p.ID]
		h, n := hash(p.Message), p.Comments.Summary.TotalCount
		switch {
		case st == nil && (cur.Started || pub.PublishedAt.Unix() >= backfillFrom):
			out.Publications = append(out.Publications, pub)
			cur.Posts[p.ID] = &postState{Created: pub.PublishedAt.Unix(), Hash: h}
			if n > 0 {
				cur.Pending = append(cur.Pending, commentJob{Post: p.ID, Count: n})
			}
		case st != nil:
			if h != st.Hash {
				pub.EditedAt, _ = graph.ParseTime(p.UpdatedTime)
				out.Publications = append(out.Publications, pub)
				st.Hash = h
			}
			if n > st.Comments {
				cur.Pending = append(cur.Pending, commentJob{Post: p.ID, Since: st.Last, SeenIDs: st.LastIDs, Count: n})
			} else if n < st.Comments {
				st.Comments = n
			}
		}
	}
	if after := graph.AfterCursor(r.Paging); after != "" && len(r.Data) > 0 {
		cur.After = after
		return nil
	}
	// The round read the whole window: watched posts it did not return were deleted.
	if cur.Started {
		for id, st := range cur.Posts {
			if !cur.Seen[id] && st.Created >= watchFrom {
				out.Publications = append(out.Publications, otklik.Publication{
					ID: otklik.DocID(otklik.Facebook, page, id, ""), Network: otklik.Facebook, Owner: page, PostID: id,
					Kind: otklik.Post, Source: key, PublishedAt: time.Unix(st.Created, 0).UTC(), FetchedAt: now, Deleted: true,
				})
				delete(cur.Posts, id)
			}
		}
	}
	for id, st := range cur.Posts {
		if st.Created < watchFrom {
			delete(cur.Posts, id)
		}
	}
	cur.After, cur.Seen, cur.Started = "", nil, true
	return nil
}

// comments reads one page of a post's comments (replies included), oldest first.
func (f *Facebook) comments(ctx context.Context, cur *pageCursor, j commentJob, page, key string, now time.Time, out *collectors.Page) error {
	params := url.Values{"fields": {commentFields}, "filter": {"stream"}, "order": {"chronological"}, "limit": {"100"}}
	if j.Since > 0 {
		params.Set("since", strconv.FormatInt(j.Since, 10))
	}
	if j.After != "" {
		params.Set("after", j.After)
	}
	var r commentsResponse
	err := f.client.Get(ctx, j.Post+"/comments", params, &r)
	var ge *graph.Error
	if errors.As(err, &ge) && ge.Code == 100 && ge.Subcode == 33 { // the post no longer exists
		delete(cur.Posts, j.Post)
		return nil
	}
	if err != nil {
		return err
	}
	st := cur.Posts[j.Post]
	for _, c := range r.Data {
		pub, err := commentPublication(page, j.Post, c, key, now)
		if err != nil {
			out.Partial = append(out.Partial, err)
			continue
		}
		ts := pub.PublishedAt.Unix()
		if ts < j.Since || ts == j.Since && slices.Contains(j.SeenIDs, c.ID) {
			continue
		}
		out.Publications = append(out.Publications, pub)
		if st != nil {
			switch {
			case ts > st.Last:
				st.Last, st.LastIDs = ts, []string{c.ID}
			case ts == st.Last:
				st.LastIDs = append(st.LastIDs, c.ID)
			}
		}
	}
	if after := graph.AfterCursor(r.Paging); after != "" && len(r.Data) > 0 {
		j.After = after
		cur.Pending = append([]commentJob{j}, cur.Pending...)
	} else if st != nil {
		st.Comments = max(st.Comments, j.Count)
	}
	return nil
}

// webhookChange is the value of a change to the feed field of a page webhook delivery.
type webhookChange struct {
	Item        string `json:"item"`
	Verb        string `json:"verb"`
	PostID      string `json:"post_id"`
	CommentID   string `json:"comment_id"`
	ParentID    string `json:"parent_id"`
	Message     string `json:"message"`
	From        *from  `json:"from"`
	CreatedTime int64  `json:"created_time"`
}

// parseWebhook turns a page webhook delivery into publications: new, edited and removed
// posts and comments of the feed field (reactions and likes are ignored).
func parseWebhook(body []byte, fetched time.Time) ([]otklik.Publication, error) {
	b, err := graph.ParseDelivery[webhookChange](body, "facebook", "page")
	if err != nil {
		return nil, err
	}
	var pubs []otklik.Publication
	for _, e := range b.Entry {
		for _, ch := range e.Changes {
			v := ch.Value
			if ch.Field != "feed" || v.PostID == "" {
				continue
			}
			pub := otklik.Publication{Network: otklik.Facebook, Owner: e.ID, Source: "facebook:webhook:" + e.ID,
				Text: v.Message, FetchedAt: fetched, PublishedAt: time.Unix(v.CreatedTime, 0).UTC(), Deleted: v.Verb == "remove"}
			if v.From != nil {
				pub.Author = otklik.Author{ID: v.From.ID, Name: v.From.Name}
			}
			if v.Verb == "edited" {
				pub.EditedAt = fetched
			}
			switch v.Item {
			case "comment":
				pub.Kind, pub.PostID, pub.ParentID = otklik.Comment, v.CommentID, v.PostID
				if v.ParentID != "" && v.ParentID != v.PostID {
					pub.ReplyTo = v.ParentID
				}
			case "post", "status", "photo", "video", "share", "link":
				pub.Kind, pub.PostID = otklik.Post, v.PostID
			default:
				continue
			}
			if v.CreatedTime == 0 {
				pub.PublishedAt = time.Unix(e.Time, 0).UTC()
			}
			pubs = append(pubs, pub)
		}
	}
	return pubs, nil
}

// WebhookHandler returns the handler the daemon mounts at /webhooks/facebook; it
// delivers to sink and counts in the collector metrics on reg.
func (f *Facebook) WebhookHandler(sink collectors.Sink, reg prometheus.Registerer, logger *slog.Logger) (http.Handler, error) {
	if !f.cfg.Enabled || f.cfg.AppSecret == "" {
		return nil, errors.New("facebook: webhook not configured (enabled, app secret and verify token)")
	}
	push, err := collectors.NewPush(otklik.Facebook, KindWebhook, sink, reg)
	if err != nil {
		return nil, err
	}
	return &graph.Webhook{VerifyToken: f.cfg.VerifyToken, AppSecret: f.cfg.AppSecret, Parse: parseWebhook,
		Push: push, Logger: logger, Now: f.now}, nil
}
