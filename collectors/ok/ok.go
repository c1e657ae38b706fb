// Package ok collects Odnoklassniki (OK.ru) publications: the feeds of monitored groups
// (mediatopic.getTopics), the comments under their topics (discussions.getComments,
// whose dates are Moscow local-time strings, not Unix time), authors' names
// (users.getInfo), and the application's remaining quota (users.getCallsLeft). Every call
// is signed: sig = md5(sorted "key=value" pairs + md5(access_token + application secret)).
// See README.md for every response field relied on.
package ok

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/otklik/otklik/collectors"
)

// Config configures the OK collector. Secrets are filled by the daemon's loader from
// OTKLIK_OK_TOKEN, OTKLIK_OK_APP_SECRET (or files) and are never logged.
type Config struct {
	// BaseURL is the REST endpoint, "https://api.ok.ru/fb.do" by default.
	BaseURL string `yaml:"base_url" json:"base_url"`
	// AppKey is the application's public key (application_key).
	AppKey string `yaml:"app_key" json:"app_key"`
	// AppSecret is the application's secret key.
	AppSecret collectors.Secret `yaml:"-" json:"app_secret"`
	// Token is the access token (an "eternal" token of the application's account).
	Token collectors.Secret `yaml:"-" json:"token"`
	// Groups lists the ids of monitored groups.
	Groups []string `yaml:"groups" json:"groups"`
	// Interval is how often each group is polled (2 min by default).
	Interval time.Duration `yaml:"interval" json:"interval"`
	// RequestsPerSecond paces all calls of the token (5 by default).
	RequestsPerSecond float64 `yaml:"requests_per_second" json:"requests_per_second"`
	// TopicsPerCall is mediatopic.getTopics' count (20 by default, ≤ 100).
	TopicsPerCall int `yaml:"topics_per_call" json:"topics_per_call"`
	// Watch is how long a topic is re-checked for edits, deletions and comments (72 h).
	Watch time.Duration `yaml:"watch" json:"watch"`
	// Backfill is how far back the first poll of a group collects (24 h).
	Backfill time.Duration `yaml:"backfill" json:"backfill"`
	// Timezone is the zone of discussions.getComments' date strings ("Europe/Moscow").
	Timezone string `yaml:"timezone" json:"timezone"`
	// QuotaCheck is how often users.getCallsLeft is asked (10 min by default).
	QuotaCheck time.Duration `yaml:"quota_check" json:"quota_check"`
	// MaxPages bounds the comment pages read per topic in one poll (10).
	MaxPages int `yaml:"max_pages" json:"max_pages"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{BaseURL: "https://api.ok.ru/fb.do", Interval: 2 * time.Minute, RequestsPerSecond: 5,
		TopicsPerCall: 20, Watch: 72 * time.Hour, Backfill: 24 * time.Hour, Timezone: "Europe/Moscow",
		QuotaCheck: 10 * time.Minute, MaxPages: 10}
}

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() {
	d := DefaultConfig()
	if c.BaseURL == "" {
		c.BaseURL = d.BaseURL
	}
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.RequestsPerSecond == 0 {
		c.RequestsPerSecond = d.RequestsPerSecond
	}
	if c.TopicsPerCall == 0 {
		c.TopicsPerCall = d.TopicsPerCall
	}
	if c.Watch == 0 {
		c.Watch = d.Watch
	}
	if c.Backfill == 0 {
		c.Backfill = d.Backfill
	}
	if c.Timezone == "" {
		c.Timezone = d.Timezone
	}
	if c.QuotaCheck == 0 {
		c.QuotaCheck = d.QuotaCheck
	}
	if c.MaxPages == 0 {
		c.MaxPages = d.MaxPages
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		errs = append(errs, fmt.Errorf("ok: base_url %q is not an http(s) URL", c.BaseURL))
	}
	if len(c.Groups) > 0 && (c.AppKey == "" || c.AppSecret == "" || c.Token == "") {
		errs = append(errs, errors.New("ok: groups are configured but app_key, the app secret (OTKLIK_OK_APP_SECRET) or the token (OTKLIK_OK_TOKEN) is empty"))
	}
	seen := map[string]bool{}
	for _, g := range c.Groups {
		if g == "" || strings.ContainsAny(g, " ,") {
			errs = append(errs, fmt.Errorf("ok: bad group id %q", g))
		}
		if seen[g] {
			errs = append(errs, fmt.Errorf("ok: group %s listed twice", g))
		}
		seen[g] = true
	}
	if c.TopicsPerCall < 1 || c.TopicsPerCall > 100 {
		errs = append(errs, fmt.Errorf("ok: topics_per_call %d not in 1..100", c.TopicsPerCall))
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("ok: timezone %q: %v", c.Timezone, err))
	}
	if c.Interval <= 0 || c.Watch <= 0 || c.Backfill <= 0 || c.QuotaCheck <= 0 || c.RequestsPerSecond < 0 || c.MaxPages < 1 {
		errs = append(errs, errors.New("ok: interval, watch, backfill, quota_check and max_pages must be positive"))
	}
	return errors.Join(errs...)
}

// OK is the Odnoklassniki collector.
type OK struct {
	cfg     Config
	loc     *time.Location
	client  *http.Client
	limiter *collectors.Limiter
	now     func() time.Time

	mu         sync.Mutex
	quotaAt    time.Time // last users.getCallsLeft
	quotaUntil time.Time // calls refused until then
	names      map[string]string
}

// Option customises New.
type Option func(*OK)

// WithHTTPClient sets the HTTP client.
func WithHTTPClient(c *http.Client) Option { return func(o *OK) { o.client = c } }

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(o *OK) { o.now = now } }

// New checks cfg (defaults applied) and returns the collector; it dials nothing.
func New(cfg Config, opts ...Option) (*OK, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	loc, _ := time.LoadLocation(cfg.Timezone)
	o := &OK{cfg: cfg, loc: loc, client: &http.Client{Timeout: 30 * time.Second}, now: time.Now, names: map[string]string{}}
	for _, opt := range opts {
		opt(o)
	}
	o.limiter = collectors.NewLimiterClock(cfg.RequestsPerSecond, 1, o.now)
	return o, nil
}

// sign computes OK's request signature.
func sign(params url.Values, token, appSecret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k == "access_token" || k == "session_key" || k == "sig" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params.Get(k))
	}
	secret := md5.Sum([]byte(token + appSecret))
	b.WriteString(hex.EncodeToString(secret[:]))
	sum := md5.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// okError is OK's error object.
type okError struct {
	Code int    `json:"error_code"`
	Msg  string `json:"error_msg"`
}

// Error describes the OK error.
func (e *okError) Error() string { return fmt.Sprintf("ok error %d: %s", e.Code, e.Msg) }

// call makes one signed request; out receives the response body.
func (o *OK) call(ctx context.Context, method string, params url.Values, out any) error {
	if err := o.limiter.Wait(ctx); err != nil {
		return err
	}
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	p.Set("application_key", o.cfg.AppKey)
	p.Set("method", method)
	p.Set("format", "json")
	p.Set("sig", sign(p, o.cfg.Token.Reveal(), o.cfg.AppSecret.Reveal()))
	p.Set("access_token", o.cfg.Token.Reveal())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.cfg.BaseURL, strings.NewReader(p.Encode()))
	if err != nil {
		return fmt.Errorf("ok %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := o.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("ok %s: %w", method, err)
	}
	body, err := collectors.ReadBody(resp)
	if err != nil {
		return fmt.Errorf("ok %s: %w", method, err)
	}
	if err := parseError(body); err != nil {
		return fmt.Errorf("ok %s: %w", method, o.mapError(err))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("ok %s: %w: %v", method, collectors.ErrMalformed, err)
	}
	return nil
}

// parseError returns OK's error object when body is one.
func parseError(body []byte) *okError {
	var e okError
	if json.Unmarshal(body, &e) == nil && e.Code != 0 {
		return &e
	}
	return nil
}

// mapError maps OK's error codes to the poller's error types.
func (o *OK) mapError(e *okError) error {
	switch e.Code {
	case 101, 102, 103, 104: // PARAM_API_KEY, PARAM_SESSION_EXPIRED, PARAM_SESSION_KEY, PARAM_SIGNATURE
		return &collectors.AuthError{Err: e}
	case 8: // FLOOD_BLOCKED
		return &collectors.RateLimitError{RetryAfter: time.Minute, Err: e}
	case 11: // LIMIT_REACHED: the method's quota
		o.mu.Lock()
		o.quotaAt = time.Time{} // ask users.getCallsLeft when to retry
		o.mu.Unlock()
		return &collectors.RateLimitError{RetryAfter: time.Hour, Err: e, Reason: collectors.ReasonQuota}
	case 1, 2, 9999: // UNKNOWN, SERVICE, SYSTEM
		return fmt.Errorf("%w: %v", collectors.ErrUnavailable, e)
	}
	return e
}

// callsLeft is one entry of users.getCallsLeft.
type callsLeft struct {
	Method      string `json:"method"`
	Available   bool   `json:"available"`
	CallsLeft   int64  `json:"calls_left"`
	TimeToReset int64  `json:"time_to_reset"` // milliseconds
}

var polledMethods = []string{"mediatopic.getTopics", "discussions.getComments", "users.getInfo"}

// checkQuota asks users.getCallsLeft at most every QuotaCheck and refuses calls while a
// polled method has none left.
func (o *OK) checkQuota(ctx context.Context) error {
	now := o.now()
	o.mu.Lock()
	until, due := o.quotaUntil, now.Sub(o.quotaAt) >= o.cfg.QuotaCheck || o.quotaAt.IsZero()
	o.mu.Unlock()
	if now.Before(until) {
		return &collectors.RateLimitError{RetryAfter: until.Sub(now), Reason: collectors.ReasonQuota,
			Err: errors.New("ok: quota spent")}
	}
	if !due {
		return nil
	}
	var left []callsLeft
	if err := o.call(ctx, "users.getCallsLeft", url.Values{"methods": {strings.Join(polledMethods, ",")}}, &left); err != nil {
		return err
	}
	var wait time.Duration
	for _, l := range left {
		if !l.Available || l.CallsLeft <= 0 {
			wait = max(wait, time.Duration(l.TimeToReset)*time.Millisecond, time.Minute)
		}
	}
	o.mu.Lock()
	o.quotaAt = now
	o.quotaUntil = now.Add(wait)
	o.mu.Unlock()
	if wait > 0 {
		return &collectors.RateLimitError{RetryAfter: wait, Reason: collectors.ReasonQuota, Err: errors.New("ok: quota spent")}
	}
	return nil
}
