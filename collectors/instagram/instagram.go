// Package instagram collects Instagram publications through the Instagram Graph API (a
// professional account connected to a Facebook page): comments and replies under the
// account's media (GET /{ig-user-id}/media, GET /{media-id}/comments), media the account
// is tagged or mentioned in (GET /{ig-user-id}/tags), hashtag recent media
// (GET /ig_hashtag_search, GET /{hashtag-id}/recent_media; at most 30 unique hashtags per
// 7 days, so the list is capped at 30 and each hashtag id is looked up once and kept in
// the position), and the comments/mentions webhook. Instagram is blocked in Russia since
// 2022: the collector is disabled by default and works when configured.
package instagram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
	"github.com/otklik/otklik/collectors/graph"
	"github.com/prometheus/client_golang/prometheus"
)

// Source kinds (metric labels).
const (
	KindMedia    = "media"
	KindMentions = "mentions"
	KindHashtag  = "hashtag"
	KindWebhook  = "webhook"
)

// MaxHashtags is Instagram's limit of unique hashtags searched per account in 7 days.
const MaxHashtags = 30

// Config configures the collector. Secrets come from OTKLIK_INSTAGRAM_TOKEN,
// OTKLIK_INSTAGRAM_APP_SECRET and OTKLIK_INSTAGRAM_VERIFY_TOKEN (or files).
type Config struct {
	graph.AppConfig `yaml:",inline"`

	// UserID is the Instagram professional account id (ig-user-id).
	UserID string `yaml:"user_id" json:"user_id"`
	// Hashtags lists hashtags (without #) whose recent media are collected; ≤ 30.
	Hashtags []string `yaml:"hashtags" json:"hashtags"`
}

// DefaultConfig returns the defaults (disabled).
func DefaultConfig() Config { return Config{AppConfig: graph.DefaultAppConfig()} }

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() { c.AppConfig.SetDefaults() }

// Validate reports every problem; a disabled config is valid.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	errs := c.Problems("instagram")
	if c.UserID == "" || c.Token == "" {
		errs = append(errs, errors.New("instagram: enabled without user_id or token (OTKLIK_INSTAGRAM_TOKEN)"))
	}
	if len(c.Hashtags) > MaxHashtags {
		errs = append(errs, fmt.Errorf("instagram: %d hashtags, Instagram allows %d unique hashtags per 7 days", len(c.Hashtags), MaxHashtags))
	}
	seen := map[string]bool{}
	for _, h := range c.Hashtags {
		k := strings.ToLower(strings.TrimPrefix(h, "#"))
		if k == "" || strings.ContainsAny(k, " #,") || seen[k] {
			errs = append(errs, fmt.Errorf("instagram: bad or repeated hashtag %q", h))
		}
		seen[k] = true
	}
	return errors.Join(errs...)
}

// Instagram is the collector.
type Instagram struct {
	cfg    Config
	client *graph.Client
	now    func() time.Time
}

// Option customises New.
type Option func(*Instagram)

// WithHTTPClient sets the HTTP client.
func WithHTTPClient(c *http.Client) Option { return func(i *Instagram) { i.client.HTTP = c } }

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(i *Instagram) { i.now = now } }

// New checks cfg (defaults applied); it dials nothing.
func New(cfg Config, opts ...Option) (*Instagram, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	in := &Instagram{cfg: cfg, now: time.Now, client: cfg.Client()}
	for _, o := range opts {
		o(in)
	}
	return in, nil
}

// Targets returns the account's media (with comments), its mentions and one target per
// hashtag; none when disabled.
func (in *Instagram) Targets() []collectors.Target {
	if !in.cfg.Enabled {
		return nil
	}
	uid := in.cfg.UserID
	src := func(kind, key string) collectors.Source {
		return collectors.Source{Network: otklik.Instagram, Kind: kind, Key: key, Interval: in.cfg.Interval}
	}
	ts := []collectors.Target{
		{Source: src(KindMedia, "instagram:media:"+uid), Fetch: in.mediaFetch("instagram:media:"+uid, uid+"/media", true)},
		{Source: src(KindMentions, "instagram:tags:"+uid), Fetch: in.mediaFetch("instagram:tags:"+uid, uid+"/tags", false)},
	}
	for _, h := range in.cfg.Hashtags {
		tag := strings.ToLower(strings.TrimPrefix(h, "#"))
		key := "instagram:hashtag:" + tag
		ts = append(ts, collectors.Target{Source: src(KindHashtag, key), Fetch: in.hashtagFetch(key, tag)})
	}
	return ts
}

