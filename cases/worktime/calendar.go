package worktime

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

type mark uint8

const (
	markNone mark = iota
	markHoliday
	markOff
	markWork
	markShort
)

var markNames = map[string]mark{"holiday": markHoliday, "off": markOff, "work": markWork, "short": markShort}

// year is one year of the calendar: a mark per day of the year (index YearDay, 1-based).
type year struct {
	marks [367]mark
}

// ParseCalendar parses a calendar in Otklik's format: one record per line,
//
//	<year> <kind> <date> [<date>…]   # comment
//
// where kind is holiday (non-working public holiday), off (transferred day off, or a
// non-working day by decree), work (a Saturday or Sunday that is a working day) or short
// (a shortened pre-holiday working day, which on a weekend is also a working day), and a
// date is MM-DD or an inclusive range MM-DD..MM-DD. Days not listed follow the ordinary
// Monday–Friday rule. A day listed twice with different kinds is an error.
func ParseCalendar(b []byte) (map[int]*year, error) {
	out := map[int]*year{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: want <year> <kind> <dates…>", n)
		}
		y, err := strconv.Atoi(f[0])
		if err != nil || y < 1970 || y > 2200 {
			return nil, fmt.Errorf("line %d: bad year %q", n, f[0])
		}
		k, ok := markNames[f[1]]
		if !ok {
			return nil, fmt.Errorf("line %d: unknown kind %q (want holiday, off, work or short)", n, f[1])
		}
		yd := out[y]
		if yd == nil {
			yd = &year{}
			out[y] = yd
		}
		for _, tok := range f[2:] {
			a, b, isRange := strings.Cut(tok, "..")
			from, err := parseMD(y, a)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			to := from
			if isRange {
				if to, err = parseMD(y, b); err != nil {
					return nil, fmt.Errorf("line %d: %w", n, err)
				}
				if to.Before(from) {
					return nil, fmt.Errorf("line %d: range %q ends before it starts", n, tok)
				}
			}
			for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
				wd := d.Weekday()
				if k == markWork && wd != time.Saturday && wd != time.Sunday {
					return nil, fmt.Errorf("line %d: %s is a %s, not a weekend day: 'work' is for working weekends", n, d.Format(time.DateOnly), wd)
				}
				i := d.YearDay()
				if prev := yd.marks[i]; prev != markNone && prev != k {
					return nil, fmt.Errorf("line %d: %s is listed twice with different kinds", n, d.Format(time.DateOnly))
				}
				yd.marks[i] = k
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseMD(y int, s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", fmt.Sprintf("%04d-%s", y, s))
	if err != nil {
		return time.Time{}, fmt.Errorf("bad date %q (want MM-DD)", s)
	}
	return t, nil
}

// statutoryHolidays are the non-working public holidays of the Labour Code, art. 112.
var statutoryHolidays = [...]struct {
	m time.Month
	d int
}{
	{1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 6}, {1, 7}, {1, 8},
	{2, 23}, {3, 8}, {5, 1}, {5, 9}, {6, 12}, {11, 4},
}

// fallbackYear is the calendar of a year with no data: the art. 112 holidays; a holiday
// other than the January ones that falls on a weekend moves the day off to the next
// working day; the working day before a holiday (including 31 December) is shortened.
func fallbackYear(y int) *year {
	yd := &year{}
	weekend := func(t time.Time) bool { return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday }
	for _, h := range statutoryHolidays {
		yd.marks[time.Date(y, h.m, h.d, 0, 0, 0, 0, time.UTC).YearDay()] = markHoliday
	}
	for _, h := range statutoryHolidays {
		t := time.Date(y, h.m, h.d, 0, 0, 0, 0, time.UTC)
		if h.m == time.January || !weekend(t) {
			continue
		}
		for d := t.AddDate(0, 0, 1); d.Year() == y; d = d.AddDate(0, 0, 1) {
			if !weekend(d) && yd.marks[d.YearDay()] == markNone {
				yd.marks[d.YearDay()] = markOff
				break
			}
		}
	}
	for _, h := range statutoryHolidays {
		prev := time.Date(y, h.m, h.d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
		if prev.Year() == y && !weekend(prev) && yd.marks[prev.YearDay()] == markNone {
			yd.marks[prev.YearDay()] = markShort
		}
	}
	if dec31 := time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC); !weekend(dec31) && yd.marks[dec31.YearDay()] == markNone {
		yd.marks[dec31.YearDay()] = markShort
	}
	return yd
}
