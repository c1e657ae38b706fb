package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds the otklik binary once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "otklik")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// metric reads the sum of the samples of a metric from /metrics.
func metric(addr, name string) (float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		// name may carry the start of a label set: `metric{stage="index"`.
		if strings.HasPrefix(line, name) && len(line) > len(name) && strings.ContainsRune("{ ,}", rune(line[len(name)])) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum, nil
}

func total(addr, query string) (int64, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/publications?size=1&" + query)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct{ Total int64 }
	err = json.NewDecoder(resp.Body).Decode(&r)
	return r.Total, err
}

// TestKillNineLosesAndDuplicatesNothing replays a file of publications, kills the daemon
// with SIGKILL while it is ingesting, restarts it on the same data directory and checks
// that every publication is indexed exactly once.
func TestKillNineLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	const n = 3000
	in := filepath.Join(dir, "in.jsonl")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"Нет воды в доме на улице Чапаева", "Яма на дороге в Энгельсе", "Спасибо за автобус", "Ты дурак и дебил"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(f, `{"network":"vk","owner":"-7","post_id":"%d","text":"%s №%d","published_at":"2026-11-%02dT10:00:00+04:00"}`+"\n",
			i, texts[i%len(texts)], i, 1+i%27)
	}
	f.Close()
	cfg := filepath.Join(dir, "otklik.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`demo: false
replay:
  - {path: %q, page_size: 20, interval: 50ms}
poller: {interval: 50ms}
batch: {size: 50, linger: 10ms}
`, in)), 0o600)
	addr := freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "run", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--http", addr)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}

	cmd := start()
	// Kill it once the index stage has written a third of the publications.
	deadline := time.Now().Add(60 * time.Second)
	var indexed float64
	for {
		v, err := metric(addr, `otklik_stage_records_out_total{stage="index"`)
		if err == nil && v >= n/3 {
			indexed = v
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("nothing ingested within 60 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	t.Logf("killed with SIGKILL after about %.0f of %d publications were indexed", indexed, n)
	if indexed >= n {
		t.Fatal("the daemon finished before it was killed: make the input larger")
	}

	cmd = start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	var processed, dropped int64
	deadline = time.Now().Add(120 * time.Second)
	for {
		processed, err = total(addr, "")
		if err == nil {
			dropped, err = total(addr, "dropped=true")
		}
		if err == nil && processed+dropped >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart only %d + %d of %d publications indexed", processed, dropped, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Let anything that would be a duplicate arrive, then count again.
	time.Sleep(time.Second)
	processed, _ = total(addr, "")
	dropped, _ = total(addr, "dropped=true")
	if processed+dropped != n {
		t.Fatalf("indexed %d + %d, want exactly %d", processed, dropped, n)
	}
	if dropped != n/4 {
		t.Errorf("dropped %d, want %d (every fourth text is an insult)", dropped, n/4)
	}
	// Each id exactly once: fetch a few by id, across the whole range.
	for _, i := range []int{0, 1, n / 2, n - 1} {
		resp, err := http.Get(fmt.Sprintf("http://%s/api/v1/publications/vk:-7_%d", addr, i))
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("publication %d: %v %v", i, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}
