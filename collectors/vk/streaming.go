package vk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/SevereCloud/vksdk/v2/api"
	"github.com/SevereCloud/vksdk/v2/streaming"
	"github.com/gorilla/websocket"
	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
	"github.com/prometheus/client_golang/prometheus"
)

// StreamingConfig configures the Streaming API (keyword rules over all public VK posts
// and comments; 1 % of matches unless VK granted the extended stream). It complements
// wall polling and newsfeed.search, which remain the lossless paths: events published
// while the stream is down are not replayed by VK.
type StreamingConfig struct {
	// Enabled starts the stream (off by default).
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Token is a service token of the application (OTKLIK_VK_SERVICE_TOKEN).
	Token collectors.Secret `yaml:"-" json:"token"`
	// Rules replace the stream's rules at every (re)connection.
	Rules []StreamingRule `yaml:"rules" json:"rules"`
	// BackoffMin and BackoffMax bound the wait before reconnecting (5 s, 5 min).
	BackoffMin time.Duration `yaml:"backoff_min" json:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max" json:"backoff_max"`
}

// StreamingRule is one rule: a tag and keywords in the Streaming API syntax.
type StreamingRule struct {
	// Tag names the rule; events carry the tags they matched.
	Tag string `yaml:"tag" json:"tag"`
	// Value holds the keywords ("-word" excludes, "\"exact\"" matches exactly).
	Value string `yaml:"value" json:"value"`
}

func (c *StreamingConfig) setDefaults() {
	if c.BackoffMin == 0 {
		c.BackoffMin = 5 * time.Second
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 5 * time.Minute
	}
}

func (c StreamingConfig) validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if c.Token == "" {
		errs = append(errs, errors.New("vk: streaming enabled without a service token (OTKLIK_VK_SERVICE_TOKEN)"))
	}
	if len(c.Rules) == 0 || len(c.Rules) > 300 {
		errs = append(errs, fmt.Errorf("vk: streaming needs 1..300 rules, got %d", len(c.Rules)))
	}
	tags := map[string]bool{}
	for _, r := range c.Rules {
		if r.Tag == "" || tags[r.Tag] || strings.TrimSpace(r.Value) == "" || len(r.Value) > 4096 {
			errs = append(errs, fmt.Errorf("vk: bad or repeated streaming rule %q", r.Tag))
		}
		tags[r.Tag] = true
	}
	if c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin {
		errs = append(errs, errors.New("vk: streaming needs 0 < backoff_min ≤ backoff_max"))
	}
	return errors.Join(errs...)
}

// streamEventPublication converts a Streaming API event (post, comment, share; topic
// posts are ignored).
func streamEventPublication(e streaming.Event, fetched time.Time) (otklik.Publication, bool) {
	id := e.EventID
	owner := strconv.Itoa(id.PostOwnerID)
	pub := otklik.Publication{
		Network: otklik.VK, Owner: owner, URL: e.EventURL, Source: "vk:streaming",
		Author: otklik.Author{ID: strconv.Itoa(e.Author.ID)}, Text: e.Text,
		Attachments: postAttachments(e.Attachments), PublishedAt: unix(e.CreationTime), FetchedAt: fetched,
		Deleted: e.Action == streaming.Delete,
	}
	if e.Action == streaming.Update {
		pub.EditedAt = unix(e.ActionTime)
	}
	switch e.EventType {
	case streaming.Post:
		pub.Kind, pub.PostID = otklik.Post, strconv.Itoa(id.PostID)
	case streaming.Share:
		pub.Kind, pub.PostID = otklik.Post, strconv.Itoa(id.PostID)
		pub.Text = strings.TrimSpace(pub.Text + "\n\n" + e.SharedPostText)
	case streaming.Comment:
		pub.Kind, pub.PostID, pub.ParentID = otklik.Comment, strconv.Itoa(id.CommentID), strconv.Itoa(id.PostID)
	default:
		return otklik.Publication{}, false
	}
	if id.PostOwnerID == 0 || pub.PostID == "0" {
		return otklik.Publication{}, false
	}
	return pub, true
}

