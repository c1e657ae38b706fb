package classifier

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// sharedDir finds ../shared next to the repository root (or $OTKLIK_SHARED). Tests that need
// it skip when it is absent, except under CI=true, where they fail.
func sharedDir(t testing.TB) string {
	t.Helper()
	if s := os.Getenv("OTKLIK_SHARED"); s != "" {
		return s
	}
	d, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			break
		}
		p := filepath.Dir(d)
		if p == d {
			t.Fatal("no go.mod above the package")
		}
		d = p
	}
	s := filepath.Join(filepath.Dir(d), "shared")
	if _, err := os.Stat(s); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data not found at %s (set OTKLIK_SHARED)", s)
		}
		t.Skipf("shared data not found at %s (set OTKLIK_SHARED); skipping", s)
	}
	return s
}

// readTexts reads the "text" field of every line of a JSON Lines file under shared.
func readTexts(t testing.TB, rel string) []string {
	t.Helper()
	path := filepath.Join(sharedDir(t), rel)
	f, err := os.Open(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("%v; skipping", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, r.Text)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
