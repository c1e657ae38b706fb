package collectors

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// MaxBody bounds the response bodies collectors read (32 MiB).
const MaxBody = 32 << 20

// ReadBody reads an API response body and classifies transport-level failures the same
// way for every network: 429 is a RateLimitError (honouring Retry-After), 5xx wraps
// ErrUnavailable, an HTML or otherwise non-JSON body wraps ErrMalformed. Other statuses
// are returned with their body for the network package to interpret (Graph API and OK
// put their error object in 4xx bodies).
func ReadBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, &RateLimitError{RetryAfter: RetryAfter(resp.Header.Get("Retry-After")),
			Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("%w: HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "text/html" || (mt != "" && mt != "application/json" && mt != "text/javascript" && mt != "text/plain") {
		return nil, fmt.Errorf("%w: HTTP %d with content type %q", ErrMalformed, resp.StatusCode, mt)
	}
	return body, nil
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date); zero when absent.
func RetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
