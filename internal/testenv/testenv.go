// Package testenv tells tests where the real things they need are: the Kafka broker and
// search engines started by deployments/services/up.sh, and the shared data sets beside
// the repository (../shared). A test that lacks one is skipped with a message saying how
// to provide it, except in CI (CI=true), where it fails: CI must not pass by skipping.
//
// It is imported by _test.go files only.
package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Need skips t with msg, or fails it when CI=true.
func Need(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: required)")
	}
	t.Skip(msg)
}

const upHint = ` (eval "$(deployments/services/up.sh)")`

// Kafka returns the brokers of OTKLIK_TEST_KAFKA.
func Kafka(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, b := range strings.Split(os.Getenv("OTKLIK_TEST_KAFKA"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		Need(t, "no Kafka broker: set OTKLIK_TEST_KAFKA"+upHint)
	}
	return out
}

// Engines returns the search engines to test against, by name ("opensearch",
// "elasticsearch"), from OTKLIK_TEST_OPENSEARCH_URL and OTKLIK_TEST_ELASTICSEARCH_URL.
func Engines(t testing.TB) map[string]string {
	t.Helper()
	urls := map[string]string{}
	if u := os.Getenv("OTKLIK_TEST_OPENSEARCH_URL"); u != "" {
		urls["opensearch"] = u
	}
	if u := os.Getenv("OTKLIK_TEST_ELASTICSEARCH_URL"); u != "" {
		urls["elasticsearch"] = u
	}
	if len(urls) == 0 {
		Need(t, "no search engine: set OTKLIK_TEST_OPENSEARCH_URL and/or OTKLIK_TEST_ELASTICSEARCH_URL"+upHint)
	}
	return urls
}

// OpenSearch returns OTKLIK_TEST_OPENSEARCH_URL.
func OpenSearch(t testing.TB) string {
	t.Helper()
	u := os.Getenv("OTKLIK_TEST_OPENSEARCH_URL")
	if u == "" {
		Need(t, "no OpenSearch: set OTKLIK_TEST_OPENSEARCH_URL"+upHint)
	}
	return u
}

// Ctl returns deployments/services/ctl.sh from OTKLIK_TEST_SERVICES_CTL, for fault tests
// that stop and start the servers.
func Ctl(t testing.TB) string {
	t.Helper()
	v := os.Getenv("OTKLIK_TEST_SERVICES_CTL")
	if v == "" {
		Need(t, "fault tests need the services' control script: set OTKLIK_TEST_SERVICES_CTL"+upHint)
	}
	return v
}

// SharedDir returns the shared data folder: OTKLIK_SHARED, or ../shared beside the
// repository root (the folder with go.mod above the working directory). It does not check
// that the folder exists; SharedFile does.
func SharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("OTKLIK_SHARED"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// SharedFile returns the path of rel (slash-separated) under the shared data folder,
// skipping the test (failing it in CI) when the file is not there.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedDir(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		Need(t, "shared data missing: "+p+" (set OTKLIK_SHARED to the shared folder)")
	}
	return p
}
