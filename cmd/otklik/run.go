package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/otklik/otklik/cmd/otklik/internal/config"
)

func runCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "run", "run [--config FILE] [--http ADDR] [--data-dir DIR]")
	cfgPath := fs.String("config", c.getenv("OTKLIK_CONFIG"), "YAML configuration `file` (env OTKLIK_CONFIG); none: embedded defaults")
	httpAddr := fs.String("http", "", "HTTP listen `address` (env OTKLIK_HTTP_ADDR; default 127.0.0.1:8080)")
	dataDir := fs.String("data-dir", "", "data `directory` of the embedded bus, index and positions (env OTKLIK_DATA_DIR; default ./data)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := config.Load(*cfgPath, c.getenv)
	if err != nil {
		return err
	}
	if *httpAddr != "" {
		cfg.HTTP.Addr = *httpAddr
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	logger := newLogger(c, cfg.Log)
	d, err := newDaemon(cfg, logger)
	if err != nil {
		logger.Error("otklik could not start", "err", err)
		return err
	}
	return d.run(ctx)
}

func newLogger(c *cli, lc config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(lc.Level))
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}
