package agencies

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
	"github.com/otklik/otklik/collectors/collectortest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var cfg = Config{Agencies: []Agency{
	{ID: "minzdrav", Name: "Министерство здравоохранения", Accounts: []Account{{Network: otklik.VK, ID: "-100"}, {Network: otklik.OK, ID: "555"}}},
	{ID: "mintrans", Name: "Министерство транспорта", Accounts: []Account{{Network: otklik.VK, ID: "-200"}}},
}}

func vkPost(owner, id, author string, at time.Time) otklik.Publication {
	return otklik.Publication{Network: otklik.VK, Owner: owner, PostID: id, Kind: otklik.Post, Author: otklik.Author{ID: author}, PublishedAt: at, Text: "x"}
}

func TestWeeksCountsMetricsAPI(t *testing.T) {
	// Wednesday 3 Dec 2025, 10:00 Saratov (UTC+4): last week is Mon 24 – Sun 30 Nov.
	loc, _ := time.LoadLocation("Europe/Saratov")
	now := time.Date(2025, 12, 3, 10, 0, 0, 0, loc)
	path := filepath.Join(t.TempDir(), "c.db")
	store, err := collectors.OpenPositions(path)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	tr, err := NewTracker(context.Background(), cfg, store, reg, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	next := &collectortest.Sink{}
	s := tr.Wrap(next)
	pubs := []otklik.Publication{
		vkPost("-100", "1", "-100", time.Date(2025, 11, 24, 0, 30, 0, 0, loc)),  // Monday of last week, just after midnight
		vkPost("-100", "2", "-100", time.Date(2025, 11, 30, 23, 59, 0, 0, loc)), // Sunday of last week
		vkPost("-100", "3", "-100", time.Date(2025, 11, 23, 23, 59, 0, 0, loc)), // the week before
		vkPost("-100", "4", "777", time.Date(2025, 11, 25, 12, 0, 0, 0, loc)),   // a resident's post on the wall
		vkPost("-200", "9", "-200", time.Date(2025, 12, 1, 9, 0, 0, 0, loc)),    // this week
		{Network: otklik.VK, Owner: "-100", PostID: "2", ParentID: "1", Kind: otklik.Comment, Author: otklik.Author{ID: "-100"}},
	}
	next.SetFail(true)
	if err := s.Deliver(context.Background(), pubs); err == nil {
		t.Fatal("delivery failure swallowed")
	}
	if st := tr.Statuses(); st[0].PostsLastWeek != 0 {
		t.Fatal("counted posts whose delivery failed")
	}
	next.SetFail(false)
	if err := s.Deliver(context.Background(), pubs); err != nil {
		t.Fatal(err)
	}
	// An edit re-delivers post 2: still one post.
	if err := s.Deliver(context.Background(), pubs[1:2]); err != nil {
		t.Fatal(err)
	}
	if got := next.Publications(); got[0].AgencyAccount != "minzdrav" || got[3].AgencyAccount != "" || got[5].AgencyAccount != "" {
		t.Errorf("marks: %q %q %q", got[0].AgencyAccount, got[3].AgencyAccount, got[5].AgencyAccount)
	}
	st := tr.Statuses()
	want := map[string][3]any{"minzdrav/-100": {2, true, "норма выполнена"}, "minzdrav/555": {0, false, "меньше двух публикаций за прошлую неделю"},
		"mintrans/-200": {0, false, "меньше двух публикаций за прошлую неделю"}}
	for _, s := range st {
		w := want[s.Agency+"/"+s.Account]
		if s.PostsLastWeek != w[0] || s.OK != w[1] || s.Text != w[2] || s.WeekStart != "2025-11-24" {
			t.Errorf("%s/%s: %+v", s.Agency, s.Account, s)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			got[mf.GetName()+"/"+label(m, "account")] = m.Gauge.GetValue()
		}
	}
	if got["otklik_agency_account_posts_last_week/-100"] != 2 || got["otklik_agency_account_ok/-100"] != 1 || got["otklik_agency_account_ok/-200"] != 0 {
		t.Errorf("metrics: %v", got)
	}
	rec := httptest.NewRecorder()
	tr.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/agencies/accounts?agency=mintrans", nil))
	var api []Status
	if err := json.Unmarshal(rec.Body.Bytes(), &api); err != nil || len(api) != 1 || api[0].PostsThisWeek != 1 {
		t.Errorf("API: %s", rec.Body.String())
	}
	if !strings.Contains(rec.Header().Get("Content-Type"), "application/json") {
		t.Error("content type")
	}

	// Deleting a post uncounts it; counts survive a restart.
	del := vkPost("-100", "1", "-100", time.Time{})
	del.Deleted = true
	if err := s.Deliver(context.Background(), []otklik.Publication{del}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	store, _ = collectors.OpenPositions(path)
	defer store.Close()
	tr2, err := NewTracker(context.Background(), cfg, store, nil, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	find := func(st []Status, account string) Status {
		for _, s := range st {
			if s.Account == account {
				return s
			}
		}
		t.Fatalf("no account %s", account)
		return Status{}
	}
	if s := find(tr2.Statuses(), "-100"); s.PostsLastWeek != 1 || s.OK {
		t.Errorf("after restart: %+v", s)
	}
	// Next Monday the week rolls over without any event.
	now = time.Date(2025, 12, 8, 0, 1, 0, 0, loc)
	if s := find(tr2.Statuses(), "-200"); s.PostsLastWeek != 1 || s.WeekStart != "2025-12-01" {
		t.Errorf("rollover: %+v", s)
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestValidate(t *testing.T) {
	for i, c := range []Config{
		{Agencies: []Agency{{ID: ""}}},
		{Agencies: []Agency{{ID: "a"}, {ID: "a"}}},
		{Agencies: []Agency{{ID: "a", Accounts: []Account{{Network: "myspace", ID: "1"}}}}},
		{Agencies: []Agency{{ID: "a", Accounts: []Account{{Network: otklik.VK, ID: "-1"}}}, {ID: "b", Accounts: []Account{{Network: otklik.VK, ID: "-1"}}}}},
		{Timezone: "Nowhere/City"},
	} {
		c.SetDefaults()
		if c.Validate() == nil {
			t.Errorf("case %d validated", i)
		}
	}
	if got := cfg.Owners(otklik.VK); len(got) != 2 || got[0] != "-100" {
		t.Errorf("owners: %v", got)
	}
}
