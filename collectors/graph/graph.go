// Package graph is the part of Meta's Graph API that the facebook and instagram
// collectors share: signed-less GET calls with a token, the Graph error object mapped to
// the poller's error types, timestamps, paging, and the webhook receiver (verification
// handshake and X-Hub-Signature-256 check). Meta's networks are blocked in Russia since
// 2022; both collectors are disabled by default and work when configured.
package graph

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
)

// DefaultBaseURL and DefaultVersion are the Graph API endpoint and the version the
// collectors were written against.
const (
	DefaultBaseURL = "https://graph.facebook.com/"
	DefaultVersion = "v21.0"
)

// Client calls the Graph API with one token.
type Client struct {
	// BaseURL is the Graph host, ending in "/".
	BaseURL string
	// Version is the API version path segment ("v21.0").
	Version string
	// Token is sent as a bearer token.
	Token collectors.Secret
	// HTTP makes the requests.
	HTTP *http.Client
	// Limiter paces the token.
	Limiter *collectors.Limiter
}

// NewClient returns a client for the Graph host baseURL ("https://graph.facebook.com/")
// and API version, sending token, paced at rps requests a second (burst 1), each request
// bounded by 30 s.
func NewClient(baseURL, version string, token collectors.Secret, rps float64) *Client {
	return &Client{BaseURL: baseURL, Version: version, Token: token,
		HTTP: &http.Client{Timeout: 30 * time.Second}, Limiter: collectors.NewLimiter(rps, 1)}
}

// Error is the Graph API error object.
type Error struct {
	Message      string `json:"message"`
	Type         string `json:"type"`
	Code         int    `json:"code"`
	Subcode      int    `json:"error_subcode"`
	IsTransient  bool   `json:"is_transient"`
	FBTraceID    string `json:"fbtrace_id"`
	retryMinutes int
}

// Error describes the Graph error.
func (e *Error) Error() string {
	return fmt.Sprintf("graph error %d/%d (%s): %s", e.Code, e.Subcode, e.Type, e.Message)
}

// Paging is the cursor object of a list response.
type Paging struct {
	Cursors struct {
		Before string `json:"before"`
		After  string `json:"after"`
	} `json:"cursors"`
	Next string `json:"next"`
}

