package index

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAPI(t *testing.T) {
	b, _ := openTest(t)
	mux := http.NewServeMux()
	NewAPI(b, time.UTC, slog.New(slog.NewTextHandler(io.Discard, nil))).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		query  string
		status int
		ids    string
		errHas string
	}{
		{"q=" + url.QueryEscape("вода"), 200, "ba", ""},
		{"topic=housing&sort=asc", 200, "ab", ""},
		{"dropped=true", 200, "d", ""},
		{"from=2026-11-04&to=2026-11-05", 200, "b", ""},
		{"size=2&offset=1", 200, "cb", ""},
		{"priority=urgent", 400, "", "priority"},
		{"size=1000", 400, "", "size"},
		{"from=yesterday", 400, "", "ГГГГ-ММ-ДД"},
		{"dropped=maybe", 400, "", "dropped"},
		{"sort=up", 400, "", "sort"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			resp, err := http.Get(srv.URL + "/api/v1/publications?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				if !strings.Contains(string(body), tc.errHas) {
					t.Fatalf("error %s does not mention %q", body, tc.errHas)
				}
				return
			}
			var lr listResponse
			if err := json.Unmarshal(body, &lr); err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, p := range lr.Publications {
				got += p.ID
			}
			if got != tc.ids {
				t.Fatalf("ids %q, want %q", got, tc.ids)
			}
		})
	}
	resp, err := http.Get(srv.URL + "/api/v1/publications/d")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("get dropped by id: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	resp, _ = http.Get(srv.URL + "/api/v1/publications/zzz")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(body), "не найдена") {
		t.Fatalf("unknown id: %d %s", resp.StatusCode, body)
	}
}
