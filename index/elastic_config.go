package index

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"time"
)

// ElasticConfig configures the Elastic engine (Elasticsearch 8 or OpenSearch 2.x). Start
// from DefaultElasticConfig or call SetDefaults, then Validate.
type ElasticConfig struct {
	// URLs are the nodes, e.g. http://127.0.0.1:9200.
	URLs []string `yaml:"urls"`
	// Username and Password are for HTTP basic authentication (empty: none). The password
	// is never logged: the config's LogValue redacts it.
	Username string `yaml:"username"`
	Password string `yaml:"password"`

	// Alias is the read alias over the monthly indices, and their name prefix: documents
	// go to Alias-YYYY.MM chosen from the publication time (UTC), e.g.
	// otklik-publications-2026.11. The index template is named Alias too.
	Alias string `yaml:"alias"`
	// Shards and Replicas are the settings of each monthly index (Replicas 0 on a single
	// node, or its health stays yellow).
	Shards   int `yaml:"shards"`
	Replicas int `yaml:"replicas"`
	// Analyzer is the analysis of the text field: "russian" (the default: ё→е, stop words,
	// Russian stemming; needs the analysis-common module, bundled with every Elasticsearch
	// and OpenSearch distribution) or "standard" (lowercased words only, for a server
	// built without that module, such as the Elasticsearch assembled from Maven Central
	// jars by deployments/services/up.sh).
	Analyzer string `yaml:"analyzer"`
	// RefreshInterval is how soon a write becomes searchable.
	RefreshInterval time.Duration `yaml:"refresh_interval"`

	// BulkDocs and BulkBytes bound one _bulk request; a larger Index call is split and
	// the parts sent by up to BulkWorkers concurrent requests.
	BulkDocs    int `yaml:"bulk_docs"`
	BulkBytes   int `yaml:"bulk_bytes"`
	BulkWorkers int `yaml:"bulk_workers"`
	// Retries is how many times a rejected (429) or unavailable (5xx) bulk request or
	// item is retried, sleeping BackoffMin, doubling up to BackoffMax. After that the
	// whole Index call fails (the caller retries the batch later).
	Retries    int           `yaml:"retries"`
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// RequestTimeout bounds one HTTP request.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// Analyzers of ElasticConfig.Analyzer.
const (
	AnalyzerRussian  = "russian"
	AnalyzerStandard = "standard"
)

// DefaultElasticConfig returns the defaults for a local single node on :9200.
func DefaultElasticConfig() ElasticConfig {
	var c ElasticConfig
	c.SetDefaults()
	return c
}

// SetDefaults fills every zero field with its default (Replicas stays 0).
func (c *ElasticConfig) SetDefaults() {
	if len(c.URLs) == 0 {
		c.URLs = []string{"http://127.0.0.1:9200"}
	}
	if c.Alias == "" {
		c.Alias = "otklik-publications"
	}
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.Analyzer == "" {
		c.Analyzer = AnalyzerRussian
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = time.Second
	}
	if c.BulkDocs == 0 {
		c.BulkDocs = 1000
	}
	if c.BulkBytes == 0 {
		c.BulkBytes = 5 << 20
	}
	if c.BulkWorkers == 0 {
		c.BulkWorkers = 2
	}
	if c.Retries == 0 {
		c.Retries = 5
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = 200 * time.Millisecond
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 5 * time.Second
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
}

// aliasRE is what Elasticsearch accepts as an index name, narrowed: lowercase, no
// leading -, _ or +.
var aliasRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Validate checks the configuration after SetDefaults.
func (c *ElasticConfig) Validate() error {
	var errs []error
	if len(c.URLs) == 0 {
		errs = append(errs, errors.New("urls: at least one is required"))
	}
	for _, u := range c.URLs {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, fmt.Errorf("urls: %q is not an http(s) URL", u))
		}
	}
	if !aliasRE.MatchString(c.Alias) || len(c.Alias) > 200 {
		errs = append(errs, fmt.Errorf("alias: %q is not a valid lowercase index name", c.Alias))
	}
	if c.Analyzer != AnalyzerRussian && c.Analyzer != AnalyzerStandard {
		errs = append(errs, fmt.Errorf("analyzer: %q is neither %q nor %q", c.Analyzer, AnalyzerRussian, AnalyzerStandard))
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, errors.New("password: set without a username"))
	}
	for _, p := range []struct {
		name string
		v    int64
	}{
		{"shards", int64(c.Shards)},
		{"refresh_interval", int64(c.RefreshInterval)},
		{"bulk_docs", int64(c.BulkDocs)},
		{"bulk_bytes", int64(c.BulkBytes)},
		{"bulk_workers", int64(c.BulkWorkers)},
		{"retries", int64(c.Retries)},
		{"backoff_min", int64(c.BackoffMin)},
		{"backoff_max", int64(c.BackoffMax)},
		{"request_timeout", int64(c.RequestTimeout)},
	} {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", p.name))
		}
	}
	if c.Replicas < 0 {
		errs = append(errs, errors.New("replicas: must not be negative"))
	}
	if c.BackoffMax < c.BackoffMin {
		errs = append(errs, errors.New("backoff_max: must not be below backoff_min"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("elastic config: %w", err)
	}
	return nil
}

// LogValue logs the configuration without the password.
func (c ElasticConfig) LogValue() slog.Value {
	pw := ""
	if c.Password != "" {
		pw = "[redacted]"
	}
	return slog.GroupValue(
		slog.Any("urls", c.URLs),
		slog.String("username", c.Username),
		slog.String("password", pw),
		slog.String("alias", c.Alias),
		slog.Int("shards", c.Shards),
		slog.Int("replicas", c.Replicas),
		slog.String("analyzer", c.Analyzer),
		slog.Duration("refresh_interval", c.RefreshInterval),
		slog.Int("bulk_docs", c.BulkDocs),
		slog.Int("bulk_workers", c.BulkWorkers),
	)
}

// String is LogValue for fmt: the password is redacted.
func (c ElasticConfig) String() string { return c.LogValue().String() }
