package vk

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/SevereCloud/vksdk/v2/api"
	"github.com/otklik/otklik/collectors"
)

// VK is the VK collector. It is safe for concurrent use by the poller's goroutines.
type VK struct {
	cfg     Config
	client  *http.Client
	limiter Limiter
	now     func() time.Time
	// tlsConfig is used by the Streaming API's websocket (nil: system roots).
	tlsConfig *tls.Config
}

// Limiter paces the calls made with one token; *collectors.Limiter is the one the daemon
// uses (simulations pass one driven by a virtual clock).
type Limiter interface {
	Wait(ctx context.Context) error
	Pause(d time.Duration)
}

// Option customises New.
type Option func(*VK)

// WithHTTPClient sets the HTTP client (default: one with a 30 s timeout).
func WithHTTPClient(c *http.Client) Option { return func(v *VK) { v.client = c } }

// WithClock sets the clock that stamps FetchedAt and drives watch windows.
func WithClock(now func() time.Time) Option { return func(v *VK) { v.now = now } }

// WithLimiter shares a token's limiter between collectors that use the same token.
func WithLimiter(l Limiter) Option { return func(v *VK) { v.limiter = l } }

// New checks cfg (after SetDefaults is applied to a copy) and returns the collector. It
// dials nothing.
func New(cfg Config, opts ...Option) (*VK, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &VK{cfg: cfg, client: &http.Client{Timeout: 30 * time.Second}, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	if v.limiter == nil {
		v.limiter = collectors.NewLimiter(cfg.rps(), 1)
	}
	return v, nil
}

// call makes one API request and returns the decoded envelope. API errors are mapped by
// callError; the execute_errors of a batch are returned in the envelope for the caller.
func (v *VK) call(ctx context.Context, method string, params url.Values) (api.Response, error) {
	if err := v.limiter.Wait(ctx); err != nil {
		return api.Response{}, err
	}
	form := url.Values{}
	for k, vs := range params {
		form[k] = vs
	}
	form.Set("v", v.cfg.APIVersion)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.cfg.BaseURL+method, strings.NewReader(form.Encode()))
	if err != nil {
		return api.Response{}, fmt.Errorf("vk %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+v.cfg.Token.Reveal())
	resp, err := v.client.Do(req)
	if err != nil {
		return api.Response{}, fmt.Errorf("vk %s: %w", method, redactURLError(err))
	}
	body, err := collectors.ReadBody(resp)
	if err != nil {
		return api.Response{}, fmt.Errorf("vk %s: %w", method, err)
	}
	r, err := parseResponse(body)
	if err != nil {
		return api.Response{}, fmt.Errorf("vk %s: %w", method, err)
	}
	if r.Error.Code != 0 {
		return r, fmt.Errorf("vk %s: %w", method, v.callError(&r.Error))
	}
	return r, nil
}

// redactURLError drops the URL (which never carries the token here, but may carry
// queries) from transport errors, keeping the cause.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseResponse decodes VK's envelope {"response": …} or {"error": …}.
func parseResponse(body []byte) (api.Response, error) {
	var r api.Response
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("%w: %v", collectors.ErrMalformed, err)
	}
	if r.Error.Code == 0 && len(r.Response) == 0 {
		return r, fmt.Errorf("%w: neither response nor error", collectors.ErrMalformed)
	}
	return r, nil
}

// callError maps a VK API error of a whole request to the poller's error types.
func (v *VK) callError(e *api.Error) error {
	code := int(e.Code)
	switch code {
	case 5: // User authorization failed: the token is invalid or expired.
		return &collectors.AuthError{Err: e}
	case 6: // Too many requests per second: everyone sharing the token waits a second.
		v.limiter.Pause(time.Second)
		return &collectors.RateLimitError{RetryAfter: time.Second, Err: e}
	case 9: // Flood control: too many similar actions.
		v.limiter.Pause(v.cfg.FloodWait)
		return &collectors.RateLimitError{RetryAfter: v.cfg.FloodWait, Err: e}
	case 29: // Rate limit reached: the method's daily quantity limit for this token.
		return &collectors.RateLimitError{RetryAfter: v.cfg.QuotaWait, Err: e, Reason: collectors.ReasonQuota}
	case 14: // Captcha needed: cannot be solved unattended; slow the whole token down.
		v.limiter.Pause(v.cfg.CaptchaWait)
		return &collectors.RateLimitError{RetryAfter: v.cfg.CaptchaWait, Err: e, Reason: collectors.ReasonCaptcha}
	case 10: // Internal server error.
		return fmt.Errorf("%w: %v", collectors.ErrUnavailable, e)
	}
	return &apiError{code: code, msg: e.Message}
}

// apiError is any other VK error (15 access denied, 18 deleted, 30 private, 100 bad
// parameter …): it concerns one wall or post, not the token.
type apiError struct {
	code int
	msg  string
}

// Error describes the VK error.
func (e *apiError) Error() string { return fmt.Sprintf("vk error %d: %s", e.code, e.msg) }

// itemError maps the error of one call inside execute: token-wide conditions fail the
// whole fetch, the others concern only that item.
func (v *VK) itemError(ee api.ExecuteError) (err error, fatal bool) {
	err = v.callError(&api.Error{Code: api.ErrorType(ee.Code), Message: ee.Msg})
	var ae *apiError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %w", ee.Method, err), false
	}
	return fmt.Errorf("%s: %w", ee.Method, err), true
}
