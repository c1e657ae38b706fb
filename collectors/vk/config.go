// Package vk collects VKontakte publications: the walls of monitored communities and
// pages (wall.get) and the comments under their posts, threads included
// (wall.getComments), keyword search across VK (newsfeed.search), and the agencies' own
// communities pushed through the Callback API. Calls are batched with execute (up to 25
// API calls in one request) and paced by one token bucket per token (3 requests a second
// for a user or service token, 20 for a community token). Responses are decoded with the
// types of github.com/SevereCloud/vksdk/v2, which are written for API version 5.131: the
// collector pins that version (Config.APIVersion). See README.md for every field relied on.
package vk

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/otklik/otklik/collectors"
)

// Token kinds, which decide the request budget.
const (
	TokenUser      = "user"
	TokenService   = "service"
	TokenCommunity = "community"
)

// Config configures the VK collector. Tokens are filled by the daemon's config loader
// from OTKLIK_VK_TOKEN (or a file); they never appear in logs or config dumps.
type Config struct {
	// BaseURL is the API method endpoint, "https://api.vk.com/method/" by default.
	BaseURL string `yaml:"base_url" json:"base_url"`
	// APIVersion is the "v" parameter; 5.131 is the version vksdk v2.17.0's types decode.
	APIVersion string `yaml:"api_version" json:"api_version"`
	// Token is the user or service token used for wall.get, wall.getComments and
	// newsfeed.search (newsfeed.search needs a user token).
	Token collectors.Secret `yaml:"-" json:"token"`
	// TokenKind is user, service or community; it sets the default RequestsPerSecond.
	TokenKind string `yaml:"token_kind" json:"token_kind"`
	// RequestsPerSecond overrides the budget of Token (3 for user/service, 20 for community).
	RequestsPerSecond float64 `yaml:"requests_per_second" json:"requests_per_second"`

	// Walls lists the owner ids of monitored walls: negative for communities, positive
	// for users' pages.
	Walls []int `yaml:"walls" json:"walls"`
	// Searches lists newsfeed.search queries (keywords, "#hashtags", place names).
	Searches []string `yaml:"searches" json:"searches"`

	// WallInterval is how often each batch of walls is polled (1 min by default).
	WallInterval time.Duration `yaml:"wall_interval" json:"wall_interval"`
	// SearchInterval is how often each search is run (2 min by default).
	SearchInterval time.Duration `yaml:"search_interval" json:"search_interval"`
	// BatchSize is how many walls share one execute request (≤ 25, 25 by default).
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// PostsPerWall is wall.get's count: how many of the latest posts each poll reads
	// (≤ 100, 30 by default). Edits and deletions are seen among these.
	PostsPerWall int `yaml:"posts_per_wall" json:"posts_per_wall"`
	// Watch is how long after publication a post is re-checked for edits, deletions and
	// new comments (72 h by default).
	Watch time.Duration `yaml:"watch" json:"watch"`
	// Backfill is how far back the first poll of a source (no saved position) collects
	// (24 h by default).
	Backfill time.Duration `yaml:"backfill" json:"backfill"`
	// SearchOverlap re-reads this much before the newest search result seen, so that
	// results indexed late by VK are not missed (10 min by default).
	SearchOverlap time.Duration `yaml:"search_overlap" json:"search_overlap"`
	// MaxPages bounds the follow-up pages (offset) read for one wall or post in one poll
	// (10 by default).
	MaxPages int `yaml:"max_pages" json:"max_pages"`

	// FloodWait is the wait after error 9 (flood control), 1 min by default.
	FloodWait time.Duration `yaml:"flood_wait" json:"flood_wait"`
	// QuotaWait is the wait after error 29 (a method's quantitative limit), 1 h by default.
	QuotaWait time.Duration `yaml:"quota_wait" json:"quota_wait"`
	// CaptchaWait is the wait after error 14 (captcha needed), 15 min by default: the
	// daemon cannot solve captchas, it slows down until VK stops asking.
	CaptchaWait time.Duration `yaml:"captcha_wait" json:"captcha_wait"`

	// Callback configures the Callback API receiver for the agencies' own communities.
	Callback CallbackConfig `yaml:"callback" json:"callback"`
	// Streaming configures the Streaming API (off by default).
	Streaming StreamingConfig `yaml:"streaming" json:"streaming"`
}

// CallbackConfig configures the Callback API receiver (POST /callbacks/vk).
type CallbackConfig struct {
	// Confirmations maps a community id (positive) to the confirmation string VK shows in
	// the community's Callback API settings.
	Confirmations map[int]string `yaml:"confirmations" json:"confirmations"`
	// Secret is the "secret key" set in the Callback API settings; events without it are
	// rejected. Filled from OTKLIK_VK_CALLBACK_SECRET.
	Secret collectors.Secret `yaml:"-" json:"secret"`
}

