package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/cmd/otklik/internal/config"
	"github.com/otklik/otklik/collectors/agencies"
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

// Configured networks and the agencies' own accounts become sources and receivers.
func TestNetworksAreWired(t *testing.T) {
	cfg, err := config.Load("", func(k string) string {
		return map[string]string{"OTKLIK_VK_TOKEN": "t", "OTKLIK_VK_CALLBACK_SECRET": "s", "OTKLIK_VK_WALLS": "-1,-2",
			"OTKLIK_OK_GROUPS": "55", "OTKLIK_OK_TOKEN": "t", "OTKLIK_OK_APP_SECRET": "s", "OTKLIK_OK_APP_KEY": "k",
			"OTKLIK_DEMO": "false"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	cfg.VK.Callback.Confirmations = map[int]string{1: "a1b2c3"}
	cfg.Agencies.Agencies = []agencies.Agency{{ID: "minzdrav", Name: "Минздрав", Accounts: []agencies.Account{{Network: otklik.VK, ID: "-3"}}}}
	d, err := newDaemon(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	kinds := map[string]int{}
	for _, tg := range d.targets {
		kinds[string(tg.Network)+"/"+tg.Kind]++
	}
	if kinds["vk/wall"] == 0 || kinds["ok/feed"]+kinds["ok/group"]+kinds["ok/topics"] == 0 {
		t.Errorf("sources %v: want VK walls and OK groups", kinds)
	}
	srv := httptest.NewServer(d.mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/agencies/accounts")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("agencies API: %v %v", resp.StatusCode, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "-3") {
		t.Errorf("agency account missing from %s", body)
	}
	resp, err = http.Post(srv.URL+"/callbacks/vk", "application/json", strings.NewReader(`{"type":"confirmation","group_id":1,"secret":"wrong"}`))
	if err != nil || resp.StatusCode == http.StatusNotFound {
		t.Fatalf("VK callback receiver not mounted: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	// Missing tokens fail fast, naming the variable.
	cfg.VK.Token = ""
	cfg.DataDir = t.TempDir()
	if _, err := newDaemon(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "OTKLIK_VK_TOKEN") {
		t.Errorf("missing VK token: %v", err)
	}
}