// Get calls GET {base}{version}/{path}?params and decodes the body into out.
func (c *Client) Get(ctx context.Context, path string, params url.Values, out any) error {
	if err := c.Limiter.Wait(ctx); err != nil {
		return err
	}
	u := c.BaseURL + c.Version + "/" + strings.TrimPrefix(path, "/")
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("graph %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token.Reveal())
	resp, err := c.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("graph %s: %w", path, err)
	}
	usage := retryFromUsage(resp.Header)
	body, err := collectors.ReadBody(resp)
	if err != nil {
		return fmt.Errorf("graph %s: %w", path, err)
	}
	var env struct {
		Error *Error `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		env.Error.retryMinutes = usage
		return fmt.Errorf("graph %s: %w", path, MapError(env.Error))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("graph %s: %w: %v", path, collectors.ErrMalformed, err)
	}
	return nil
}

// retryFromUsage reads estimated_time_to_regain_access (minutes) from the
// X-Business-Use-Case-Usage header, which Meta sends with throttled page calls.
func retryFromUsage(h http.Header) int {
	v := h.Get("X-Business-Use-Case-Usage")
	if v == "" {
		return 0
	}
	var m map[string][]struct {
		Minutes int `json:"estimated_time_to_regain_access"`
	}
	if json.Unmarshal([]byte(v), &m) != nil {
		return 0
	}
	best := 0
	for _, entries := range m {
		for _, e := range entries {
			best = max(best, e.Minutes)
		}
	}
	return best
}

// MapError maps a Graph error to the poller's error types.
func MapError(e *Error) error {
	switch {
	case e.Code == 190 || e.Code == 102 || e.Code == 10 || (e.Code >= 200 && e.Code < 300):
		// Invalid or expired token, or a permission the token lacks.
		return &collectors.AuthError{Err: e}
	case e.Code == 4 || e.Code == 17 || e.Code == 32 || e.Code == 613 || e.Code == 80001 || e.Code == 80002 || e.Code == 80006:
		wait := time.Duration(e.retryMinutes) * time.Minute
		if wait == 0 {
			wait = 15 * time.Minute
		}
		return &collectors.RateLimitError{RetryAfter: wait, Err: e}
	case e.Code == 1 || e.Code == 2 || e.IsTransient:
		return fmt.Errorf("%w: %v", collectors.ErrUnavailable, e)
	}
	return e
}

// ParseTime reads Graph timestamps ("2025-11-29T10:00:00+0000").
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: timestamp %q", collectors.ErrMalformed, s)
}

// AfterCursor extracts the "after" cursor of a paging.next URL.
func AfterCursor(p Paging) string {
	if p.Next == "" {
		return ""
	}
	if p.Cursors.After != "" {
		return p.Cursors.After
	}
	if u, err := url.Parse(p.Next); err == nil {
		return u.Query().Get("after")
	}
	return ""
}

// Webhook receives Meta webhook deliveries: it answers the GET verification handshake
// with hub.challenge when hub.verify_token matches, rejects POSTs whose
// X-Hub-Signature-256 is not the HMAC-SHA256 of the body with the app secret, and
// acknowledges (200) only after Parse's publications were delivered; any failure answers
// 5xx so that Meta retries the delivery.
type Webhook struct {
	// VerifyToken is the token typed in the subscription (GET handshake).
	VerifyToken collectors.Secret
	// AppSecret keys the X-Hub-Signature-256 HMAC.
	AppSecret collectors.Secret
	// Parse turns a delivery body into publications.
	Parse func(body []byte, fetched time.Time) ([]otklik.Publication, error)
	// Push delivers and counts.
	Push *collectors.Push
	// Logger receives the one line about an unreadable delivery (may be nil).
	Logger *slog.Logger
	// Now stamps FetchedAt (time.Now when nil).
	Now func() time.Time
}

// ServeHTTP implements http.Handler.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		if q.Get("hub.mode") != "subscribe" || h.VerifyToken == "" ||
			!hmac.Equal([]byte(q.Get("hub.verify_token")), []byte(h.VerifyToken.Reveal())) {
			h.Push.Fail(collectors.ReasonSignature)
			http.Error(w, "verification failed", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, q.Get("hub.challenge"))
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, collectors.MaxBody))
		if err != nil {
			h.Push.Fail(collectors.ReasonNetwork)
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if !ValidSignature(body, r.Header.Get("X-Hub-Signature-256"), h.AppSecret.Reveal()) {
			h.Push.Fail(collectors.ReasonSignature)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		now := time.Now
		if h.Now != nil {
			now = h.Now
		}
		pubs, err := h.Parse(body, now())
		if err != nil {
			// A body Meta signed but we cannot read will not improve on retry: count it,
			// log it, and acknowledge.
			h.Push.Fail(collectors.ReasonMalformed)
			if h.Logger != nil {
				h.Logger.Warn("webhook delivery not understood", "error", err.Error())
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		if err := h.Push.Deliver(r.Context(), pubs); err != nil {
			if errors.Is(err, otklik.ErrInvalid) { // a retry would bring the same delivery
				if h.Logger != nil {
					h.Logger.Warn("webhook delivery invalid", "error", err.Error())
				}
				w.WriteHeader(http.StatusOK)
				return
			}
			http.Error(w, "not stored, retry", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// Delivery is the envelope of a webhook delivery: the object subscribed to ("page",
// "instagram") and, for each entry (a page or an account, with the Unix time of the
// change), the changed fields with their values, whose shape V depends on the field.
type Delivery[V any] struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Time    int64  `json:"time"`
		Changes []struct {
			Field string `json:"field"`
			Value V      `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// ParseDelivery decodes a delivery to object; one that does not decode, or is for another
// object, is ErrMalformed ("<network> webhook: …").
func ParseDelivery[V any](body []byte, network, object string) (Delivery[V], error) {
	var d Delivery[V]
	if err := json.Unmarshal(body, &d); err != nil {
		return Delivery[V]{}, fmt.Errorf("%w: %s webhook: %v", collectors.ErrMalformed, network, err)
	}
	if d.Object != object {
		return Delivery[V]{}, fmt.Errorf("%w: %s webhook for object %q", collectors.ErrMalformed, network, d.Object)
	}
	return d, nil
}

// ValidSignature checks an X-Hub-Signature-256 header ("sha256=<hex>") against body.
func ValidSignature(body []byte, header, secret string) bool {
	sig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the X-Hub-Signature-256 value of body (for tests and tools).
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
