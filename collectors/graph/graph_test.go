package graph

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
)

func TestSignatureAndTime(t *testing.T) {
	body := []byte(`{"object":"page"}`)
	sig := Sign(body, "s3cret")
	if !ValidSignature(body, sig, "s3cret") {
		t.Fatal("own signature rejected")
	}
	for _, bad := range []string{"", "sha1=" + sig[7:], "sha256=zz", Sign(body, "other")} {
		if ValidSignature(body, bad, "s3cret") {
			t.Errorf("accepted %q", bad)
		}
	}
	if ValidSignature(body, sig, "") {
		t.Error("empty secret accepts")
	}
	ts, err := ParseTime("2025-11-29T07:10:00+0000")
	if err != nil || !ts.Equal(time.Date(2025, 11, 29, 7, 10, 0, 0, time.UTC)) {
		t.Errorf("%v %v", ts, err)
	}
	if ts, _ := ParseTime("2025-11-29T10:10:00+03:00"); ts.Hour() != 7 {
		t.Errorf("RFC 3339: %v", ts)
	}
	if _, err := ParseTime("yesterday"); !errors.Is(err, collectors.ErrMalformed) {
		t.Errorf("bad time: %v", err)
	}
}

func TestGetMapsErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v21.0/perm":
			w.WriteHeader(403)
			w.Write([]byte(`{"error":{"message":"(#200) Requires pages_read_engagement permission","type":"OAuthException","code":200,"fbtrace_id":"x"}}`))
		case "/v21.0/limit":
			w.WriteHeader(400)
			w.Write([]byte(`{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"is_transient":true,"fbtrace_id":"y"}}`))
		case "/v21.0/other":
			w.WriteHeader(400)
			w.Write([]byte(`{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"z"}}`))
		default:
			w.Write([]byte(`{"id":"1"}`))
		}
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL + "/", Version: "v21.0", Token: "t", HTTP: srv.Client(), Limiter: collectors.NewLimiter(0, 1)}
	var out map[string]any
	for path, want := range map[string]string{"perm": collectors.ReasonAuth, "limit": collectors.ReasonRateLimit, "other": collectors.ReasonAPI} {
		if got := collectors.Reason(c.Get(context.Background(), path, nil, &out)); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	if err := c.Get(context.Background(), "ok", nil, &out); err != nil || out["id"] != "1" {
		t.Errorf("ok: %v %v", err, out)
	}
	if retryFromUsage(http.Header{"X-Business-Use-Case-Usage": {"not json"}}) != 0 {
		t.Error("bad usage header")
	}
	if AfterCursor(Paging{Next: "https://g/x?after=abc"}) != "abc" {
		t.Error("after from next URL")
	}
}

type recSink struct{ n int }

func (s *recSink) Deliver(_ context.Context, p []otklik.Publication) error { s.n += len(p); return nil }

