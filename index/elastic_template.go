package index

import (
	"fmt"
	"time"
)

// russianAnalyzer is the analyzer of the text field: ё→е (both cases, before
// tokenizing), the standard tokenizer, lowercase, Russian stop words and the Russian
// Snowball stemmer. Elasticsearch ships these in core; OpenSearch in its analysis-common
// module (bundled in every distribution).
const russianAnalyzer = "otklik_russian"

// indexTemplate is the composable index template (PUT _index_template/<alias>) that
// every monthly index Alias-YYYY.MM gets when it is created, by Migrate or by the first
// bulk write into it: settings, the Russian analyzer, the mapping and the read alias.
//
// The mapping is strict about what it indexes and lax about what it stores: dynamic is
// false, so the whole otklik.Publication is kept in _source (and returned as it was
// written) while only the fields below are indexed. Keyword fields serve the facets and
// filters, dates the time range and the sort; dropped is computed on write (true when
// point 16 applies) so that "hide the dropped" is one term filter.
func indexTemplate(cfg ElasticConfig) map[string]any {
	kw := map[string]any{"type": "keyword"}
	date := map[string]any{"type": "date"}
	long := map[string]any{"type": "long"}
	settings := map[string]any{
		"number_of_shards":   cfg.Shards,
		"number_of_replicas": cfg.Replicas,
		"refresh_interval":   fmt.Sprintf("%dms", cfg.RefreshInterval/time.Millisecond),
		// Deep paging down to MaxOffset+MaxSize, as Query.Validate allows.
		"max_result_window": MaxOffset + MaxSize,
	}
	text := map[string]any{"type": "text", "analyzer": "standard"}
	if cfg.Analyzer != AnalyzerStandard {
		text["analyzer"] = russianAnalyzer
		settings["analysis"] = russianAnalysis()
	}
	return map[string]any{
		"index_patterns": []string{cfg.Alias + "-*"},
		"priority":       200,
		"_meta":          map[string]any{"managed_by": "otklik migrate"},
		"template": map[string]any{
			"aliases":  map[string]any{cfg.Alias: map[string]any{}},
			"settings": settings,
			"mappings": map[string]any{
				"dynamic": false,
				"properties": map[string]any{
					"id":             kw,
					"network":        kw,
					"owner":          kw,
					"post_id":        kw,
					"parent_id":      kw,
					"kind":           kw,
					"source":         kw,
					"url":            map[string]any{"type": "keyword", "index": false},
					"text":           text,
					"published_at":   date,
					"edited_at":      date,
					"fetched_at":     date,
					"deleted":        map[string]any{"type": "boolean"},
					"agency_account": kw,
					"dropped":        map[string]any{"type": "boolean"},
					"author": map[string]any{"properties": map[string]any{
						"id":        kw,
						"name":      kw,
						"followers": long,
					}},
					"engagement": map[string]any{"properties": map[string]any{
						"likes": long, "comments": long, "reposts": long, "views": long,
					}},
					"class": map[string]any{"properties": map[string]any{
						"topic":         kw,
						"location":      kw,
						"priority":      kw,
						"drop":          kw,
						"agency":        kw,
						"model":         kw,
						"classified_at": date,
					}},
				},
			},
		},
	}
}

// russianAnalysis defines the Russian analyzer: ё→е and Ё→Е before tokenizing, the
// standard tokenizer, lowercase, Russian stop words, the Russian Snowball stemmer.
func russianAnalysis() map[string]any {
	return map[string]any{
		"char_filter": map[string]any{
			"otklik_yo": map[string]any{
				"type":     "mapping",
				"mappings": []string{"ё => е", "Ё => Е"},
			},
		},
		"filter": map[string]any{
			"otklik_russian_stop": map[string]any{"type": "stop", "stopwords": "_russian_"},
			"otklik_russian_stem": map[string]any{"type": "stemmer", "language": "russian"},
		},
		"analyzer": map[string]any{
			russianAnalyzer: map[string]any{
				"type":        "custom",
				"char_filter": []string{"otklik_yo"},
				"tokenizer":   "standard",
				"filter":      []string{"lowercase", "otklik_russian_stop", "otklik_russian_stem"},
			},
		},
	}
}

// monthlyIndex is the index a publication lives in: Alias-YYYY.MM of its publication
// time in UTC, or Alias-undated without one. PublishedAt never changes for a
// publication, so every write of one id goes to the same index and replays stay
// idempotent (the fetch time would not do: a re-fetch would create a second copy).
func monthlyIndex(alias string, published time.Time) string {
	if published.IsZero() {
		return alias + "-undated"
	}
	return alias + "-" + published.UTC().Format("2006.01")
}
