package worktime

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otklik/otklik/internal/testenv"
)

func newClock(t *testing.T, cfg Config) (*Clock, *prometheus.Registry, *bytes.Buffer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	c, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}
	return c, reg, &logs
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAdd(t *testing.T) {
	c, _, _ := newClock(t, Config{})
	tests := []struct {
		name, from string
		d          time.Duration
		want       string
	}{
		{"9h over the evening", "2026-11-30T10:00:00+04:00", 9 * time.Hour, "2026-12-01T11:00:00+04:00"},
		{"zero duration", "2026-11-30T20:00:00+04:00", 0, "2026-11-30T20:00:00+04:00"},
		{"before lunch, exact end of the morning", "2026-11-30T12:30:00+04:00", 30 * time.Minute, "2026-11-30T13:00:00+04:00"},
		{"over lunch", "2026-11-30T12:30:00+04:00", 31 * time.Minute, "2026-11-30T14:01:00+04:00"},
		{"from lunch", "2026-11-30T13:20:00+04:00", 30 * time.Minute, "2026-11-30T14:30:00+04:00"},
		{"exact end of the day stays at 18:00", "2026-11-30T09:00:00+04:00", 8 * time.Hour, "2026-11-30T18:00:00+04:00"},
		{"exact end from the evening before", "2026-11-29T22:00:00+04:00", 8 * time.Hour, "2026-11-30T18:00:00+04:00"},
		{"one second past the end", "2026-11-30T09:00:00+04:00", 8*time.Hour + time.Second, "2026-12-01T09:00:01+04:00"},
		{"from the evening", "2026-11-30T19:00:00+04:00", 30 * time.Minute, "2026-12-01T09:30:00+04:00"},
		{"from 18:00 sharp", "2026-11-30T18:00:00+04:00", time.Minute, "2026-12-01T09:01:00+04:00"},
		{"from early morning", "2026-12-01T06:00:00+04:00", time.Hour, "2026-12-01T10:00:00+04:00"},
		{"friday to monday", "2026-11-27T17:00:00+04:00", 2 * time.Hour, "2026-11-30T10:00:00+04:00"},
		{"from saturday", "2026-11-28T10:00:00+04:00", time.Hour, "2026-11-30T10:00:00+04:00"},
		{"9h from friday afternoon", "2026-11-27T15:00:00+04:00", 9 * time.Hour, "2026-11-30T16:00:00+04:00"},
		{"defender's day monday", "2026-02-20T17:30:00+04:00", time.Hour, "2026-02-24T09:30:00+04:00"},
		{"8 march transferred to monday 9", "2026-03-06T17:00:00+04:00", 2 * time.Hour, "2026-03-10T10:00:00+04:00"},
		{"new year holidays and 9 january transfer", "2026-01-01T12:00:00+04:00", time.Hour, "2026-01-12T10:00:00+04:00"},
		{"shortened 8 may, victory day, transferred 11 may", "2026-05-08T16:00:00+04:00", 2 * time.Hour, "2026-05-12T10:00:00+04:00"},
		{"shortened day ends at 17:00 exactly", "2026-11-03T16:00:00+04:00", time.Hour, "2026-11-03T17:00:00+04:00"},
		{"shortened day then 4 november", "2026-11-03T16:00:00+04:00", 90 * time.Minute, "2026-11-05T09:30:00+04:00"},
		{"17:30 on a shortened day is off", "2026-04-30T17:30:00+04:00", 30 * time.Minute, "2026-05-04T09:30:00+04:00"},
		{"31 december transferred, 2027 from the fallback", "2026-12-30T17:00:00+04:00", 2 * time.Hour, "2027-01-11T10:00:00+04:00"},
		{"utc input", "2026-11-30T05:00:00Z", time.Hour, "2026-11-30T10:00:00+04:00"},
		{"moscow input", "2026-11-30T08:00:00+03:00", 9 * time.Hour, "2026-12-01T10:00:00+04:00"},
		{"negative offset across midnight", "2026-11-29T23:30:00-05:00", time.Hour, "2026-11-30T10:00:00+04:00"},
		{"2020 covid non-working days", "2020-03-27T17:00:00+04:00", 2 * time.Hour, "2020-05-12T10:00:00+04:00"},
		{"2024 working saturday 27 april", "2024-04-26T17:00:00+04:00", 2 * time.Hour, "2024-04-27T10:00:00+04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Add(mustTime(t, tt.from), tt.d).Format(time.RFC3339)
			if got != tt.want {
				t.Errorf("Add(%s, %v) = %s, want %s", tt.from, tt.d, got, tt.want)
			}
		})
	}
}

