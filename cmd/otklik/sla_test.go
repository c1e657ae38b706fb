package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSlaAdd(t *testing.T) {
	cal := filepath.Join(t.TempDir(), "2027.txt")
	if err := os.WriteFile(cal, []byte("2027 holiday 01-01..01-08\n2027 off 01-11\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The daemon's configuration: another schedule (08:00-17:00, Moscow time).
	conf := filepath.Join(t.TempDir(), "otklik.yaml")
	if err := os.WriteFile(conf, []byte("worktime:\n  zone: Europe/Moscow\n  schedule:\n    mon: [\"08:00-17:00\"]\n    tue: [\"08:00-17:00\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args     []string
		code     int
		stdout   string
		stderrIn string
	}{
		{[]string{"sla", "add", "--from", "2026-11-30T10:00:00+04:00", "--duration", "9h"}, 0, "2026-12-01T11:00:00+04:00\n", ""},
		{[]string{"sla", "add", "--from", "2026-11-30T09:00:00+04:00", "--duration", "8h"}, 0, "2026-11-30T18:00:00+04:00\n", ""},
		{[]string{"sla", "add", "--from", "2026-11-30T05:00:00Z", "--duration", "30m"}, 0, "2026-11-30T09:30:00+04:00\n", ""},
		{[]string{"sla", "add", "--from", "2026-11-03T16:00:00+04:00", "--duration", "90m"}, 0, "2026-11-05T09:30:00+04:00\n", ""},
		{[]string{"sla", "add", "--from", "2026-04-29T12:00:00+03:00", "--days", "7"}, 0, "2026-05-12T18:00:00+04:00\n", ""},
		{[]string{"sla", "add", "--from", "2026-11-30T10:00:00+04:00", "--duration", "1h", "--zone", "Europe/Moscow"}, 0, "2026-11-30T10:00:00+03:00\n", ""},
		{[]string{"sla", "add", "--from", "2026-12-30T17:00:00+04:00", "--duration", "2h"}, 0, "2027-01-11T10:00:00+04:00\n", "no production calendar"},
		{[]string{"sla", "add", "--from", "2026-12-30T17:00:00+04:00", "--duration", "2h", "--calendar", cal}, 0, "2027-01-12T10:00:00+04:00\n", ""},
		{[]string{"sla", "add", "--from", "2026-11-30T16:00:00+03:00", "--duration", "2h", "--config", conf}, 0, "2026-12-01T09:00:00+03:00\n", ""},
		{[]string{"sla", "add", "--from", "2026-11-30T16:00:00+03:00", "--duration", "2h", "--config", conf, "--zone", "Europe/Saratov"}, 0, "2026-12-01T10:00:00+04:00\n", ""},
		{[]string{"sla", "add", "--from", "2026-11-30T16:00:00+03:00", "--duration", "1h", "--config", filepath.Join(t.TempDir(), "none.yaml")}, 1, "", "none.yaml"},
		{[]string{"sla", "add", "--from", "2026-11-30", "--duration", "9h"}, 2, "", "--from"},
		{[]string{"sla", "add", "--from", "2026-11-30T10:00:00Z"}, 2, "", "exactly one"},
		{[]string{"sla", "add", "--from", "2026-11-30T10:00:00Z", "--duration", "1h", "--days", "1"}, 2, "", "exactly one"},
		{[]string{"sla", "add", "--duration", "1h"}, 2, "", "--from is required"},
		{[]string{"sla", "add", "--from", "2026-11-30T10:00:00Z", "--duration", "1h", "--zone", "Nowhere/City"}, 2, "", "unknown time zone"},
		{[]string{"sla"}, 2, "", "sla add"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := dispatch(context.Background(), &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, tt.args)
		if code != tt.code || out.String() != tt.stdout || !strings.Contains(errb.String(), tt.stderrIn) {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want %d, %q, stderr containing %q", tt.args, code, out.String(), errb.String(), tt.code, tt.stdout, tt.stderrIn)
		}
	}
}
