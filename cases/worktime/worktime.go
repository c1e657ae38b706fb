// Package worktime is Otklik's working-time clock: it adds working durations and working
// days to instants following a weekly schedule with several intervals a day (by default
// Monday–Friday 09:00–13:00 and 14:00–18:00), a time zone (by default Europe/Saratov) and
// the Russian production calendar (non-working holidays, transferred days off, working
// weekends, shortened pre-holiday days).
//
// The calendar for 2020–2026 is built in (calendar-ru.txt, the package's own format, see
// ParseCalendar). For a year with no data the clock falls back to weekends plus the
// statutory holidays of the Labour Code, art. 112, logs it once per year and counts it in
// the otklik_worktime_fallback_years gauge. Operators add a year without a rebuild by
// listing a file in Config.CalendarFiles or calling (*Clock).LoadCalendar.
//
// Semantics:
//   - Add(t, d) is the first instant at which the working time elapsed since t equals d.
//     Counting from non-working time starts at the next working moment, and a deadline that
//     lands exactly on the end of an interval stays there (18:00, not 09:00 the next day).
//   - AddDays(t, n) is the end of the n-th working day after t's day.
//   - Sub(t, d) is the last instant from which d of working time remains until t.
package worktime

import (
	_ "embed" // the built-in calendar
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Saratov must not depend on the machine's tzdata

	"github.com/prometheus/client_golang/prometheus"
)

//go:embed calendar-ru.txt
var builtinCalendar []byte

// BuiltinCalendar returns the built-in production calendar (2020–2026) in the format of
// ParseCalendar.
func BuiltinCalendar() []byte { return append([]byte(nil), builtinCalendar...) }

// Weekday keys of Config.Schedule.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Config configures a Clock.
type Config struct {
	// Zone is the IANA time zone of the schedule. Default Europe/Saratov.
	Zone string `yaml:"zone" json:"zone"`
	// Schedule maps a weekday ("mon" … "sun") to its working intervals, "HH:MM-HH:MM",
	// in increasing order. A weekday absent from the map, or with an empty list, is a day
	// off. Default Monday to Friday 09:00-13:00 and 14:00-18:00. YAML decoded over the
	// defaults merges by weekday: give "fri: []" to make a default working day a day off.
	Schedule map[string][]string `yaml:"schedule" json:"schedule"`
	// ShortenBy is how much earlier a shortened pre-holiday day ends. Default 1h.
	ShortenBy time.Duration `yaml:"shorten_by" json:"shorten_by"`
	// WeekendWorkdayAs is the weekday whose schedule a Saturday or Sunday declared a
	// working day follows, when the schedule has no intervals for that day. Default "mon".
	WeekendWorkdayAs string `yaml:"weekend_workday_as" json:"weekend_workday_as"`
	// CalendarFiles are extra calendar files (format of ParseCalendar) loaded after the
	// built-in calendar; a year present in a file replaces that year entirely.
	CalendarFiles []string `yaml:"calendar_files" json:"calendar_files"`
}

// DefaultConfig returns the configuration of the Saratov regulation.
func DefaultConfig() Config {
	c := Config{}
	c.SetDefaults()
	return c
}

// SetDefaults fills the zero fields with their defaults.
func (c *Config) SetDefaults() {
	if c.Zone == "" {
		c.Zone = "Europe/Saratov"
	}
	if c.Schedule == nil {
		c.Schedule = map[string][]string{}
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
			c.Schedule[d] = []string{"09:00-13:00", "14:00-18:00"}
		}
	}
	if c.ShortenBy == 0 {
		c.ShortenBy = time.Hour
	}
	if c.WeekendWorkdayAs == "" {
		c.WeekendWorkdayAs = "mon"
	}
}

// Validate checks the configuration: a known zone, well-formed increasing intervals, some
// working time in the week, a sane ShortenBy.
func (c *Config) Validate() error {
	_, err := c.compile()
	return err
}

type span struct{ start, end time.Duration } // since midnight, wall clock

type compiled struct {
	loc       *time.Location
	week      [7][]span
	weekendAs time.Weekday
}

func (c *Config) compile() (compiled, error) {
	var out compiled
	loc, err := time.LoadLocation(c.Zone)
	if err != nil || c.Zone == "" {
		return out, fmt.Errorf("worktime: zone %q: unknown time zone", c.Zone)
	}
	out.loc = loc
	var total time.Duration
	for key, ivs := range c.Schedule {
		wd, ok := parseWeekday(key)
		if !ok {
			return out, fmt.Errorf("worktime: schedule: unknown weekday %q (want mon … sun)", key)
		}
		var prev time.Duration = -1
		for _, iv := range ivs {
			s, err := parseSpan(iv)
			if err != nil {
				return out, fmt.Errorf("worktime: schedule %s: %w", key, err)
			}
			if s.start < prev {
				return out, fmt.Errorf("worktime: schedule %s: interval %q overlaps or is out of order", key, iv)
			}
			prev = s.end
			out.week[wd] = append(out.week[wd], s)
			total += s.end - s.start
		}
	}
	if total == 0 {
		return out, errors.New("worktime: schedule has no working time")
	}
	if c.ShortenBy < 0 || c.ShortenBy > 12*time.Hour {
		return out, fmt.Errorf("worktime: shorten_by %v out of range 0..12h", c.ShortenBy)
	}
	wd, ok := parseWeekday(c.WeekendWorkdayAs)
	if !ok {
		return out, fmt.Errorf("worktime: weekend_workday_as: unknown weekday %q", c.WeekendWorkdayAs)
	}
	if len(out.week[wd]) == 0 {
		return out, fmt.Errorf("worktime: weekend_workday_as %q has no working intervals", c.WeekendWorkdayAs)
	}
	out.weekendAs = wd
	return out, nil
}