func TestAddDays(t *testing.T) {
	c, _, _ := newClock(t, Config{})
	tests := []struct {
		name, from string
		n          int
		want       string
	}{
		{"plain week", "2026-11-30T10:00:00+04:00", 7, "2026-12-09T18:00:00+04:00"},
		{"one day from saturday", "2026-11-28T10:00:00+04:00", 1, "2026-11-30T18:00:00+04:00"},
		{"from friday evening", "2026-11-27T23:00:00+04:00", 1, "2026-11-30T18:00:00+04:00"},
		{"over 1 may", "2026-04-24T12:00:00+04:00", 7, "2026-05-06T18:00:00+04:00"},
		{"over the may holidays", "2026-04-29T12:00:00+04:00", 7, "2026-05-12T18:00:00+04:00"},
		{"ends on a shortened day", "2026-04-23T12:00:00+04:00", 5, "2026-04-30T17:00:00+04:00"},
		{"zone of the input does not change the day", "2026-11-30T05:00:00Z", 1, "2026-12-01T18:00:00+04:00"},
		{"day in saratov differs from utc", "2026-11-29T21:00:00Z", 1, "2026-12-01T18:00:00+04:00"},
		{"zero", "2026-11-30T10:00:00+04:00", 0, "2026-11-30T10:00:00+04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddDays(mustTime(t, tt.from), tt.n).Format(time.RFC3339)
			if got != tt.want {
				t.Errorf("AddDays(%s, %d) = %s, want %s", tt.from, tt.n, got, tt.want)
			}
		})
	}
}

func TestSubAndBetween(t *testing.T) {
	c, _, _ := newClock(t, Config{})
	tests := []struct {
		to   string
		d    time.Duration
		want string
	}{
		{"2026-12-01T11:00:00+04:00", 4 * time.Hour, "2026-11-30T16:00:00+04:00"},
		{"2026-11-30T14:00:00+04:00", time.Hour, "2026-11-30T12:00:00+04:00"},
		{"2026-11-30T13:00:00+04:00", 4 * time.Hour, "2026-11-30T09:00:00+04:00"},
		{"2026-11-30T10:00:00+04:00", 2 * time.Hour, "2026-11-27T17:00:00+04:00"},
		{"2026-11-05T09:30:00+04:00", time.Hour, "2026-11-03T16:30:00+04:00"},
	}
	for _, tt := range tests {
		to := mustTime(t, tt.to)
		got := c.Sub(to, tt.d)
		if got.Format(time.RFC3339) != tt.want {
			t.Errorf("Sub(%s, %v) = %s, want %s", tt.to, tt.d, got.Format(time.RFC3339), tt.want)
		}
		// Add lands on the end of an interval rather than the start of the next one.
		if back := c.Add(got, tt.d); !back.Equal(to) && c.Between(back, to) != 0 {
			t.Errorf("Add(Sub(%s)) = %s", tt.to, back)
		}
		if b := c.Between(got, to); b != tt.d {
			t.Errorf("Between(%s, %s) = %v, want %v", got, to, b, tt.d)
		}
		if b := c.Between(to, got); b != -tt.d {
			t.Errorf("Between reversed = %v", b)
		}
	}
	if w := c.Between(mustTime(t, "2026-11-27T00:00:00+04:00"), mustTime(t, "2026-12-05T00:00:00+04:00")); w != 6*8*time.Hour {
		t.Errorf("Between over a week = %v, want 48h", w)
	}
}

