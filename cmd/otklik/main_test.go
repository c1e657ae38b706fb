package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.errs) {
				t.Fatalf("code %d out %q err %q; want code %d, out with %q, err with %q", code, out, errs, tc.code, tc.out, tc.errs)
			}
		})
	}
}
