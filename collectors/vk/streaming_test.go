package vk

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/otklik/otklik/collectors/collectortest"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeStreaming is VK's Streaming API: streaming.getServerUrl, the rules endpoint and the
// websocket. The first connection sends one event and drops; the next sends another.
type fakeStreaming struct {
	mu       sync.Mutex
	t        *testing.T
	host     string
	rules    map[string]string
	conns    int
	getURL   int
	failNext bool
}

func (f *fakeStreaming) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	switch {
	case r.URL.Path == "/method/streaming.getServerUrl":
		f.getURL++
		w.Header().Set("Content-Type", "application/json")
		if f.failNext {
			f.failNext = false
			fmt.Fprint(w, `{"error":{"error_code":10,"error_msg":"Internal server error"}}`)
		} else {
			fmt.Fprintf(w, `{"response":{"endpoint":%q,"key":"stream-key"}}`, f.host)
		}
		f.mu.Unlock()
	case r.URL.Path == "/rules/":
		if r.URL.Query().Get("key") != "stream-key" {
			fmt.Fprint(w, `{"code":400,"error":{"message":"bad key","error_code":1001}}`)
			f.mu.Unlock()
			return
		}
		body, _ := io.ReadAll(r.Body)
		switch r.Method {
		case http.MethodGet:
			var b strings.Builder
			for tag, v := range f.rules {
				if b.Len() > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"tag":%q,"value":%q}`, tag, v)
			}
			fmt.Fprintf(w, `{"code":200,"rules":[%s]}`, b.String())
		case http.MethodDelete:
			var tag string
			fmt.Sscanf(strings.TrimPrefix(string(body), `{"tag":`), "%q", &tag)
			delete(f.rules, tag)
			fmt.Fprint(w, `{"code":200}`)
		case http.MethodPost:
			s := string(body)
			tag := between(s, `"tag":"`, `"`)
			f.rules[tag] = between(s, `"value":"`, `"`)
			fmt.Fprint(w, `{"code":200}`)
		}
		f.mu.Unlock()
	case r.URL.Path == "/stream":
		f.conns++
		n := f.conns
		f.mu.Unlock()
		up := websocket.Upgrader{}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		file := "streaming_event_post.json"
		if n > 1 {
			file = "streaming_event_comment.json"
		}
		c.WriteMessage(websocket.TextMessage, collectortest.Testdata(f.t, file))
		if n == 1 {
			return // drop the connection: the client must reconnect
		}
		for { // keep the second connection open until the client closes it
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	default:
		f.mu.Unlock()
		http.NotFound(w, r)
	}
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

func TestStreamingReconnects(t *testing.T) {
	f := &fakeStreaming{t: t, rules: map[string]string{"stale": "старое"}, failNext: true}
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	f.host = strings.TrimPrefix(srv.URL, "https://")
	v, err := New(Config{BaseURL: srv.URL + "/method/", Streaming: StreamingConfig{Enabled: true, Token: "svc",
		Rules: []StreamingRule{{Tag: "traffic", Value: "светофор"}}, BackoffMin: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond}},
		WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	v.tlsConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	sink := &collectortest.Sink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- v.Stream(ctx, sink, prometheus.NewPedanticRegistry(), nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if sink.Len() >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Stream did not return after cancel")
	}
	if got := ids(sink.Publications()); got != "vk:-3000_451 vk:-3000_451_460" {
		t.Fatalf("publications: %s", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns < 2 || f.getURL < 3 {
		t.Errorf("connections %d, getServerUrl %d: no reconnect after error 10 and a dropped stream", f.conns, f.getURL)
	}
	if len(f.rules) != 1 || f.rules["traffic"] != "светофор" {
		t.Errorf("rules not replaced: %v", f.rules)
	}
}

func TestStreamingConfig(t *testing.T) {
	for i, sc := range []StreamingConfig{
		{Enabled: true, Rules: []StreamingRule{{Tag: "a", Value: "b"}}},
		{Enabled: true, Token: "t"},
		{Enabled: true, Token: "t", Rules: []StreamingRule{{Tag: "a", Value: "b"}, {Tag: "a", Value: "c"}}},
	} {
		if _, err := New(Config{Streaming: sc}); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	v, _ := New(Config{})
	if err := v.Stream(context.Background(), &collectortest.Sink{}, nil, nil); err == nil {
		t.Error("disabled streaming ran")
	}
}