func TestWorking(t *testing.T) {
	c, _, _ := newClock(t, Config{})
	for s, want := range map[string]bool{
		"2026-11-30T09:00:00+04:00": true,
		"2026-11-30T12:59:59+04:00": true,
		"2026-11-30T13:00:00+04:00": false,
		"2026-11-30T18:00:00+04:00": false,
		"2026-11-28T10:00:00+04:00": false,
		"2026-11-03T17:00:00+04:00": false,
		"2026-11-03T16:59:00+04:00": true,
		"2026-11-30T06:30:00Z":      true,
	} {
		if got := c.Working(mustTime(t, s)); got != want {
			t.Errorf("Working(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestCustomSchedule(t *testing.T) {
	// Another region: 08:00-17:00 without lunch, Friday 08:00-15:45, shortened by 2h,
	// Moscow time.
	c, _, _ := newClock(t, Config{
		Zone: "Europe/Moscow",
		Schedule: map[string][]string{
			"mon": {"08:00-17:00"}, "tue": {"08:00-17:00"}, "wed": {"08:00-17:00"},
			"thu": {"08:00-17:00"}, "fri": {"08:00-15:45"},
		},
		ShortenBy:        2 * time.Hour,
		WeekendWorkdayAs: "fri",
	})
	for _, tt := range []struct {
		from string
		d    time.Duration
		want string
	}{
		{"2026-11-27T15:00:00+03:00", time.Hour, "2026-11-30T08:15:00+03:00"},
		{"2026-11-03T14:00:00+03:00", time.Hour, "2026-11-03T15:00:00+03:00"},
		{"2026-11-03T14:00:00+03:00", 2 * time.Hour, "2026-11-05T09:00:00+03:00"},
		{"2024-04-26T15:00:00+03:00", time.Hour, "2024-04-27T08:15:00+03:00"},
		{"2024-04-27T15:00:00+03:00", time.Hour, "2024-05-02T08:15:00+03:00"},
	} {
		if got := c.Add(mustTime(t, tt.from), tt.d).Format(time.RFC3339); got != tt.want {
			t.Errorf("Add(%s, %v) = %s, want %s", tt.from, tt.d, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for name, cfg := range map[string]Config{
		"zone":            {Zone: "Mars/Olympus"},
		"weekday":         {Schedule: map[string][]string{"monday": {"09:00-18:00"}}},
		"interval":        {Schedule: map[string][]string{"mon": {"09:00"}}},
		"reversed":        {Schedule: map[string][]string{"mon": {"18:00-09:00"}}},
		"overlap":         {Schedule: map[string][]string{"mon": {"09:00-13:00", "12:00-18:00"}}},
		"no time":         {Schedule: map[string][]string{"mon": {}}},
		"bad hour":        {Schedule: map[string][]string{"mon": {"09:00-25:00"}}},
		"shorten":         {ShortenBy: -time.Hour},
		"weekend as":      {WeekendWorkdayAs: "someday"},
		"weekend as free": {WeekendWorkdayAs: "sun"},
	} {
		cfg.SetDefaults()
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil, want an error", name)
		}
	}
	d := DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
}

func TestParseCalendarErrors(t *testing.T) {
	for name, src := range map[string]string{
		"short line":  "2027 holiday\n",
		"year":        "20x7 off 01-01\n",
		"kind":        "2027 vacation 01-01\n",
		"date":        "2027 off 02-30\n",
		"range":       "2027 off 03-10..03-01\n",
		"work on mon": "2027 work 01-11\n",
		"conflict":    "2027 off 01-11\n2027 short 01-11\n",
	} {
		if _, err := ParseCalendar([]byte(src)); err == nil {
			t.Errorf("%s: ParseCalendar(%q) = nil error", name, src)
		}
	}
	ys, err := ParseCalendar([]byte("# comment\n\n2027 holiday 01-01..01-08 # inline\n2027 work 01-09\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ys[2027].marks[8] != markHoliday || ys[2027].marks[9] != markWork || ys[2027].marks[10] != markNone {
		t.Errorf("marks = %v", ys[2027].marks[:11])
	}
}

func TestFallbackAndLoadCalendar(t *testing.T) {
	c, reg, logs := newClock(t, Config{})
	if got := testutil.ToFloat64(c.fallback); got != 0 {
		t.Fatalf("fallback years at start = %v", got)
	}
	// 2027 has no data: art. 112. 1 May 2027 is a Saturday: 3 May is off; 9 May a Sunday:
	// 10 May off; 12 June a Saturday: 14 June off; 30 April, 22 February, 5 March (Friday
	// before the 8th? no: 8 March 2027 is a Monday, 5 March a Friday, not the eve), 3
	// November and 31 December are shortened.
	want := map[string]DayKind{
		"2027-01-01": NonWorking, "2027-01-08": NonWorking, "2027-01-11": Working,
		"2027-02-22": Short, "2027-02-23": NonWorking, "2027-03-05": Working, "2027-03-08": NonWorking,
		"2027-04-30": Short, "2027-05-03": NonWorking, "2027-05-10": NonWorking, "2027-05-11": Working,
		"2027-06-11": Short, "2027-06-14": NonWorking, "2027-11-03": Short, "2027-11-04": NonWorking,
		"2027-12-31": Short, "2027-01-09": NonWorking,
	}
	for s, k := range want {
		d, _ := time.Parse(time.DateOnly, s)
		if got := c.Kind(d.Year(), d.Month(), d.Day()); got != k {
			t.Errorf("fallback %s = %v, want %v", s, got, k)
		}
	}
	if got := testutil.ToFloat64(c.fallback); got != 1 {
		t.Errorf("otklik_worktime_fallback_years = %v, want 1", got)
	}
	if n := strings.Count(logs.String(), "no production calendar"); n != 1 || !strings.Contains(logs.String(), "year=2027") {
		t.Errorf("want one fallback log line for 2027, got:\n%s", logs)
	}
	if n, err := testutil.GatherAndCount(reg, "otklik_worktime_fallback_years"); err != nil || n != 1 {
		t.Errorf("metric registered: %d, %v", n, err)
	}

	// An operator adds 2027 from a file, without a rebuild.
	f := filepath.Join(t.TempDir(), "2027.txt")
	if err := os.WriteFile(f, []byte("2027 holiday 01-01..01-08 02-23 03-08 05-01 05-09 06-12 11-04\n2027 off 05-03 05-10 06-14 12-31\n2027 short 02-22 04-30 06-11 11-03\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadCalendar(f); err != nil {
		t.Fatal(err)
	}
	if got := c.Kind(2027, 12, 31); got != NonWorking {
		t.Errorf("after loading, 2027-12-31 = %v, want nonworking", got)
	}
	if got := testutil.ToFloat64(c.fallback); got != 0 {
		t.Errorf("fallback years after loading = %v, want 0", got)
	}
	if ys := c.Years(); len(ys) != 8 || ys[0] != 2020 || ys[7] != 2027 {
		t.Errorf("Years() = %v", ys)
	}
	// The same through the config.
	c2, err := New(Config{CalendarFiles: []string{f}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Kind(2027, 12, 31); got != NonWorking {
		t.Errorf("CalendarFiles: 2027-12-31 = %v", got)
	}
	if _, err := New(Config{CalendarFiles: []string{filepath.Join(t.TempDir(), "missing.txt")}}, nil, nil); err == nil {
		t.Error("missing calendar file: want an error")
	}
}

// TestBuiltinCalendarMatchesReference compares the built-in calendar day by day with the
// xmlcalendar.ru data in ../shared/data/ru-production-calendar.
func TestBuiltinCalendarMatchesReference(t *testing.T) {
	b, err := os.ReadFile(testenv.SharedFile(t, "data/ru-production-calendar/calendar-ru-2020-2026.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Years map[string]struct {
			Days []struct{ Date, Type string }
		}
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	c, _, _ := newClock(t, Config{})
	for y := 2020; y <= 2026; y++ {
		listed := map[string]string{}
		for _, d := range ref.Years[strconvItoa(y)].Days {
			listed[d.Date] = d.Type
		}
		if len(listed) == 0 {
			t.Fatalf("reference has no days for %d", y)
		}
		working, short := 0, 0
		for d := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == y; d = d.AddDate(0, 0, 1) {
			want := Working
			if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
				want = NonWorking
			}
			switch listed[d.Format(time.DateOnly)] {
			case "nonworking":
				want = NonWorking
			case "short":
				want = Short
			case "working":
				want = Working
			}
			got := c.Kind(d.Year(), d.Month(), d.Day())
			if got != want {
				t.Errorf("%s: built-in %v, reference %v", d.Format(time.DateOnly), got, want)
			}
			if got != NonWorking {
				working++
			}
			if got == Short {
				short++
			}
		}
		t.Logf("%d: %d working days, %d short", y, working, short)
	}
	if got := testutil.ToFloat64(c.fallback); got != 0 {
		t.Errorf("2020–2026 must not use the fallback, got %v years", got)
	}
}

func strconvItoa(y int) string { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") }

func BenchmarkAdd9h(b *testing.B) {
	c, err := New(Config{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 12, 30, 17, 0, 0, 0, c.Location())
	for b.Loop() {
		c.Add(from, 9*time.Hour)
	}
}

func BenchmarkAddDays7(b *testing.B) {
	c, err := New(Config{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 4, 29, 12, 0, 0, 0, c.Location())
	for b.Loop() {
		c.AddDays(from, 7)
	}
}
