package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/otklik/otklik/cases/worktime"
	"github.com/otklik/otklik/cmd/otklik/internal/config"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// slaCmd computes working-time deadlines:
//
//	otklik sla add --from 2026-11-30T10:00:00+04:00 --duration 9h
//	otklik sla add --from 2026-11-30T10:00:00Z --days 7
//
// It prints the deadline as one RFC3339 line in the configured zone.
func slaCmd(_ context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintln(c.stderr, "Usage: otklik sla add --from RFC3339 (--duration 9h | --days 7) [--config FILE] [--zone Europe/Saratov] [--shorten-by 1h] [--calendar file]…")
			return flag.ErrHelp
		}
		return fmt.Errorf("%w: want 'otklik sla add --from RFC3339 (--duration D | --days N)'", errUsage)
	}
	fs := newFlags(c, "sla add", "sla add --from RFC3339 (--duration 9h | --days 7) [--config FILE] [--zone Europe/Saratov] [--shorten-by 1h] [--calendar file]…")
	from := fs.String("from", "", "start instant, RFC3339 in any offset (required)")
	dur := fs.Duration("duration", 0, "working duration to add, e.g. 9h, 30m")
	days := fs.Int("days", 0, "working days to add: the deadline is the end of the N-th working day after the start's day")
	cfgPath := fs.String("config", c.getenv("OTKLIK_CONFIG"), "daemon YAML configuration `file` whose worktime section to use (env OTKLIK_CONFIG); none: defaults")
	zone := fs.String("zone", "", "time zone of the working schedule (default: the configuration's, Europe/Saratov)")
	shorten := fs.Duration("shorten-by", 0, "how much earlier a shortened pre-holiday day ends (default: the configuration's, 1h)")
	var files stringList
	fs.Var(&files, "calendar", "extra production-calendar `file` (repeatable), see package cases/worktime for the format")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg := worktime.DefaultConfig()
	if *cfgPath != "" {
		full, err := config.Load(*cfgPath, c.getenv)
		if err != nil {
			return err
		}
		cfg = full.Worktime
	}
	if *zone != "" {
		cfg.Zone = *zone
	}
	if *shorten != 0 {
		cfg.ShortenBy = *shorten
	}
	cfg.CalendarFiles = append(cfg.CalendarFiles, files...)
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if *from == "" {
		return fmt.Errorf("%w: --from is required", errUsage)
	}
	start, err := time.Parse(time.RFC3339, *from)
	if err != nil {
		return fmt.Errorf("%w: --from %q: want RFC 3339 with an offset, e.g. 2026-11-30T10:00:00+04:00", errUsage, *from)
	}
	if (*dur != 0) == (*days != 0) {
		return fmt.Errorf("%w: give exactly one of --duration and --days", errUsage)
	}
	if *dur < 0 || *days < 0 {
		return fmt.Errorf("%w: --duration and --days must be positive", errUsage)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	clock, err := worktime.New(cfg, slog.New(slog.NewTextHandler(c.stderr, nil)), nil)
	if err != nil {
		return err
	}
	var due time.Time
	if *dur != 0 {
		due = clock.Add(start, *dur)
	} else {
		due = clock.AddDays(start, *days)
	}
	fmt.Fprintln(c.stdout, due.Format(time.RFC3339))
	return nil
}
