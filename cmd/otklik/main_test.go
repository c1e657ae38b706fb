package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otklik/otklik/cases"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = dispatch(context.Background(), c, args)
	return code, out.String(), errb.String()
}

func TestDispatch(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"version"}, 0, "otklik dev", ""},
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"help"}, 0, "classify", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"version", "--bogus"}, 2, "", "flag provided but not defined"},
		{[]string{"run", "--help"}, 0, "", "--data-dir"},
		{[]string{"run", "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"run", "--config", "/nonexistent.yaml"}, 1, "", "no such file"},
		{[]string{"hash"}, 2, "", "exactly one of"},
		{[]string{"hash", "--token"}, 0, "token_sha256: ", ""},
		{[]string{"hash", "--password"}, 2, "", "no password on stdin"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.errs) {
				t.Fatalf("code %d out %q err %q; want code %d, out with %q, err with %q", code, out, errs, tc.code, tc.out, tc.errs)
			}
		})
	}
}

func TestHashPasswordVerifies(t *testing.T) {
	var out bytes.Buffer
	c := &cli{stdin: strings.NewReader("секрет\n"), stdout: &out, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
	if code := dispatch(context.Background(), c, []string{"hash", "--password"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	h := strings.TrimPrefix(strings.TrimSpace(out.String()), "password_hash: ")
	if h == "" || strings.Contains(h, "секрет") {
		t.Fatalf("hash %q", h)
	}
	// The hash is accepted by the cases configuration.
	cfg := cases.DefaultConfig()
	cfg.Users = []cases.User{{Name: "ivanova", Role: "curator", PasswordHash: h}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("cases config rejects the hash: %v", err)
	}
}

// TestEvalReadsConfig checks that otklik eval evaluates the classifier the daemon's
// configuration describes, and that its flags override it.
func TestEvalReadsConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "otklik.yaml")
	if err := os.WriteFile(cfg, []byte("classifier:\n  no_toxic_model: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		withLR bool
	}{
		{[]string{"eval", "--set", ""}, true},
		{[]string{"eval", "--config", cfg, "--set", ""}, false},
		{[]string{"eval", "--config", filepath.Join(dir, "missing.yaml"), "--set", ""}, false},
	} {
		code, out, errs := runCLI(tc.args...)
		if strings.Contains(tc.args[2], "missing") {
			if code == 0 || !strings.Contains(errs, "missing.yaml") {
				t.Errorf("%v: code %d, stderr %q; want a failure naming the file", tc.args, code, errs)
			}
			continue
		}
		if code != 0 {
			t.Fatalf("%v: code %d, stderr %s", tc.args, code, errs)
		}
		if got := strings.Contains(out, "+lr/"); got != tc.withLR {
			t.Errorf("%v: toxic model in %q is %v, want %v", tc.args, strings.SplitN(out, "\n", 2)[0], got, tc.withLR)
		}
	}
}
