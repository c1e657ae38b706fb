// Package config is the daemon's configuration: one YAML file, every setting overridable
// by an environment variable, defaults that run the embedded mode with no file at all.
//
// Each component owns its section's defaults and validation (classifier.Config,
// kafkabus.Config, index.ElasticConfig, …); this package composes them, reads the file,
// applies the environment and validates the whole.
//
// Environment: a setting at YAML path a.b_c is OTKLIK_A_B_C (for example http.addr is
// OTKLIK_HTTP_ADDR, kafka.brokers is OTKLIK_KAFKA_BROKERS, comma-separated). A string
// setting may instead be read from a file named by the same variable with _FILE appended.
// Tokens and passwords are read only from the environment or files, never from the YAML
// file, and never logged.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/otklik/otklik/cases"
	"github.com/otklik/otklik/cases/worktime"
	"github.com/otklik/otklik/classifier"
	"github.com/otklik/otklik/collectors"
	"github.com/otklik/otklik/collectors/agencies"
	"github.com/otklik/otklik/collectors/facebook"
	"github.com/otklik/otklik/collectors/instagram"
	"github.com/otklik/otklik/collectors/ok"
	"github.com/otklik/otklik/collectors/replay"
	"github.com/otklik/otklik/collectors/vk"
	"github.com/otklik/otklik/index"
	"github.com/otklik/otklik/pipeline"
	"github.com/otklik/otklik/pipeline/kafkabus"
)

// Stage names, for Config.Stages.
const (
	StageCollect  = "collect"
	StageClassify = "classify"
	StageIndex    = "index"
	StageCases    = "cases"
)

// AllStages are the stages a single process runs by default.
var allStages = []string{StageCollect, StageClassify, StageIndex, StageCases}

// Bus and index kinds.
const (
	Embedded = "embedded"
	Kafka    = "kafka"
	Elastic  = "elastic"
)

// Config is the daemon's whole configuration.
type Config struct {
	// DataDir holds the embedded bus, the embedded index, collectors' positions and the
	// cases store. Default ./data.
	DataDir string `yaml:"data_dir"`
	// HTTP is the one HTTP server: metrics, health, the curators' API, push receivers.
	HTTP HTTP `yaml:"http"`
	// Log configures the structured log on stderr.
	Log Log `yaml:"log"`
	// Stages lists what this process runs: collect, classify, index, cases. Default all.
	Stages []string `yaml:"stages"`
	// Bus is embedded (default) or kafka.
	Bus string `yaml:"bus"`
	// Index is embedded (default) or elastic (Elasticsearch 8 or OpenSearch 2.x).
	Index string `yaml:"index"`
	// Topics names the bus topics.
	Topics pipeline.Topics `yaml:"topics"`
	// Batch tunes the classify and index stages.
	Batch pipeline.BatchConfig `yaml:"batch"`
	// Kafka configures the Kafka bus (bus: kafka).
	Kafka kafkabus.Config `yaml:"kafka"`
	// Elastic configures the search engine (index: elastic).
	Elastic index.ElasticConfig `yaml:"elastic"`
	// Classifier configures the classifier.
	Classifier classifier.Config `yaml:"classifier"`
	// Poller configures the collectors' shared poller.
	Poller collectors.PollerConfig `yaml:"poller"`
	// Demo replays the bundled demo corpus once (default true).
	Demo bool `yaml:"demo"`
	// Replay lists JSON Lines files to replay.
	Replay []replay.Config `yaml:"replay"`
	// VK configures the VK collector; it is idle until walls or searches are listed.
	VK vk.Config `yaml:"vk"`
	// OK configures the Odnoklassniki collector; idle until groups are listed.
	OK ok.Config `yaml:"ok"`
	// Facebook configures the Facebook collector; disabled by default.
	Facebook facebook.Config `yaml:"facebook"`
	// Instagram configures the Instagram collector; disabled by default.
	Instagram instagram.Config `yaml:"instagram"`
	// Agencies lists each agency's own accounts (point 4 of the regulation); they are
	// collected and checked for at least two posts a week.
	Agencies agencies.Config `yaml:"agencies"`
	// Worktime configures the working-time clock of deadlines.
	Worktime worktime.Config `yaml:"worktime"`
	// Cases configures the workflow of cases.
	Cases cases.Config `yaml:"cases"`
}

