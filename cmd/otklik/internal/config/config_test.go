package config

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsNeedNoFile(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Bus != Embedded || c.Index != Embedded || c.HTTP.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || !c.Demo {
		t.Fatalf("defaults: %+v", c)
	}
	if !slices.Equal(c.Stages, []string{"collect", "classify", "index", "cases"}) {
		t.Fatalf("stages %v", c.Stages)
	}
	if c.Cases.SourceTopic != c.Topics.Classified {
		t.Fatalf("cases read %q, classified publications are on %q", c.Cases.SourceTopic, c.Topics.Classified)
	}
}

func TestGoodFiles(t *testing.T) {
	c, err := Load("testdata/good-production.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Bus != Kafka || c.Index != Elastic || len(c.Kafka.Brokers) != 2 || c.Kafka.ReplicationFactor != 3 ||
		c.Elastic.URLs[0] != "http://opensearch:9200" || c.Demo || c.Classifier.Routing["animals"] != "Комитет по ветеринарии" {
		t.Fatalf("production file: %+v", c)
	}
	// Defaults still fill what the file leaves out.
	if c.Kafka.ClientID == "" || c.Batch.Size == 0 {
		t.Fatalf("defaults lost: client id %q batch %d", c.Kafka.ClientID, c.Batch.Size)
	}
	if _, err := Load("testdata/good-empty.yaml", env(nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("../../../../deployments/otklik.example.yaml", env(nil)); err != nil {
		t.Fatalf("the documented example must load: %v", err)
	}
}

func TestBadFiles(t *testing.T) {
	for file, wants := range map[string][]string{
		"bad-unknown-key.yaml":    {"adress"},
		"bad-values.yaml":         {`bus "rabbitmq"`, `index "solr"`, `unknown stage "answer"`, `log.level "loud"`, "batch size 0", `"weather"`},
		"bad-embedded-split.yaml": {"use bus: kafka"},
		"does-not-exist.yaml":     {"no such file"},
	} {
		_, err := Load(filepath.Join("testdata", file), env(nil))
		if err == nil {
			t.Errorf("%s accepted", file)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", file, err, w)
			}
		}
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("vk1.secret-token\n"), 0o600)
	c, err := Load("testdata/good-production.yaml", env(map[string]string{
		"OTKLIK_HTTP_ADDR":        "127.0.0.1:9999",
		"OTKLIK_KAFKA_BROKERS":    "a:1, b:2,c:3",
		"OTKLIK_BATCH_LINGER":     "1s",
		"OTKLIK_DEMO":             "true",
		"OTKLIK_STAGES":           "index",
		"OTKLIK_ELASTIC_PASSWORD": "pw",
		"OTKLIK_ELASTIC_USERNAME": "otklik",
		"OTKLIK_VK_TOKEN_FILE":    tokenFile,
		"OTKLIK_KAFKA_PARTITIONS": "6",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:9999" || !slices.Equal(c.Kafka.Brokers, []string{"a:1", "b:2", "c:3"}) ||
		c.Batch.Linger != time.Second || !c.Demo || !slices.Equal(c.Stages, []string{"index"}) ||
		c.Elastic.Password != "pw" || c.VK.Token.Reveal() != "vk1.secret-token" || c.Kafka.Partitions != 6 {
		t.Fatalf("overrides not applied: %+v", c)
	}
	for name, val := range map[string]string{"OTKLIK_BATCH_LINGER": "soon", "OTKLIK_DEMO": "yes please", "OTKLIK_KAFKA_PARTITIONS": "many"} {
		if _, err := Load("", env(map[string]string{name: val})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: error %v should name the variable", name, val, err)
		}
	}
	if _, err := Load("", env(map[string]string{"OTKLIK_VK_TOKEN_FILE": "/nonexistent/token"})); err == nil {
		t.Error("missing token file accepted")
	}
}

// Sections that embed shared settings with `yaml:",inline"` (facebook and instagram embed
// graph.AppConfig) keep the variables named after their YAML path.
func TestEnvironmentOverridesInlineSettings(t *testing.T) {
	c, err := Load("", env(map[string]string{
		"OTKLIK_FACEBOOK_ENABLED": "true", "OTKLIK_FACEBOOK_PAGES": "1047", "OTKLIK_FACEBOOK_TOKEN": "fb-token",
		"OTKLIK_FACEBOOK_INTERVAL": "7m", "OTKLIK_INSTAGRAM_REQUESTS_PER_SECOND": "0.25", "OTKLIK_INSTAGRAM_VERSION": "v22.0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Facebook.Enabled || !slices.Equal(c.Facebook.Pages, []string{"1047"}) || c.Facebook.Token.Reveal() != "fb-token" ||
		c.Facebook.Interval != 7*time.Minute || c.Instagram.RequestsPerSecond != 0.25 || c.Instagram.Version != "v22.0" {
		t.Fatalf("overrides not applied: %+v %+v", c.Facebook, c.Instagram)
	}
}

// keys lists the mapping-key paths of a YAML document (descending into the first
// element of lists).
func keys(n *yaml.Node, prefix string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			keys(c, prefix, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := prefix + "." + n.Content[i].Value
			out[p] = true
			keys(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		if len(n.Content) > 0 {
			keys(n.Content[0], prefix+"[]", out)
		}
	}
}

// The example file documents every key the configuration has: a new setting without
// its line in deployments/otklik.example.yaml fails here.
func TestExampleDocumentsEveryKey(t *testing.T) {
	c := Default()
	c.setDefaults()
	b, err := yaml.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	var want, got yaml.Node
	if err := yaml.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	ex, err := os.ReadFile("../../../../deployments/otklik.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(ex, &got); err != nil {
		t.Fatal(err)
	}
	wk, gk := map[string]bool{}, map[string]bool{}
	keys(&want, "", wk)
	keys(&got, "", gk)
	for k := range wk {
		if !gk[k] && !strings.HasPrefix(k, ".worktime.schedule.") {
			t.Errorf("deployments/otklik.example.yaml does not document %s", k[1:])
		}
	}
}

var update = flag.Bool("update", false, "rewrite deployments/otklik.example.yaml from the defaults, keeping its comments")

// TestUpdateExample regenerates the example with -update: every key with its default,
// under the comment each top-level section already had (new sections get a placeholder
// comment to fill in by hand).
func TestUpdateExample(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate deployments/otklik.example.yaml")
	}
	const path = "../../../../deployments/otklik.example.yaml"
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The header is everything before the first section's comment block.
	lines := strings.Split(string(old), "\n")
	header, comments, block := []string{}, map[string][]string{}, []string{}
	inHeader := true
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "#") || l == "":
			block = append(block, l)
		case !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-"):
			if inHeader {
				// The header ends at the last blank line before the first section.
				cut := 0
				for i, b := range block {
					if b == "" {
						cut = i + 1
					}
				}
				header, block = block[:cut], block[cut:]
				inHeader = false
			}
			comments[strings.SplitN(l, ":", 2)[0]] = block
			block = nil
		default:
			block = nil
		}
	}
	c := Default()
	c.setDefaults()
	var buf strings.Builder
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&c); err != nil {
		t.Fatal(err)
	}
	out := append([]string{}, header...)
	for _, l := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		if !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-") {
			key := strings.SplitN(l, ":", 2)[0]
			cm, ok := comments[key]
			if !ok {
				cm = []string{"", "# " + key + ": TODO describe this section."}
			}
			out = append(out, cm...)
		}
		out = append(out, l)
	}
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
