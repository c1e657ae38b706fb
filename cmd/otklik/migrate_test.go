package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/otklik/otklik/index"
	"github.com/otklik/otklik/internal/testenv"
	"github.com/otklik/otklik/pipeline"
	"github.com/otklik/otklik/pipeline/kafkabus"
)

func TestMigrateUsage(t *testing.T) {
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := dispatch(context.Background(), c, []string{"migrate"}); code != 2 {
		t.Fatalf("migrate without servers: exit %d, want 2 (stderr %q)", code, errb.String())
	}
	if !strings.Contains(errb.String(), "--brokers") {
		t.Errorf("the usage error does not say what to set: %q", errb.String())
	}
}

func TestTopicSpecs(t *testing.T) {
	specs := topicSpecs(pipeline.DefaultTopics(), "otklik.cases", 48*time.Hour)
	names := map[string]time.Duration{}
	for _, s := range specs {
		names[s.Name] = s.Retention
	}
	want := []string{"otklik.raw", "otklik.classified", "otklik.dropped", "otklik.deadletter", "otklik.cases"}
	if len(specs) != len(want) {
		t.Fatalf("specs %v, want %v", specs, want)
	}
	for _, n := range want {
		if _, ok := names[n]; !ok {
			t.Errorf("topic %s missing", n)
		}
	}
	if names["otklik.deadletter"] != 48*time.Hour || names["otklik.raw"] != 0 || names["otklik.cases"] >= 0 {
		t.Errorf("retentions %v: the dead-letter topic keeps its own, cases for ever, the others the default", names)
	}
	if len(topicSpecs(pipeline.DefaultTopics(), "", 0)) != 4 {
		t.Error("an empty cases topic is still created")
	}
}

// TestMigrateIntegration runs otklik migrate twice against the real servers
// (OTKLIK_TEST_KAFKA, OTKLIK_TEST_OPENSEARCH_URL).
func TestMigrateIntegration(t *testing.T) {
	brokers, url := strings.Join(testenv.Kafka(t), ","), testenv.OpenSearch(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := fmt.Sprintf("otklik-mig-%d", time.Now().UnixNano())
	args := []string{"migrate", "--brokers", brokers, "--elastic", url, "--alias", p, "--partitions", "2",
		"--topic-raw", p + ".raw", "--topic-classified", p + ".classified", "--topic-dropped", p + ".dropped",
		"--topic-deadletter", p + ".deadletter", "--topic-cases", p + ".cases"}
	bus, err := kafkabus.New(kafkabus.Config{Brokers: strings.Split(brokers, ",")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	cfg := index.DefaultElasticConfig()
	cfg.URLs, cfg.Alias = []string{url}, p
	es, err := index.NewElastic(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bus.DeleteTopics(context.Background(), p+".raw", p+".classified", p+".dropped", p+".deadletter", p+".cases")
		es.Drop(context.Background())
	})
	for round := range 2 {
		var out, errb bytes.Buffer
		c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		if code := dispatch(ctx, c, args); code != 0 {
			t.Fatalf("round %d: exit %d: %s", round, code, errb.String())
		}
	}
	lags, err := bus.Lag(ctx, p+"-nobody", p+".raw", p+".classified", p+".dropped", p+".deadletter", p+".cases")
	if err != nil {
		t.Fatal(err)
	}
	if len(lags) != 10 {
		t.Errorf("%d partitions, want 5 topics × 2", len(lags))
	}
	if _, err := es.Search(ctx, index.Query{}); err != nil {
		t.Errorf("search the new alias: %v", err)
	}
	if n, err := es.Count(ctx); err != nil || n != 0 {
		t.Errorf("count = %d, %v", n, err)
	}
}