// HTTP configures the HTTP server.
type HTTP struct {
	// Addr is host:port. Default 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// ShutdownTimeout bounds the graceful stop of the server. Default 10s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// Default returns the configuration of the embedded mode.
func Default() Config {
	c := Config{
		DataDir: "./data",
		HTTP:    HTTP{Addr: "127.0.0.1:8080", ShutdownTimeout: 10 * time.Second},
		Log:     Log{Level: "info", Format: "text"},
		Stages:  slices.Clone(allStages),
		Bus:     Embedded,
		Index:   Embedded,
		Topics:  pipeline.DefaultTopics(),
		Batch:   pipeline.DefaultBatchConfig(),
		Kafka:   kafkabus.DefaultConfig(),
		Elastic: index.DefaultElasticConfig(),
		Demo:    true,
		Poller:  collectors.DefaultPollerConfig(),
		VK:      vk.DefaultConfig(),
	}
	c.OK = ok.DefaultConfig()
	c.Facebook = facebook.DefaultConfig()
	c.Instagram = instagram.DefaultConfig()
	c.Agencies = agencies.DefaultConfig()
	c.Classifier = classifier.DefaultConfig()
	c.Worktime = worktime.DefaultConfig()
	c.Cases = cases.DefaultConfig()
	return c
}

// Load reads the YAML file at path (none when path is ""), applies the environment read
// through getenv and validates the result.
func Load(path string, getenv func(string) string) (*Config, error) {
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(reflect.ValueOf(&c).Elem(), "OTKLIK", getenv); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.secrets(getenv); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		if path != "" {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

func (c *Config) setDefaults() {
	c.Kafka.SetDefaults()
	c.Elastic.SetDefaults()
	c.Classifier.SetDefaults()
	c.Poller.SetDefaults()
	for i := range c.Replay {
		c.Replay[i].SetDefaults()
	}
	c.VK.SetDefaults()
	c.OK.SetDefaults()
	c.Facebook.SetDefaults()
	c.Instagram.SetDefaults()
	c.Agencies.SetDefaults()
	c.Worktime.SetDefaults()
	c.Cases.SetDefaults()
	// The cases stage reads the classified publications and sends what it cannot handle
	// to the same dead-letter topic as the other stages, unless configured otherwise.
	if c.Cases.SourceTopic == cases.DefaultConfig().SourceTopic {
		c.Cases.SourceTopic = c.Topics.Classified
	}
	if c.Cases.DeadLetter == cases.DefaultConfig().DeadLetter {
		c.Cases.DeadLetter = c.Topics.DeadLetter
	}
}

// secrets fills the tokens that the YAML file may not hold.
func (c *Config) secrets(getenv func(string) string) error {
	for _, s := range []struct {
		env string
		dst *collectors.Secret
	}{
		{"OTKLIK_VK_TOKEN", &c.VK.Token},
		{"OTKLIK_VK_SERVICE_TOKEN", &c.VK.Streaming.Token},
		{"OTKLIK_VK_CALLBACK_SECRET", &c.VK.Callback.Secret},
		{"OTKLIK_OK_TOKEN", &c.OK.Token},
		{"OTKLIK_OK_APP_SECRET", &c.OK.AppSecret},
		{"OTKLIK_FACEBOOK_TOKEN", &c.Facebook.Token},
		{"OTKLIK_FACEBOOK_APP_SECRET", &c.Facebook.AppSecret},
		{"OTKLIK_FACEBOOK_VERIFY_TOKEN", &c.Facebook.VerifyToken},
		{"OTKLIK_INSTAGRAM_TOKEN", &c.Instagram.Token},
		{"OTKLIK_INSTAGRAM_APP_SECRET", &c.Instagram.AppSecret},
		{"OTKLIK_INSTAGRAM_VERIFY_TOKEN", &c.Instagram.VerifyToken},
	} {
		v, err := lookup(s.env, getenv)
		if err != nil {
			return err
		}
		if v != "" {
			*s.dst = collectors.Secret(v)
		}
	}
	return nil
}

// Validate checks the whole configuration and each section the chosen mode uses.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir is empty"))
	}
	if c.HTTP.Addr == "" {
		errs = append(errs, errors.New("http.addr is empty"))
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("http.shutdown_timeout must be positive"))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format %q: want text or json", c.Log.Format))
	}
	if len(c.Stages) == 0 {
		errs = append(errs, errors.New("stages is empty: name at least one of collect, classify, index, cases"))
	}
	for _, s := range c.Stages {
		if !slices.Contains(allStages, s) {
			errs = append(errs, fmt.Errorf("stages: unknown stage %q (want collect, classify, index or cases)", s))
		}
	}
	switch c.Bus {
	case Embedded:
	case Kafka:
		if err := c.Kafka.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("kafka: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("bus %q: want embedded or kafka", c.Bus))
	}
	switch c.Index {
	case Embedded:
	case Elastic:
		if err := c.Elastic.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("elastic: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("index %q: want embedded or elastic", c.Index))
	}
	if c.Bus == Embedded && len(c.Stages) < len(allStages) {
		errs = append(errs, errors.New("stages: the embedded bus lives in one process, so it runs every stage; use bus: kafka to split stages across processes"))
	}
	if err := c.Topics.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("topics: %w", err))
	}
	if err := c.Batch.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("batch: %w", err))
	}
	if err := c.Classifier.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("classifier: %w", err))
	}
	if err := c.Poller.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("poller: %w", err))
	}
	for i, r := range c.Replay {
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("replay[%d]: %w", i, err))
		}
	}
	for _, v := range []struct {
		name string
		err  error
	}{
		{"vk", c.VK.Validate()}, {"ok", c.OK.Validate()}, {"facebook", c.Facebook.Validate()},
		{"instagram", c.Instagram.Validate()}, {"agencies", c.Agencies.Validate()},
	} {
		if v.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.name, v.err))
		}
	}
	if err := c.Worktime.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("worktime: %w", err))
	}
	if err := c.Cases.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("cases: %w", err))
	}
	return errors.Join(errs...)
}

