package vk

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/otklik/otklik/collectors/collectortest"
	"github.com/prometheus/client_golang/prometheus"
)

func TestCallback(t *testing.T) {
	now := time.Date(2025, 11, 29, 10, 0, 0, 0, time.UTC)
	v, err := New(Config{Callback: CallbackConfig{Confirmations: map[int]string{1001: "a1b2c3d4"}, Secret: "cb-secret"}},
		WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	sink := &collectortest.Sink{}
	h, err := v.CallbackHandler(sink, prometheus.NewPedanticRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	post := func(body []byte) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/callbacks/vk", bytes.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	if code, body := post(collectortest.Testdata(t, "callback_confirmation.json")); code != 200 || body != "a1b2c3d4" {
		t.Fatalf("confirmation: %d %q", code, body)
	}
	if code, _ := post([]byte(`{"type":"confirmation","group_id":5}`)); code != 403 {
		t.Fatalf("unknown group confirmed: %d", code)
	}
	if code, _ := post([]byte(`{"type":"wall_post_new","group_id":1001,"secret":"wrong","object":{}}`)); code != 403 {
		t.Fatalf("wrong secret accepted: %d", code)
	}
	sink.SetFail(true)
	if code, body := post(collectortest.Testdata(t, "callback_wall_post_new.json")); code != 500 || body == "ok" {
		t.Fatalf("undelivered event acknowledged: %d %q", code, body)
	}
	sink.SetFail(false)
	for _, f := range []string{"callback_wall_post_new.json", "callback_wall_reply_new.json", "callback_wall_reply_delete.json"} {
		if code, body := post(collectortest.Testdata(t, f)); code != 200 || body != "ok" {
			t.Fatalf("%s: %d %q", f, code, body)
		}
	}
	pubs := sink.Publications()
	if got := ids(pubs); got != "vk:-1001_78 vk:-1001_78_81 vk:-1001_78_81(deleted)" {
		t.Fatalf("publications: %s", got)
	}
	if p := pubs[1]; p.ReplyTo != "80" || p.URL != "https://vk.com/wall-1001_78?reply=81&thread=79" || p.Author.ID != "60000009" {
		t.Errorf("reply: %+v", p)
	}
	if p := pubs[0]; p.Author.ID != "-1001" || p.Source != "vk:callback:1001" {
		t.Errorf("agency post: %+v", p)
	}
	// Malformed object: acknowledged (VK would retry forever) but not delivered.
	if code, body := post([]byte(`{"type":"wall_reply_new","group_id":1001,"secret":"cb-secret","object":{"id":"x"}}`)); code != 200 || body != "ok" {
		t.Fatalf("malformed: %d %q", code, body)
	}
	if code, _ := post([]byte(`not json`)); code != 400 {
		t.Fatalf("not json: %d", code)
	}
	if _, err := New(Config{}); err != nil {
		t.Fatal(err)
	}
	plain, _ := New(Config{})
	if _, err := plain.CallbackHandler(sink, nil, nil); err == nil {
		t.Error("callback without confirmations")
	}
}
