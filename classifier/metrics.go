package classifier

import (
	"sync"

	"github.com/otklik/otklik"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the classifier does. Labels are bounded: topic ids, priorities and
// drop reasons of the contract.
//
//	otklik_classifier_classifications_total{topic,priority}
//	otklik_classifier_dropped_total{reason}
//	otklik_classifier_chunk_lookups_total, otklik_classifier_chunk_misses_total (cache hits
//	are lookups minus misses), otklik_classifier_word_misses_total,
//	otklik_classifier_cache_resets_total
type Metrics struct {
	classified *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	reg        prometheus.Registerer
	once       sync.Once
}

// NewMetrics creates the classifier's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		reg: reg,
		classified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otklik_classifier_classifications_total",
			Help: "Publications classified, by topic and priority.",
		}, []string{"topic", "priority"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otklik_classifier_dropped_total",
			Help: "Point-16 reasons found, by reason (a publication may have several).",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{m.classified, m.dropped} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// attach registers the cache counters of a classifier (the first one attached).
func (m *Metrics) attach(c *cache[wordInfo, *wordInfo], ch *cache[chunk, *chunk]) {
	m.once.Do(func() {
		for _, f := range []struct {
			name, help string
			get        func() float64
		}{
			{"otklik_classifier_chunk_lookups_total", "Text chunks (words with their punctuation) looked up in the caches (counted in batches of 1024).", func() float64 { return float64(ch.lookups.Load()) }},
			{"otklik_classifier_chunk_misses_total", "Text chunks not found in the caches: tokenized, or, when a chunk is a plain lower-case word, analysed as a new word.", func() float64 { return float64(ch.misses.Load()) }},
			{"otklik_classifier_word_misses_total", "Words analysed (stemmed, matched) because they were not cached.", func() float64 { return float64(c.misses.Load()) }},
			{"otklik_classifier_cache_resets_total", "Cache shards emptied because they reached their bound.", func() float64 { return float64(c.resets.Load() + ch.resets.Load()) }},
		} {
			// A second classifier on the same registry keeps the first one's counters.
			_ = m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: f.name, Help: f.help}, f.get))
		}
	})
}

func (m *Metrics) observe(cl *otklik.Classification) {
	m.classified.WithLabelValues(cl.Topic, string(cl.Priority)).Inc()
	for _, r := range cl.Drop {
		m.dropped.WithLabelValues(string(r)).Inc()
	}
}