// Runs reports whether this process runs stage.
func (c *Config) Runs(stage string) bool { return slices.Contains(c.Stages, stage) }

var durationType = reflect.TypeOf(time.Duration(0))

// applyEnv sets every field of v from OTKLIK_… variables named after its YAML path.
func applyEnv(v reflect.Value, prefix string, getenv func(string) string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && slices.Contains(strings.Split(opts, ","), "inline") {
			// An embedded `yaml:",inline"` struct's keys belong to the enclosing section.
			if err := applyEnv(v.Field(i), prefix, getenv); err != nil {
				return err
			}
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		name := prefix + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			if err := applyEnv(fv, name, getenv); err != nil {
				return err
			}
			continue
		}
		raw, err := lookup(name, getenv)
		if err != nil {
			return err
		}
		if raw == "" {
			continue
		}
		if err := setFromString(fv, raw); err != nil {
			return fmt.Errorf("%s=%q: %w", name, raw, err)
		}
	}
	return nil
}

// lookup reads name, or the file named by name_FILE.
func lookup(name string, getenv func(string) string) (string, error) {
	if v := getenv(name); v != "" {
		return v, nil
	}
	if path := getenv(name + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

func setFromString(fv reflect.Value, raw string) error {
	if fv.Type() == durationType {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return err
		}
		fv.SetInt(n)
	case reflect.Float64, reflect.Float32:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return err
		}
		fv.SetFloat(x)
	case reflect.Slice:
		parts := strings.Split(raw, ",")
		out := reflect.MakeSlice(fv.Type(), 0, len(parts))
		for _, p := range parts {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			e := reflect.New(fv.Type().Elem()).Elem()
			if e.Kind() == reflect.Struct {
				return errors.New("a list of sections cannot be set from the environment; use the YAML file")
			}
			if err := setFromString(e, p); err != nil {
				return err
			}
			out = reflect.Append(out, e)
		}
		fv.Set(out)
	default:
		return fmt.Errorf("cannot be set from the environment (%s); use the YAML file", fv.Kind())
	}
	return nil
}
