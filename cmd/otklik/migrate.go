package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/otklik/otklik/cases/esstore"
	"github.com/otklik/otklik/cmd/otklik/internal/config"
	"github.com/otklik/otklik/index"
	"github.com/otklik/otklik/pipeline"
	"github.com/otklik/otklik/pipeline/kafkabus"
)

// migrateCmd creates the Kafka topics and the search engine's index template and alias.
// Both steps are idempotent: run it before every deployment.
func migrateCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "migrate", "migrate [--config FILE] [--brokers HOST:PORT,…] [--elastic URL,…] [flags]")
	cfgPath := fs.String("config", c.getenv("OTKLIK_CONFIG"), "YAML configuration `file` (env OTKLIK_CONFIG): its kafka, elastic, topics and cases sections are used")
	brokers := fs.String("brokers", "", "Kafka `brokers`, comma-separated (default: kafka.brokers when bus is kafka; env OTKLIK_KAFKA_BROKERS); empty: skip Kafka")
	elastic := fs.String("elastic", "", "search engine `URLs`, comma-separated (default: elastic.urls when index is elastic; env OTKLIK_ELASTIC_URLS); empty: skip the engine")
	alias := fs.String("alias", "", "read `alias` and prefix of the monthly indices (default elastic.alias)")
	replicas := fs.Int("replicas", -1, "replicas of each monthly index (default elastic.replicas)")
	analyzer := fs.String("analyzer", "", "text `analyzer`: russian, or standard for a server without the analysis-common module (default elastic.analyzer)")
	partitions := fs.Int("partitions", 0, "partitions of each topic (default kafka.partitions)")
	replication := fs.Int("replication-factor", 0, "replication factor of each topic (default kafka.replication_factor)")
	retention := fs.Duration("retention", 0, "retention of the pipeline topics (default kafka.retention)")
	deadRetention := fs.Duration("deadletter-retention", 30*24*time.Hour, "retention of the dead-letter topic (records wait there for review)")
	raw := fs.String("topic-raw", "", "raw publications topic (default topics.raw)")
	classified := fs.String("topic-classified", "", "classified publications topic (default topics.classified)")
	dropped := fs.String("topic-dropped", "", "dropped (point 16) publications topic (default topics.dropped)")
	dead := fs.String("topic-deadletter", "", "dead-letter topic (default topics.dead_letter)")
	casesTopic := fs.String("topic-cases", "", "case events topic, kept for ever (default cases.topic)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := config.Load(*cfgPath, c.getenv)
	if err != nil {
		return err
	}
	m := migration{deadRetention: *deadRetention, kafka: cfg.Kafka, elastic: cfg.Elastic, topics: cfg.Topics, casesTopic: cfg.Cases.Topic}
	if cfg.Bus == config.Kafka {
		m.brokers = cfg.Kafka.Brokers
	}
	if cfg.Index == config.Elastic {
		m.urls = cfg.Elastic.URLs
	}
	if *brokers != "" {
		m.brokers = splitList(*brokers)
	}
	if *elastic != "" {
		m.urls = splitList(*elastic)
	}
	for flagValue, dst := range map[string]*string{*alias: &m.elastic.Alias, *analyzer: &m.elastic.Analyzer, *raw: &m.topics.Raw,
		*classified: &m.topics.Classified, *dropped: &m.topics.Dropped, *dead: &m.topics.DeadLetter, *casesTopic: &m.casesTopic} {
		if flagValue != "" {
			*dst = flagValue
		}
	}
	if *replicas >= 0 {
		m.elastic.Replicas = *replicas
	}
	if *partitions > 0 {
		m.kafka.Partitions = *partitions
	}
	if *replication > 0 {
		m.kafka.ReplicationFactor = *replication
	}
	if *retention != 0 {
		m.kafka.Retention = *retention
	}
	if len(m.brokers) == 0 && len(m.urls) == 0 {
		return fmt.Errorf("%w: nothing to migrate: set --brokers and/or --elastic (or bus: kafka / index: elastic in the configuration)", errUsage)
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return m.run(ctx, logger, c.stdout)
}

// migration is what migrate creates: Kafka topics when brokers are set, the index
// template, alias and cases indices when urls are set.
type migration struct {
	brokers, urls []string
	kafka         kafkabus.Config
	elastic       index.ElasticConfig
	topics        pipeline.Topics
	casesTopic    string
	deadRetention time.Duration
}

// newMigration is the migration a daemon with cfg needs at start-up.
func newMigration(cfg *config.Config) migration {
	m := migration{deadRetention: 30 * 24 * time.Hour, kafka: cfg.Kafka, elastic: cfg.Elastic, topics: cfg.Topics, casesTopic: cfg.Cases.Topic}
	if cfg.Bus == config.Kafka {
		m.brokers = cfg.Kafka.Brokers
	}
	if cfg.Index == config.Elastic {
		m.urls = cfg.Elastic.URLs
	}
	return m
}

// run creates what is missing; it is idempotent. out, if not nil, gets one line per step.
func (m migration) run(ctx context.Context, logger *slog.Logger, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	if len(m.brokers) > 0 {
		m.kafka.Brokers = m.brokers
		specs := topicSpecs(m.topics, m.casesTopic, m.deadRetention)
		if err := migrateKafka(ctx, m.kafka, specs, logger); err != nil {
			return err
		}
		names := make([]string, len(specs))
		for i, s := range specs {
			names[i] = s.Name
		}
		fmt.Fprintf(out, "kafka %s: topics ready: %s\n", strings.Join(m.brokers, ","), strings.Join(names, ", "))
	}
	if len(m.urls) > 0 {
		m.elastic.URLs = m.urls
		if err := migrateElastic(ctx, m.elastic, logger); err != nil {
			return err
		}
		es, err := esstore.New(casesStoreConfig(m.elastic))
		if err != nil {
			return err
		}
		if err := es.Migrate(ctx); err != nil {
			return fmt.Errorf("cases indices: %w", err)
		}
		fmt.Fprintf(out, "search engine %s: index template %s, indices %s-YYYY.MM, alias %s, cases indices ready\n",
			strings.Join(m.urls, ","), m.elastic.Alias, m.elastic.Alias, m.elastic.Alias)
	}
	return nil
}

// casesStoreConfig is where cases are projected in a search engine: beside the
// publications, under the same credentials.
func casesStoreConfig(ec index.ElasticConfig) esstore.Config {
	c := esstore.Config{URLs: ec.URLs, Username: ec.Username, Password: ec.Password, Index: ec.Alias + "-cases"}
	c.SetDefaults()
	return c
}

// topicSpecs lists the topics of the pipeline (and the cases topic unless empty). The
// dead-letter topic keeps its records deadRetention, the cases topic for ever; the others
// take the bus defaults.
func topicSpecs(t pipeline.Topics, cases string, deadRetention time.Duration) []kafkabus.TopicSpec {
	specs := []kafkabus.TopicSpec{
		{Name: t.Raw},
		{Name: t.Classified},
		{Name: t.Dropped},
		{Name: t.DeadLetter, Retention: deadRetention},
	}
	if cases != "" {
		// Case events are the record the cases store is rebuilt from: kept for ever.
		specs = append(specs, kafkabus.TopicSpec{Name: cases, Retention: -1})
	}
	return specs
}

// migrateKafka creates the topics that do not exist yet.
func migrateKafka(ctx context.Context, cfg kafkabus.Config, specs []kafkabus.TopicSpec, logger *slog.Logger) error {
	bus, err := kafkabus.New(cfg, logger, nil)
	if err != nil {
		return err
	}
	defer bus.Close()
	if err := bus.Migrate(ctx, specs); err != nil {
		return err
	}
	return nil
}

// migrateElastic installs the index template and makes sure the alias exists.
func migrateElastic(ctx context.Context, cfg index.ElasticConfig, logger *slog.Logger) error {
	es, err := index.NewElastic(cfg, logger, nil)
	if err != nil {
		return err
	}
	defer es.Close()
	if err := es.Migrate(ctx); err != nil {
		return err
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(c *cli, name, def string) string {
	if v := c.getenv(name); v != "" {
		return v
	}
	return def
}