func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, k := range weekdayKeys {
		if s == k {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

func parseSpan(s string) (span, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return span{}, fmt.Errorf("interval %q: want HH:MM-HH:MM", s)
	}
	start, err1 := parseHHMM(a)
	end, err2 := parseHHMM(b)
	if err := errors.Join(err1, err2); err != nil {
		return span{}, fmt.Errorf("interval %q: %w", s, err)
	}
	if end <= start {
		return span{}, fmt.Errorf("interval %q: end is not after start", s)
	}
	return span{start, end}, nil
}

func parseHHMM(s string) (time.Duration, error) {
	var h, m int
	if n, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || n != 2 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad time %q (want HH:MM)", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// Clock computes working-time deadlines. It is safe for concurrent use.
type Clock struct {
	cfg      compiled
	shorten  time.Duration
	log      *slog.Logger
	fallback prometheus.Gauge

	mu       sync.RWMutex
	years    map[int]*year // from calendar files, or computed fallback
	fellBack map[int]bool
}

// New returns a clock for cfg (defaults filled in), with the built-in calendar and the
// files of cfg.CalendarFiles. It registers otklik_worktime_fallback_years on reg (nil: not
// registered) and logs to logger (nil: discarded).
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Clock, error) {
	cfg.SetDefaults()
	comp, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Clock{
		cfg:     comp,
		shorten: cfg.ShortenBy,
		log:     logger,
		fallback: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "otklik_worktime_fallback_years",
			Help: "Years for which the production calendar is missing and the statutory fallback (weekends and Labour Code art. 112 holidays) is in use.",
		}),
		years:    map[int]*year{},
		fellBack: map[int]bool{},
	}
	if reg != nil {
		if err := reg.Register(c.fallback); err != nil {
			return nil, fmt.Errorf("worktime: register metrics: %w", err)
		}
	}
	if err := c.load(builtinCalendar, "built-in calendar"); err != nil {
		return nil, err
	}
	for _, f := range cfg.CalendarFiles {
		if err := c.LoadCalendar(f); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Location returns the clock's time zone.
func (c *Clock) Location() *time.Location { return c.cfg.loc }

// LoadCalendar reads a calendar file (format of ParseCalendar) and adds its years,
// replacing any data (or fallback) the clock had for them. It can be called at any time.
func (c *Clock) LoadCalendar(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("worktime: calendar: %w", err)
	}
	return c.load(b, path)
}

func (c *Clock) load(b []byte, name string) error {
	ys, err := ParseCalendar(b)
	if err != nil {
		return fmt.Errorf("worktime: %s: %w", name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for y, d := range ys {
		c.years[y] = d
		delete(c.fellBack, y)
	}
	c.fallback.Set(float64(len(c.fellBack)))
	return nil
}

// Years lists the years the clock has calendar data for (not fallback), in order.
func (c *Clock) Years() []int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []int
	for y := range c.years {
		if !c.fellBack[y] {
			out = append(out, y)
		}
	}
	sort.Ints(out)
	return out
}

// DayKind is what a calendar day is.
type DayKind int

// Day kinds.
const (
	Working DayKind = iota
	Short
	NonWorking
)

func (k DayKind) String() string {
	switch k {
	case Working:
		return "working"
	case Short:
		return "short"
	}
	return "nonworking"
}

// Kind returns what the calendar day y-m-d is: working, shortened or non-working, by the
// production calendar (or the fallback) and the ordinary Saturday–Sunday rule. It does not
// look at the weekly schedule.
func (c *Clock) Kind(y int, m time.Month, d int) DayKind {
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	yd := c.year(date.Year())
	switch yd.marks[date.YearDay()] {
	case markHoliday, markOff:
		return NonWorking
	case markShort:
		return Short
	case markWork:
		return Working
	}
	if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return NonWorking
	}
	return Working
}

