package testenv

import (
	"path/filepath"
	"testing"
)

func TestSharedDirFollowsTheEnvironment(t *testing.T) {
	t.Setenv("OTKLIK_SHARED", "/somewhere")
	if got := SharedDir(t); got != "/somewhere" {
		t.Fatalf("SharedDir = %s", got)
	}
}

func TestSharedDirIsBesideTheRepository(t *testing.T) {
	t.Setenv("OTKLIK_SHARED", "")
	got := SharedDir(t)
	root, _ := filepath.Abs("../..")
	if got != filepath.Join(filepath.Dir(root), "shared") {
		t.Fatalf("SharedDir = %s, want ../shared beside %s", got, root)
	}
}

func TestKafkaSplitsTheList(t *testing.T) {
	t.Setenv("OTKLIK_TEST_KAFKA", " a:1, ,b:2")
	if got := Kafka(t); len(got) != 2 || got[0] != "a:1" || got[1] != "b:2" {
		t.Fatalf("Kafka = %q", got)
	}
	t.Setenv("OTKLIK_TEST_OPENSEARCH_URL", "http://o")
	t.Setenv("OTKLIK_TEST_ELASTICSEARCH_URL", "")
	if got := Engines(t); len(got) != 1 || got["opensearch"] != "http://o" {
		t.Fatalf("Engines = %v", got)
	}
}
