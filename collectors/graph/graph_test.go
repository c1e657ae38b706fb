package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
