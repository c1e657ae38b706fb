package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/otklik/otklik/index"
	"github.com/otklik/otklik/pipeline"
	"github.com/otklik/otklik/pipeline/kafkabus"
)

// defaultCasesTopic is the topic of case events created by migrate beside the pipeline's.
const defaultCasesTopic = "otklik.cases"

// migrateCmd creates the Kafka topics and the search engine's index template and alias.
// Both steps are idempotent: run it before every deployment.
func migrateCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "migrate", "migrate [--brokers HOST:PORT,…] [--elastic URL,…] [flags]")
	kcfg := kafkabus.DefaultConfig()
	ecfg := index.DefaultElasticConfig()
	topics := pipeline.DefaultTopics()
	brokers := fs.String("brokers", c.getenv("OTKLIK_KAFKA_BROKERS"), "Kafka `brokers`, comma-separated (env OTKLIK_KAFKA_BROKERS); empty: skip Kafka")
	elastic := fs.String("elastic", c.getenv("OTKLIK_ELASTIC_URLS"), "search engine `URLs`, comma-separated (env OTKLIK_ELASTIC_URLS); empty: skip the engine")
	fs.StringVar(&ecfg.Alias, "alias", envOr(c, "OTKLIK_ELASTIC_ALIAS", ecfg.Alias), "read `alias` and prefix of the monthly indices (env OTKLIK_ELASTIC_ALIAS)")
	fs.IntVar(&ecfg.Replicas, "replicas", ecfg.Replicas, "replicas of each monthly index")
	fs.StringVar(&ecfg.Analyzer, "analyzer", envOr(c, "OTKLIK_ELASTIC_ANALYZER", ecfg.Analyzer), "text `analyzer`: russian, or standard for a server without the analysis-common module (env OTKLIK_ELASTIC_ANALYZER)")
	fs.IntVar(&kcfg.Partitions, "partitions", kcfg.Partitions, "partitions of each topic")
	fs.IntVar(&kcfg.ReplicationFactor, "replication-factor", kcfg.ReplicationFactor, "replication factor of each topic")
	fs.DurationVar(&kcfg.Retention, "retention", kcfg.Retention, "retention of the pipeline topics")
	deadRetention := fs.Duration("deadletter-retention", 30*24*time.Hour, "retention of the dead-letter topic (records wait there for review)")
	fs.StringVar(&topics.Raw, "topic-raw", topics.Raw, "raw publications topic")
	fs.StringVar(&topics.Classified, "topic-classified", topics.Classified, "classified publications topic")
	fs.StringVar(&topics.Dropped, "topic-dropped", topics.Dropped, "dropped (point 16) publications topic")
	fs.StringVar(&topics.DeadLetter, "topic-deadletter", topics.DeadLetter, "dead-letter topic")
	casesTopic := fs.String("topic-cases", defaultCasesTopic, "case events topic (empty: not created)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *brokers == "" && *elastic == "" {
		return fmt.Errorf("%w: nothing to migrate: set --brokers and/or --elastic", errUsage)
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *brokers != "" {
		kcfg.Brokers = splitList(*brokers)
		specs := topicSpecs(topics, *casesTopic, *deadRetention)
		if err := migrateKafka(ctx, kcfg, specs, logger); err != nil {
			return err
		}
		names := make([]string, len(specs))
		for i, s := range specs {
			names[i] = s.Name
		}
		fmt.Fprintf(c.stdout, "kafka %s: topics ready: %s\n", strings.Join(kcfg.Brokers, ","), strings.Join(names, ", "))
	}
	if *elastic != "" {
		ecfg.URLs = splitList(*elastic)
		ecfg.Username = c.getenv("OTKLIK_ELASTIC_USERNAME")
		ecfg.Password = c.getenv("OTKLIK_ELASTIC_PASSWORD")
		if err := migrateElastic(ctx, ecfg, logger); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "search engine %s: index template %s, indices %s-YYYY.MM, alias %s ready\n",
			strings.Join(ecfg.URLs, ","), ecfg.Alias, ecfg.Alias, ecfg.Alias)
	}
	return nil
}

// topicSpecs lists the topics of the pipeline (and the cases topic unless empty). The
// dead-letter topic keeps its records deadRetention; the others take the bus defaults.
func topicSpecs(t pipeline.Topics, cases string, deadRetention time.Duration) []kafkabus.TopicSpec {
	specs := []kafkabus.TopicSpec{
		{Name: t.Raw},
		{Name: t.Classified},
		{Name: t.Dropped},
		{Name: t.DeadLetter, Retention: deadRetention},
	}
	if cases != "" {
		specs = append(specs, kafkabus.TopicSpec{Name: cases})
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
