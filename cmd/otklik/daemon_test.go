package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/cmd/otklik/internal/config"
)

// TestEmbeddedDemo is the newcomer's first run: no configuration, the demo corpus is
// classified and searchable within seconds, and every stage that moved shows in /metrics.
func TestEmbeddedDemo(t *testing.T) {
	cfg, err := config.Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = freeAddr(t)
	d, err := newDaemon(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.run(ctx) }()
	base := "http://" + cfg.HTTP.Addr

	var res struct {
		Total        int64
		Publications []otklik.Publication
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/api/v1/publications?q=" + url.QueryEscape("вода"))
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
			if res.Total > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no demo publication about water is searchable within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range res.Publications {
		if p.Class == nil || p.Class.Topic == "" || p.Class.Priority == "" || p.Class.Dropped() {
			t.Errorf("%s is not a classified, processed publication: %+v", p.ID, p.Class)
		}
		if !strings.Contains(strings.ToLower(p.Text), "вод") {
			t.Errorf("%s does not mention water: %s", p.ID, p.Text)
		}
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/readyz: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	for _, m := range []string{`otklik_collector_publications_total{network="demo"`, `otklik_stage_records_out_total{stage="classify"`,
		`otklik_stage_records_out_total{stage="index"`} {
		if v, err := metric(cfg.HTTP.Addr, m); err != nil || v == 0 {
			t.Errorf("%s = %v, %v; want > 0", m, v, err)
		}
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("graceful stop: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the daemon did not stop within 60 s")
	}
}