// DefaultConfig returns the defaults (no walls, no searches: the collector is idle
// until configured).
func DefaultConfig() Config {
	return Config{
		BaseURL:        "https://api.vk.com/method/",
		APIVersion:     "5.131",
		TokenKind:      TokenService,
		WallInterval:   time.Minute,
		SearchInterval: 2 * time.Minute,
		BatchSize:      25,
		PostsPerWall:   30,
		Watch:          72 * time.Hour,
		Backfill:       24 * time.Hour,
		SearchOverlap:  10 * time.Minute,
		MaxPages:       10,
		FloodWait:      time.Minute,
		QuotaWait:      time.Hour,
		CaptchaWait:    15 * time.Minute,
	}
}

// SetDefaults fills zero fields with the defaults.
func (c *Config) SetDefaults() {
	d := DefaultConfig()
	set := func(dst *time.Duration, v time.Duration) {
		if *dst == 0 {
			*dst = v
		}
	}
	if c.BaseURL == "" {
		c.BaseURL = d.BaseURL
	}
	if c.APIVersion == "" {
		c.APIVersion = d.APIVersion
	}
	if c.TokenKind == "" {
		c.TokenKind = d.TokenKind
	}
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.PostsPerWall == 0 {
		c.PostsPerWall = d.PostsPerWall
	}
	if c.MaxPages == 0 {
		c.MaxPages = d.MaxPages
	}
	set(&c.WallInterval, d.WallInterval)
	set(&c.SearchInterval, d.SearchInterval)
	set(&c.Watch, d.Watch)
	set(&c.Backfill, d.Backfill)
	set(&c.SearchOverlap, d.SearchOverlap)
	set(&c.FloodWait, d.FloodWait)
	set(&c.QuotaWait, d.QuotaWait)
	set(&c.CaptchaWait, d.CaptchaWait)
	c.Streaming.setDefaults()
}

// rps is the request budget of Token.
func (c Config) rps() float64 {
	if c.RequestsPerSecond > 0 {
		return c.RequestsPerSecond
	}
	if c.TokenKind == TokenCommunity {
		return 20
	}
	return 3
}

// Validate reports what is wrong with c, all at once.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.HasSuffix(c.BaseURL, "/") {
		errs = append(errs, fmt.Errorf("vk: base_url %q must be an http(s) URL ending in /", c.BaseURL))
	}
	if c.APIVersion == "" {
		errs = append(errs, errors.New("vk: api_version is empty"))
	}
	switch c.TokenKind {
	case TokenUser, TokenService, TokenCommunity:
	default:
		errs = append(errs, fmt.Errorf("vk: token_kind %q is not user, service or community", c.TokenKind))
	}
	if (len(c.Walls) > 0 || len(c.Searches) > 0) && c.Token == "" {
		errs = append(errs, errors.New("vk: walls or searches are configured but the token is empty (set OTKLIK_VK_TOKEN)"))
	}
	if len(c.Searches) > 0 && c.TokenKind != TokenUser {
		errs = append(errs, errors.New("vk: newsfeed.search needs a user token (token_kind: user)"))
	}
	seen := map[int]bool{}
	for _, w := range c.Walls {
		if w == 0 {
			errs = append(errs, errors.New("vk: wall owner id 0"))
		}
		if seen[w] {
			errs = append(errs, fmt.Errorf("vk: wall %d listed twice", w))
		}
		seen[w] = true
	}
	for _, q := range c.Searches {
		if strings.TrimSpace(q) == "" {
			errs = append(errs, errors.New("vk: empty search query"))
		}
	}
	if c.BatchSize < 1 || c.BatchSize > 25 {
		errs = append(errs, fmt.Errorf("vk: batch_size %d not in 1..25 (execute runs at most 25 calls)", c.BatchSize))
	}
	if c.PostsPerWall < 1 || c.PostsPerWall > 100 {
		errs = append(errs, fmt.Errorf("vk: posts_per_wall %d not in 1..100", c.PostsPerWall))
	}
	if c.MaxPages < 1 {
		errs = append(errs, fmt.Errorf("vk: max_pages %d < 1", c.MaxPages))
	}
	for name, d := range map[string]time.Duration{"wall_interval": c.WallInterval, "search_interval": c.SearchInterval,
		"watch": c.Watch, "backfill": c.Backfill, "flood_wait": c.FloodWait, "quota_wait": c.QuotaWait, "captcha_wait": c.CaptchaWait} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("vk: %s must be positive", name))
		}
	}
	if err := c.Streaming.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.SearchOverlap < 0 {
		errs = append(errs, errors.New("vk: search_overlap is negative"))
	}
	return errors.Join(errs...)
}