// Graph shapes.
type media struct {
	ID            string `json:"id"`
	Caption       string `json:"caption"`
	Timestamp     string `json:"timestamp"`
	Permalink     string `json:"permalink"`
	MediaType     string `json:"media_type"`
	MediaURL      string `json:"media_url"`
	Username      string `json:"username"`
	CommentsCount int    `json:"comments_count"`
	LikeCount     int64  `json:"like_count"`
	Owner         *struct {
		ID string `json:"id"`
	} `json:"owner"`
}

type mediaList struct {
	Data   []media      `json:"data"`
	Paging graph.Paging `json:"paging"`
}

type igComment struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	Timestamp string `json:"timestamp"`
	Username  string `json:"username"`
	LikeCount int64  `json:"like_count"`
	From      *struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"from"`
	Replies *struct {
		Data []igComment `json:"data"`
	} `json:"replies"`
}

type commentList struct {
	Data   []igComment  `json:"data"`
	Paging graph.Paging `json:"paging"`
}

const mediaFields = "id,caption,timestamp,permalink,media_type,media_url,username,comments_count,like_count"
const commentFields = "id,text,timestamp,username,like_count,from{id,username},replies{id,text,timestamp,username,like_count,from{id,username}}"

func mediaPublication(owner string, m media, source string, fetched time.Time) (otklik.Publication, error) {
	ts, err := graph.ParseTime(m.Timestamp)
	if err != nil {
		return otklik.Publication{}, err
	}
	pub := otklik.Publication{
		Network: otklik.Instagram, Owner: owner, PostID: m.ID, Kind: otklik.Post, URL: m.Permalink, Source: source,
		Author: otklik.Author{ID: m.Username, Name: m.Username}, Text: m.Caption, PublishedAt: ts, FetchedAt: fetched,
		Engagement: otklik.Engagement{Likes: m.LikeCount, Comments: int64(m.CommentsCount)},
	}
	if m.MediaType != "" {
		pub.Attachments = []otklik.Attachment{{Type: strings.ToLower(m.MediaType), URL: m.MediaURL}}
	}
	pub.ID = otklik.DocID(otklik.Instagram, owner, m.ID, "")
	return pub, nil
}

func commentPublication(owner, mediaID, permalink string, c igComment, replyTo, source string, fetched time.Time) (otklik.Publication, error) {
	ts, err := graph.ParseTime(c.Timestamp)
	if err != nil {
		return otklik.Publication{}, err
	}
	pub := otklik.Publication{
		Network: otklik.Instagram, Owner: owner, PostID: c.ID, ParentID: mediaID, ReplyTo: replyTo, Kind: otklik.Comment,
		URL: permalink, Source: source, Author: otklik.Author{ID: c.Username, Name: c.Username}, Text: c.Text,
		Engagement: otklik.Engagement{Likes: c.LikeCount}, PublishedAt: ts, FetchedAt: fetched,
	}
	if c.From != nil && c.From.ID != "" {
		pub.Author.ID = c.From.ID
	}
	pub.ID = otklik.DocID(otklik.Instagram, owner, mediaID, c.ID)
	return pub, nil
}

// mediaCursor is the position of a media or tags source.
type mediaCursor struct {
	Started bool                   `json:"started"`
	Media   map[string]*mediaState `json:"media,omitempty"`
	Pending []string               `json:"pending,omitempty"` // media whose comments are to be read
}

type mediaState struct {
	Posted   int64           `json:"posted"`
	Comments int             `json:"comments"`
	Seen     map[string]bool `json:"seen,omitempty"` // comment and reply ids collected
}

// mediaFetch polls the account's media (own=true: comments are collected too) or the
// media it is tagged in.
func (in *Instagram) mediaFetch(key, path string, own bool) collectors.FetchFunc {
	owner := in.cfg.UserID
	return func(ctx context.Context, cursor string) (collectors.Page, error) {
		var out collectors.Page
		cur := collectors.DecodeCursor[mediaCursor](cursor, "instagram", &out)
		if cur.Media == nil {
			cur.Media = map[string]*mediaState{}
		}
		now := in.now()
		if len(cur.Pending) > 0 {
			id := cur.Pending[0]
			cur.Pending = cur.Pending[1:]
			if err := in.comments(ctx, &cur, owner, id, key, now, &out); err != nil {
				return collectors.Page{}, err
			}
		} else {
			var r mediaList
			if err := in.client.Get(ctx, path, url.Values{"fields": {mediaFields}, "limit": {"50"}}, &r); err != nil {
				return collectors.Page{}, err
			}
			watchFrom, backfillFrom := now.Add(-in.cfg.Watch).Unix(), now.Add(-in.cfg.Backfill).Unix()
			for _, m := range r.Data {
				pub, err := mediaPublication(owner, m, key, now)
				if err != nil {
					out.Partial = append(out.Partial, err)
					continue
				}
				st := cur.Media[m.ID]
				posted := pub.PublishedAt.Unix()
				if st == nil && (cur.Started || posted >= backfillFrom) && posted >= watchFrom {
					// Own media are emitted too: residents' comments hang under them, and the
					// agencies' tracker counts them (point 4 of the regulation).
					out.Publications = append(out.Publications, pub)
					st = &mediaState{Posted: posted}
					cur.Media[m.ID] = st
				}
				if st != nil && own && m.CommentsCount > st.Comments {
					cur.Pending = append(cur.Pending, m.ID+"|"+m.Permalink)
					st.Comments = m.CommentsCount
				}
			}
			for id, st := range cur.Media {
				if st.Posted < watchFrom {
					delete(cur.Media, id)
				}
			}
			cur.Started = true
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return collectors.Page{}, err
		}
		out.Cursor = string(b)
		out.More = len(cur.Pending) > 0
		return out, nil
	}
}

// comments reads a media's comments and their replies and emits the unseen ones.
func (in *Instagram) comments(ctx context.Context, cur *mediaCursor, owner, job, key string, now time.Time, out *collectors.Page) error {
	id, permalink, _ := strings.Cut(job, "|")
	st := cur.Media[id]
	if st == nil {
		return nil
	}
	if st.Seen == nil {
		st.Seen = map[string]bool{}
	}
	params := url.Values{"fields": {commentFields}, "limit": {"50"}}
	for page := 0; page < 20; page++ {
		var r commentList
		if err := in.client.Get(ctx, id+"/comments", params, &r); err != nil {
			return err
		}
		emit := func(c igComment, replyTo string) {
			if st.Seen[c.ID] {
				return
			}
			pub, err := commentPublication(owner, id, permalink, c, replyTo, key, now)
			if err != nil {
				out.Partial = append(out.Partial, err)
				return
			}
			out.Publications = append(out.Publications, pub)
			st.Seen[c.ID] = true
		}
		for _, c := range r.Data {
			emit(c, "")
			if c.Replies != nil {
				for _, rep := range c.Replies.Data {
					emit(rep, c.ID)
				}
			}
		}
		after := graph.AfterCursor(r.Paging)
		if after == "" || len(r.Data) == 0 {
			break
		}
		params.Set("after", after)
	}
	return nil
}

// hashtagCursor is the position of one hashtag.
type hashtagCursor struct {
	HashtagID string           `json:"hashtag_id"`
	Seen      map[string]int64 `json:"seen,omitempty"` // media id → timestamp (recent_media covers 24 h)
}

func (in *Instagram) hashtagFetch(key, tag string) collectors.FetchFunc {
	uid := in.cfg.UserID
	return func(ctx context.Context, cursor string) (collectors.Page, error) {
		var out collectors.Page
		cur := collectors.DecodeCursor[hashtagCursor](cursor, "instagram", &out)
		if cur.Seen == nil {
			cur.Seen = map[string]int64{}
		}
		if cur.HashtagID == "" {
			// Each lookup counts against the 30-hashtags-per-7-days limit: done once and kept.
			var r struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if err := in.client.Get(ctx, "ig_hashtag_search", url.Values{"user_id": {uid}, "q": {tag}}, &r); err != nil {
				return collectors.Page{}, err
			}
			if len(r.Data) == 0 {
				return collectors.Page{}, fmt.Errorf("instagram: hashtag %q not found", tag)
			}
			cur.HashtagID = r.Data[0].ID
		}
		now := in.now()
		var r mediaList
		if err := in.client.Get(ctx, cur.HashtagID+"/recent_media", url.Values{"user_id": {uid}, "fields": {mediaFields}, "limit": {"50"}}, &r); err != nil {
			return collectors.Page{}, err
		}
		for _, m := range r.Data {
			if _, ok := cur.Seen[m.ID]; ok {
				continue
			}
			owner := ""
			if m.Owner != nil {
				owner = m.Owner.ID
			}
			pub, err := mediaPublication(owner, m, key, now)
			if err != nil {
				out.Partial = append(out.Partial, err)
				continue
			}
			out.Publications = append(out.Publications, pub)
			cur.Seen[m.ID] = pub.PublishedAt.Unix()
		}
		for id, ts := range cur.Seen {
			if ts < now.Add(-48*time.Hour).Unix() {
				delete(cur.Seen, id)
			}
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return collectors.Page{}, err
		}
		out.Cursor = string(b)
		return out, nil
	}
}

// commentValue is the value of a change to the comments (or live_comments) field of an
// Instagram webhook delivery; values of other fields are not decoded.
type commentValue struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	From struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	} `json:"from"`
	Media struct {
		ID string `json:"id"`
	} `json:"media"`
	ParentID string `json:"parent_id"`
}

// parseWebhook turns comment notifications into publications. Mention notifications carry
// only ids; the mentions source (GET /{ig-user-id}/tags) collects those media.
func parseWebhook(body []byte, fetched time.Time) ([]otklik.Publication, error) {
	b, err := graph.ParseDelivery[json.RawMessage](body, "instagram", "instagram")
	if err != nil {
		return nil, err
	}
	var pubs []otklik.Publication
	for _, e := range b.Entry {
		for _, ch := range e.Changes {
			if ch.Field != "comments" && ch.Field != "live_comments" {
				continue
			}
			var v commentValue
			if err := json.Unmarshal(ch.Value, &v); err != nil {
				return nil, fmt.Errorf("%w: instagram webhook comment: %v", collectors.ErrMalformed, err)
			}
			if v.ID == "" || v.Media.ID == "" {
				continue
			}
			pub := otklik.Publication{
				Network: otklik.Instagram, Owner: e.ID, PostID: v.ID, ParentID: v.Media.ID, ReplyTo: v.ParentID,
				Kind: otklik.Comment, Source: "instagram:webhook:" + e.ID, Text: v.Text,
				Author:      otklik.Author{ID: v.From.ID, Name: v.From.Username},
				PublishedAt: time.Unix(e.Time, 0).UTC(), FetchedAt: fetched,
			}
			pub.ID = otklik.DocID(otklik.Instagram, e.ID, v.Media.ID, v.ID)
			pubs = append(pubs, pub)
		}
	}
	return pubs, nil
}

// WebhookHandler returns the handler the daemon mounts at /webhooks/instagram.
func (in *Instagram) WebhookHandler(sink collectors.Sink, reg prometheus.Registerer, logger *slog.Logger) (http.Handler, error) {
	if !in.cfg.Enabled || in.cfg.AppSecret == "" {
		return nil, errors.New("instagram: webhook not configured (enabled, app secret and verify token)")
	}
	push, err := collectors.NewPush(otklik.Instagram, KindWebhook, sink, reg)
	if err != nil {
		return nil, err
	}
	return &graph.Webhook{VerifyToken: in.cfg.VerifyToken, AppSecret: in.cfg.AppSecret, Parse: parseWebhook,
		Push: push, Logger: logger, Now: in.now}, nil
}
