package graph

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/otklik/otklik/collectors"
)

// AppConfig is the configuration the facebook and instagram collectors share: the Graph
// API endpoint, the tokens of one Meta app and the polling budget. Both collectors' Configs
// embed it with `yaml:",inline"`, so its keys stand directly under facebook: and
// instagram: (and its environment variables are OTKLIK_FACEBOOK_ENABLED, …). Secrets come
// from OTKLIK_<NETWORK>_TOKEN, _APP_SECRET and _VERIFY_TOKEN (or files).
type AppConfig struct {
	// Enabled switches the collector on (off by default: Meta is blocked in Russia).
	Enabled bool `yaml:"enabled" json:"enabled"`
	// BaseURL is the Graph host ("https://graph.facebook.com/").
	BaseURL string `yaml:"base_url" json:"base_url"`
	// Version is the Graph API version ("v21.0").
	Version string `yaml:"version" json:"version"`
	// Token is the access token: for Facebook a page access token (or a system-user token
	// with pages_read_engagement), for Instagram one with instagram_basic,
	// instagram_manage_comments and pages_read_engagement.
	Token collectors.Secret `yaml:"-" json:"token"`
	// AppSecret signs webhook deliveries (X-Hub-Signature-256).
	AppSecret collectors.Secret `yaml:"-" json:"app_secret"`
	// VerifyToken is the token typed in the webhook subscription.
	VerifyToken collectors.Secret `yaml:"-" json:"verify_token"`
	// Interval is how often each source is polled (5 min by default).
	Interval time.Duration `yaml:"interval" json:"interval"`
	// RequestsPerSecond paces the token (0.5 by default: 1,800 calls an hour).
	RequestsPerSecond float64 `yaml:"requests_per_second" json:"requests_per_second"`
	// Watch is how long posts and media are re-checked for edits, deletions and new
	// comments (72 h).
	Watch time.Duration `yaml:"watch" json:"watch"`
	// Backfill is how far back the first poll collects (24 h).
	Backfill time.Duration `yaml:"backfill" json:"backfill"`
}

// DefaultAppConfig returns the defaults (disabled).
func DefaultAppConfig() AppConfig {
	return AppConfig{BaseURL: DefaultBaseURL, Version: DefaultVersion, Interval: 5 * time.Minute,
		RequestsPerSecond: 0.5, Watch: 72 * time.Hour, Backfill: 24 * time.Hour}
}

// SetDefaults fills zero fields.
func (c *AppConfig) SetDefaults() {
	d := DefaultAppConfig()
	if c.BaseURL == "" {
		c.BaseURL = d.BaseURL
	}
	if c.Version == "" {
		c.Version = d.Version
	}
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.RequestsPerSecond == 0 {
		c.RequestsPerSecond = d.RequestsPerSecond
	}
	if c.Watch == 0 {
		c.Watch = d.Watch
	}
	if c.Backfill == 0 {
		c.Backfill = d.Backfill
	}
}

// Problems lists what is wrong with the shared settings of an enabled collector, each
// error prefixed with network ("facebook: …"); the collectors' Validate add their own
// and join them.
func (c AppConfig) Problems(network string) []error {
	var errs []error
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.HasSuffix(c.BaseURL, "/") {
		errs = append(errs, fmt.Errorf("%s: base_url %q must be an http(s) URL ending in /", network, c.BaseURL))
	}
	if (c.AppSecret == "") != (c.VerifyToken == "") {
		errs = append(errs, fmt.Errorf("%s: the webhook needs both the app secret and the verify token", network))
	}
	if c.Interval <= 0 || c.Watch <= 0 || c.Backfill <= 0 || c.RequestsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("%s: interval, watch and backfill must be positive", network))
	}
	return errs
}

// Client returns a client for the configured host, version and token, paced at
// RequestsPerSecond.
func (c AppConfig) Client() *Client {
	return NewClient(c.BaseURL, c.Version, c.Token, c.RequestsPerSecond)
}