// year returns the calendar of y, computing the statutory fallback when there is none.
func (c *Clock) year(y int) *year {
	c.mu.RLock()
	d := c.years[y]
	c.mu.RUnlock()
	if d != nil {
		return d
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.years[y]; d != nil {
		return d
	}
	d = fallbackYear(y)
	c.years[y] = d
	c.fellBack[y] = true
	c.fallback.Set(float64(len(c.fellBack)))
	c.log.Warn("worktime: no production calendar for the year, using weekends and Labour Code art. 112 holidays; add the year with a calendar file",
		"year", y)
	return d
}

// intervals returns the working intervals of the day starting at midnight day (in the
// clock's zone), shortened on a pre-holiday day.
func (c *Clock) intervals(day time.Time) []span {
	y, m, d := day.Date()
	kind := c.Kind(y, m, d)
	if kind == NonWorking {
		return nil
	}
	ivs := c.cfg.week[day.Weekday()]
	if len(ivs) == 0 {
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			return nil // the schedule itself has this weekday off
		}
		ivs = c.cfg.week[c.cfg.weekendAs]
	}
	if kind != Short || c.shorten == 0 {
		return ivs
	}
	out := append([]span(nil), ivs...)
	cut := c.shorten
	for i := len(out) - 1; i >= 0 && cut > 0; i-- {
		l := out[i].end - out[i].start
		if l > cut {
			out[i].end -= cut
			break
		}
		cut -= l
		out = out[:i]
	}
	return out
}

// at is the instant of wall-clock offset s on day (midnight in the clock's zone).
func (c *Clock) at(day time.Time, s time.Duration) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, int(s/time.Hour), int(s%time.Hour/time.Minute), int(s%time.Minute/time.Second), 0, c.cfg.loc)
}

func (c *Clock) midnight(t time.Time) time.Time {
	y, m, d := t.In(c.cfg.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.cfg.loc)
}

// maxDays bounds every walk over the calendar (ten years).
const maxDays = 3660

// Add returns the first instant at which the working time elapsed since t equals d, in
// the clock's zone. For d <= 0 it returns t. A deadline that lands exactly on the end of
// a working interval stays there. It returns the zero time only if there is no working
// time at all in the ten years after t.
func (c *Clock) Add(t time.Time, d time.Duration) time.Time {
	t = t.In(c.cfg.loc)
	if d <= 0 {
		return t
	}
	day := c.midnight(t)
	for i := 0; i < maxDays; i++ {
		for _, iv := range c.intervals(day) {
			s, e := c.at(day, iv.start), c.at(day, iv.end)
			if !e.After(t) {
				continue
			}
			if s.Before(t) {
				s = t
			}
			if avail := e.Sub(s); d <= avail {
				return s.Add(d)
			} else {
				d -= avail
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// Sub returns the last instant from which d of working time remains until t, in the
// clock's zone: Add(Sub(t, d), d) is t, or the end of the interval before t when t is the
// start of one (no working time lies between them). A result landing exactly on the start of an interval stays there. For d <= 0 it
// returns t.
func (c *Clock) Sub(t time.Time, d time.Duration) time.Time {
	t = t.In(c.cfg.loc)
	if d <= 0 {
		return t
	}
	day := c.midnight(t)
	for i := 0; i < maxDays; i++ {
		ivs := c.intervals(day)
		for j := len(ivs) - 1; j >= 0; j-- {
			s, e := c.at(day, ivs[j].start), c.at(day, ivs[j].end)
			if !s.Before(t) {
				continue
			}
			if e.After(t) {
				e = t
			}
			if avail := e.Sub(s); d <= avail {
				return e.Add(-d)
			} else {
				d -= avail
			}
		}
		day = day.AddDate(0, 0, -1)
	}
	return time.Time{}
}

// Between returns the working time in [from, to); negative when to is before from.
func (c *Clock) Between(from, to time.Time) time.Duration {
	if to.Before(from) {
		return -c.Between(to, from)
	}
	var total time.Duration
	last := c.midnight(to)
	for day, i := c.midnight(from), 0; !day.After(last) && i < maxDays*10; day, i = day.AddDate(0, 0, 1), i+1 {
		for _, iv := range c.intervals(day) {
			s, e := c.at(day, iv.start), c.at(day, iv.end)
			if s.Before(from) {
				s = from
			}
			if e.After(to) {
				e = to
			}
			if e.After(s) {
				total += e.Sub(s)
			}
		}
	}
	return total
}

// AddDays returns the end of the n-th working day after t's day (in the clock's zone).
// For n <= 0 it returns t.
func (c *Clock) AddDays(t time.Time, n int) time.Time {
	t = t.In(c.cfg.loc)
	if n <= 0 {
		return t
	}
	day := c.midnight(t)
	for i := 0; i < maxDays; i++ {
		day = day.AddDate(0, 0, 1)
		ivs := c.intervals(day)
		if len(ivs) == 0 {
			continue
		}
		if n--; n == 0 {
			return c.at(day, ivs[len(ivs)-1].end)
		}
	}
	return time.Time{}
}

// Working reports whether t is a working moment (inside a working interval).
func (c *Clock) Working(t time.Time) bool {
	t = t.In(c.cfg.loc)
	day := c.midnight(t)
	for _, iv := range c.intervals(day) {
		if !t.Before(c.at(day, iv.start)) && t.Before(c.at(day, iv.end)) {
			return true
		}
	}
	return false
}
