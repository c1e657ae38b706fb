package collectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// RateLimitError is returned by a fetch function when the network said "too many
// requests" (or a quota is exhausted). The poller waits at least RetryAfter (or its
// back-off, whichever is longer) before fetching that source again.
type RateLimitError struct {
	// RetryAfter is how long the network asked to wait; zero when it did not say.
	RetryAfter time.Duration
	// Err is the network's error.
	Err error
	// Reason refines the metric reason: ReasonQuota (a daily or hourly quota is spent) or
	// ReasonCaptcha (VK asks for a captcha); empty means ReasonRateLimit.
	Reason string
}

// Error describes the rate limit.
func (e *RateLimitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("rate limited (retry after %s)", e.RetryAfter)
	}
	return fmt.Sprintf("rate limited (retry after %s): %v", e.RetryAfter, e.Err)
}

// Unwrap returns the network's error.
func (e *RateLimitError) Unwrap() error { return e.Err }

// AuthError is returned by a fetch function when the token is invalid, expired or lacks
// the rights the source needs. Retrying cannot help: the poller stops polling the source,
// counts it in otklik_collector_sources_disabled and logs once.
type AuthError struct {
	// Err is the network's error.
	Err error
}

// Error describes the rejection.
func (e *AuthError) Error() string { return fmt.Sprintf("authorization failed: %v", e.Err) }

// Unwrap returns the network's error.
func (e *AuthError) Unwrap() error { return e.Err }

// ErrMalformed is wrapped by fetch errors caused by a response that could not be parsed
// (broken JSON, an HTML error page, an unexpected shape).
var ErrMalformed = errors.New("malformed response")

// ErrUnavailable is wrapped by fetch errors caused by the network's server side: HTTP 5xx,
// VK error 10, Graph API transient errors.
var ErrUnavailable = errors.New("service unavailable")

// Error reasons: the fixed set of values of the reason label of
// otklik_collector_errors_total.
const (
	ReasonRateLimit   = "rate_limit"
	ReasonAuth        = "auth"
	ReasonTimeout     = "timeout"
	ReasonMalformed   = "malformed"
	ReasonUnavailable = "unavailable"
	ReasonNetwork     = "network"
	ReasonAPI         = "api"
	ReasonDeliver     = "deliver"
	ReasonPosition    = "position"
	ReasonSignature   = "signature"
	ReasonQuota       = "quota"
	ReasonCaptcha     = "captcha"
)

// Reason classifies a fetch error into one of the Reason… values.
func Reason(err error) string {
	var rl *RateLimitError
	var auth *AuthError
	var netErr net.Error
	switch {
	case errors.As(err, &rl):
		if rl.Reason != "" {
			return rl.Reason
		}
		return ReasonRateLimit
	case errors.As(err, &auth):
		return ReasonAuth
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, ErrMalformed):
		return ReasonMalformed
	case errors.Is(err, ErrUnavailable):
		return ReasonUnavailable
	case errors.As(err, &netErr):
		if netErr.Timeout() {
			return ReasonTimeout
		}
		return ReasonNetwork
	}
	return ReasonAPI
}