// Stream runs the Streaming API until ctx is done: it asks streaming.getServerUrl for
// the endpoint, replaces the rules with the configured ones, reads events and delivers
// them (retrying a failed delivery, which holds the stream, until it succeeds), and
// reconnects with exponential back-off whenever anything fails — vksdk's Run returns on
// the first error and does not reconnect itself. It returns nil when ctx is done.
func (v *VK) Stream(ctx context.Context, sink collectors.Sink, reg prometheus.Registerer, logger *slog.Logger) error {
	sc := v.cfg.Streaming
	if !sc.Enabled {
		return errors.New("vk: streaming not enabled")
	}
	push, err := collectors.NewPush(otklik.VK, KindStreaming, sink, reg)
	if err != nil {
		return err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	failures := 0
	for ctx.Err() == nil {
		started := time.Now()
		err := v.streamOnce(ctx, push)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > time.Minute {
			failures = 0 // a connection that lived is not a failure streak
		}
		failures++
		reason := collectors.Reason(err)
		var se *streaming.Error
		if errors.As(err, &se) {
			reason = collectors.ReasonAPI
		}
		push.Fail(reason)
		if failures == 1 {
			logger.Warn("vk streaming disconnected; reconnecting", "reason", reason, "error", err.Error())
		}
		wait := sc.BackoffMin
		for i := 1; i < failures && wait < sc.BackoffMax; i++ {
			wait *= 2
		}
		if !collectors.Sleep(ctx, min(wait, sc.BackoffMax)) {
			return nil
		}
	}
	return nil
}

// streamOnce makes one connection and reads it until it breaks or ctx is done.
func (v *VK) streamOnce(ctx context.Context, push *collectors.Push) error {
	sc := v.cfg.Streaming
	a := api.NewVK(sc.Token.Reveal())
	a.MethodURL = v.cfg.BaseURL
	a.Version = v.cfg.APIVersion
	a.Client = v.client
	a.Limit = 0 // paced by our limiter below
	if err := v.limiter.Wait(ctx); err != nil {
		return err
	}
	s, err := streaming.NewStreaming(a)
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return fmt.Errorf("vk streaming.getServerUrl: %w", v.callError(ae))
		}
		return fmt.Errorf("vk streaming.getServerUrl: %w", err)
	}
	// The websocket's TCP connection is kept so that ctx can close it: vksdk's Run blocks
	// in ReadMessage and its Shutdown only takes effect at the next message.
	var mu sync.Mutex
	var conns []net.Conn
	d := &net.Dialer{Timeout: 30 * time.Second}
	s.Client = v.client
	s.Dialer = &websocket.Dialer{
		HandshakeTimeout: 30 * time.Second,
		TLSClientConfig:  v.tlsConfig,
		NetDialContext: func(dctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(dctx, network, addr)
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
			return c, err
		},
	}
	rules := make([]streaming.Rule, len(sc.Rules))
	for i, r := range sc.Rules {
		rules[i] = streaming.Rule{Tag: r.Tag, Value: r.Value}
	}
	if err := s.UpdateRules(rules); err != nil {
		return fmt.Errorf("vk streaming rules: %w", err)
	}
	s.OnEvent(func(e streaming.Event) {
		pub, ok := streamEventPublication(e, v.now())
		if !ok {
			return
		}
		wait := sc.BackoffMin
		for push.Deliver(ctx, []otklik.Publication{pub}) != nil {
			if !collectors.Sleep(ctx, wait) {
				return
			}
			wait = min(wait*2, sc.BackoffMax)
		}
	})
	stop := context.AfterFunc(ctx, func() {
		s.Shutdown()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	defer stop()
	if err := s.Run(); err != nil {
		return fmt.Errorf("vk streaming: %w", err)
	}
	return errors.New("vk streaming: connection closed")
}

// streamingEvent is vksdk's event type (named here for tests and parsers).
type streamingEvent = streaming.Event