func TestWebhookHandler(t *testing.T) {
	sink := &recSink{}
	push, err := collectors.NewPush(otklik.Facebook, "webhook", sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &Webhook{VerifyToken: "vt", AppSecret: "sec", Push: push, Logger: slog.New(slog.DiscardHandler),
		Parse: func(body []byte, at time.Time) ([]otklik.Publication, error) {
			switch string(body) {
			case "bad":
				return nil, errors.New("cannot parse")
			case "invalid":
				return []otklik.Publication{{Network: otklik.Facebook}}, nil // no post id
			}
			return []otklik.Publication{{Network: otklik.Facebook, PostID: "1", Text: string(body)}}, nil
		}}
	do := func(method, target, body, sig string) int {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	cases := []struct {
		method, target, body, sig string
		want                      int
	}{
		{"GET", "/?hub.mode=subscribe&hub.verify_token=vt&hub.challenge=42", "", "", 200},
		{"GET", "/?hub.mode=unsubscribe&hub.verify_token=vt&hub.challenge=42", "", "", 403},
		{"POST", "/", "hello", Sign([]byte("hello"), "sec"), 200},
		{"POST", "/", "hello", "", 401},
		{"POST", "/", "bad", Sign([]byte("bad"), "sec"), 200},
		{"POST", "/", "invalid", Sign([]byte("invalid"), "sec"), 200},
		{"PUT", "/", "", "", 405},
	}
	for _, c := range cases {
		if got := do(c.method, c.target, c.body, c.sig); got != c.want {
			t.Errorf("%s %s %q: %d, want %d", c.method, c.target, c.body, got, c.want)
		}
	}
	if sink.n != 1 {
		t.Errorf("delivered %d, want 1", sink.n)
	}
}

func TestParseDelivery(t *testing.T) {
	type value struct {
		Item string `json:"item"`
	}
	d, err := ParseDelivery[value]([]byte(`{"object":"page","entry":[{"id":"1047","time":1764400200,"changes":[{"field":"feed","value":{"item":"comment"}}]}]}`), "facebook", "page")
	if err != nil || len(d.Entry) != 1 || d.Entry[0].ID != "1047" || d.Entry[0].Time != 1764400200 ||
		d.Entry[0].Changes[0].Field != "feed" || d.Entry[0].Changes[0].Value.Item != "comment" {
		t.Fatalf("%+v %v", d, err)
	}
	for body, want := range map[string]string{
		`{"object":"instagram","entry":[]}`:    `malformed response: facebook webhook for object "instagram"`,
		`{"object":"page","entry":[{"id":1}]}`: "malformed response: facebook webhook: json: cannot unmarshal",
		`not json`:                             "malformed response: facebook webhook: invalid character",
	} {
		_, err := ParseDelivery[value]([]byte(body), "facebook", "page")
		if !errors.Is(err, collectors.ErrMalformed) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q…", body, err, want)
		}
	}
	c := NewClient("http://x/", "v21.0", "t", 2)
	if c.BaseURL != "http://x/" || c.Version != "v21.0" || c.Token != "t" || c.HTTP.Timeout != 30*time.Second || c.Limiter == nil {
		t.Errorf("client %+v", c)
	}
}

func TestAppConfig(t *testing.T) {
	var c AppConfig
	c.SetDefaults()
	if c != DefaultAppConfig() || c.Enabled {
		t.Fatalf("defaults: %+v", c)
	}
	if errs := c.Problems("facebook"); len(errs) != 0 {
		t.Fatalf("defaults: %v", errs)
	}
	for _, tt := range []struct {
		mut  func(*AppConfig)
		want string
	}{
		{func(c *AppConfig) { c.BaseURL = "ftp://graph/" }, `facebook: base_url "ftp://graph/" must be an http(s) URL ending in /`},
		{func(c *AppConfig) { c.BaseURL = "https://graph.facebook.com" }, `facebook: base_url "https://graph.facebook.com" must be`},
		{func(c *AppConfig) { c.AppSecret = "s" }, "facebook: the webhook needs both the app secret and the verify token"},
		{func(c *AppConfig) { c.VerifyToken = "v" }, "facebook: the webhook needs both"},
		{func(c *AppConfig) { c.Watch = -time.Hour }, "facebook: interval, watch and backfill must be positive"},
		{func(c *AppConfig) { c.RequestsPerSecond = -1 }, "facebook: interval, watch and backfill must be positive"},
	} {
		c := DefaultAppConfig()
		tt.mut(&c)
		if errs := c.Problems("facebook"); len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tt.want) {
			t.Errorf("%+v: %v, want %q…", c, errs, tt.want)
		}
	}
	c = DefaultAppConfig()
	c.Token, c.RequestsPerSecond = "t", 2
	if cl := c.Client(); cl.BaseURL != DefaultBaseURL || cl.Version != DefaultVersion || cl.Token != "t" || cl.Limiter == nil {
		t.Errorf("client %+v", cl)
	}
}
