package index

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/otklik/otklik"
)

// Elastic is the production engine: Elasticsearch 8 or OpenSearch 2.x through
// github.com/elastic/go-elasticsearch/v8.
//
// Layout: monthly indices Alias-YYYY.MM (from the publication time) behind the read
// alias Alias, all made from one index template (see Migrate). Writes are _bulk index
// operations with _id = the publication id into its monthly index, so a replay overwrites
// the same document. Each write carries an external version, the later of the fetch and
// edit times in milliseconds, with version_type external_gte: an older version of a
// publication arriving after a newer one (a redelivery, a replay from the dead-letter
// topic) does not overwrite it, while the same version (a reclassification, a replay)
// does.
//
// OpenSearch: the v8 client refuses servers that do not send X-Elastic-Product; the
// engine's HTTP transport adds that header to responses lacking it and never sends the
// Elasticsearch compatibility media type, which OpenSearch rejects. Everything else used
// here (_index_template, _bulk, _search with track_total_hits, _mget, _alias, the
// stemmer and stop filters) is common to both.
//
// Tested (index/elastic_integration_test.go, pipeline/kafkabus integration tests) with
// OpenSearch 2.19.6, everything including the Russian analysis, and Elasticsearch
// 8.19.21 as deployments/services/up.sh assembles it from Maven Central jars: without
// the analysis-common module, so there with Analyzer "standard" and the Russian-analysis
// cases skipped; a full Elasticsearch 8 distribution bundles the module.
type Elastic struct {
	cfg    ElasticConfig
	log    *slog.Logger
	es     *elasticsearch.Client
	httpTr *http.Transport

	bulkSeconds prometheus.Histogram
	bulkItems   *prometheus.CounterVec
}

// Bulk item results counted by otklik_index_bulk_items_total.
const (
	resultIndexed = "indexed" // written
	resultStale   = "stale"   // a newer version is already indexed: nothing to do
	resultRetried = "retried" // rejected (429) or unavailable (5xx), sent again
	resultFailed  = "failed"  // refused for good (mapping error…): returned to the caller
)

// NewElastic returns the engine for cfg (defaults filled in). It does not dial; Ready
// and Migrate do. Metrics are registered on reg (nil: not registered).
func NewElastic(cfg ElasticConfig, logger *slog.Logger, reg prometheus.Registerer) (*Elastic, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	httpTr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   max(cfg.BulkWorkers*2, 8),
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.RequestTimeout,
		ForceAttemptHTTP2:     false,
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:         cfg.URLs,
		Username:          cfg.Username,
		Password:          cfg.Password,
		Transport:         productHeader{next: httpTr},
		MaxRetries:        2,
		RetryOnStatus:     []int{502, 503, 504},
		RetryBackoff:      func(attempt int) time.Duration { return backoff(cfg, attempt-1) },
		DisableMetaHeader: true,
	})
	if err != nil {
		return nil, fmt.Errorf("elastic: client: %w", err)
	}
	e := &Elastic{
		cfg:    cfg,
		log:    logger,
		es:     es,
		httpTr: httpTr,
		bulkSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "otklik_index_bulk_duration_seconds",
			Help:    "Duration of one _bulk request to the search engine.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		bulkItems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "otklik_index_bulk_items_total",
			Help: "Bulk items by result: indexed, stale (a newer version was already indexed), retried (429 or 5xx, sent again), failed (returned to the caller for the dead-letter topic).",
		}, []string{"result"}),
	}
	for _, r := range []string{resultIndexed, resultStale, resultRetried, resultFailed} {
		e.bulkItems.WithLabelValues(r)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{e.bulkSeconds, e.bulkItems} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("elastic: register metrics: %w", err)
			}
		}
	}
	return e, nil
}

// Config returns the engine's configuration with defaults filled in.
func (e *Elastic) Config() ElasticConfig { return e.cfg }

// Client returns the underlying client (for tools such as otklik bench).
func (e *Elastic) Client() *elasticsearch.Client { return e.es }

// productHeader is the HTTP transport that lets the v8 client talk to OpenSearch: it
// adds X-Elastic-Product to responses that lack it, and replaces the Elasticsearch 8
// compatibility media type (sent when ELASTIC_CLIENT_APIVERSIONING is set) by plain
// JSON.
type productHeader struct{ next http.RoundTripper }

func (t productHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.Header.Get("Accept"), "vnd.elasticsearch") ||
		strings.Contains(req.Header.Get("Content-Type"), "vnd.elasticsearch") {
		req = req.Clone(req.Context())
		if strings.Contains(req.Header.Get("Accept"), "vnd.elasticsearch") {
			req.Header.Set("Accept", "application/json")
		}
		if ct := req.Header.Get("Content-Type"); strings.Contains(ct, "vnd.elasticsearch") {
			if strings.Contains(ct, "x-ndjson") {
				req.Header.Set("Content-Type", "application/x-ndjson")
			} else {
				req.Header.Set("Content-Type", "application/json")
			}
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.Header.Get("X-Elastic-Product") == "" {
		resp.Header.Set("X-Elastic-Product", "Elasticsearch")
	}
	return resp, nil
}

// backoff is the sleep before retry number attempt (0-based): BackoffMin doubling up to
// BackoffMax.
func backoff(cfg ElasticConfig, attempt int) time.Duration {
	d := cfg.BackoffMin
	for range max(attempt, 0) {
		d *= 2
		if d >= cfg.BackoffMax {
			return cfg.BackoffMax
		}
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// esDoc is what is stored: the publication plus the computed dropped flag.
type esDoc struct {
	*otklik.Publication
	Dropped bool `json:"dropped"`
}

// docVersion is the external version of a publication: the later of its fetch and edit
// times, in milliseconds (0 when both are unset).
func docVersion(p *otklik.Publication) int64 {
	t := p.FetchedAt
	if p.EditedAt.After(t) {
		t = p.EditedAt
	}
	return max(t.UnixMilli(), 0)
}

// maxIDBytes is the engines' limit on _id.
const maxIDBytes = 512

// Document returns the index p is written to and the _source written: what Index sends
// for p, for tools that write the same documents by other means (otklik bench's raw
// bulk baseline).
func (e *Elastic) Document(p *otklik.Publication) (index string, source []byte, err error) {
	source, err = json.Marshal(esDoc{Publication: p, Dropped: p.Class.Dropped()})
	if err != nil {
		return "", nil, fmt.Errorf("elastic: encode %s: %w", p.ID, err)
	}
	return monthlyIndex(e.cfg.Alias, p.PublishedAt), source, nil
}

// bulkItem is one encoded index operation.
type bulkItem struct {
	id   string
	body []byte // action line and source line, each ending in \n
}

// encodeItem encodes doc as an index operation for _bulk.
func encodeItem(alias string, doc *otklik.Publication) (bulkItem, error) {
	if doc.ID == "" {
		return bulkItem{}, errors.New("publication has no id")
	}
	if len(doc.ID) > maxIDBytes {
		// The engine would fail the whole _bulk request, not the item.
		return bulkItem{}, fmt.Errorf("publication id is %d bytes, longer than %d", len(doc.ID), maxIDBytes)
	}
	meta := map[string]any{"index": map[string]any{
		"_index":       monthlyIndex(alias, doc.PublishedAt),
		"_id":          doc.ID,
		"version":      docVersion(doc),
		"version_type": "external_gte",
	}}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // Encode ends each line with \n
	enc.SetEscapeHTML(false)
	if err := enc.Encode(meta); err != nil {
		return bulkItem{}, fmt.Errorf("encode action: %w", err)
	}
	if err := enc.Encode(esDoc{Publication: doc, Dropped: doc.Class.Dropped()}); err != nil {
		return bulkItem{}, fmt.Errorf("encode publication: %w", err)
	}
	return bulkItem{id: doc.ID, body: buf.Bytes()}, nil
}

// Index writes docs (an upsert each, keyed by id, into the monthly index of its
// publication time). Items the engine rejects with 429 or is unable to take (5xx) are
// retried with back-off; items refused for good (a mapping error, say) are returned in
// failed, id → error, for the caller to send to the dead-letter topic. A non-nil err
// means the engine could not take the batch (down, or still rejecting after the
// retries): the caller retries the whole batch later; writes are idempotent.
func (e *Elastic) Index(ctx context.Context, docs []otklik.Publication) (failed map[string]error, err error) {
	failed = map[string]error{}
	items := e.encodeAll(docs, failed)
	// Balanced chunks: a batch smaller than BulkWorkers full requests is split evenly,
	// so that the workers finish together.
	per := min(e.cfg.BulkDocs, max(1, (len(items)+e.cfg.BulkWorkers-1)/e.cfg.BulkWorkers))
	chunks := chunkItems(items, per, e.cfg.BulkBytes)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, e.cfg.BulkWorkers)
	)
	for _, chunk := range chunks {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f, err := e.bulk(ctx, chunk)
			mu.Lock()
			defer mu.Unlock()
			for id, ferr := range f {
				failed[id] = ferr
			}
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return failed, fmt.Errorf("elastic: index: %w", err)
	}
	return failed, nil
}

// encodeAll encodes docs on BulkWorkers goroutines, in order; documents that cannot be
// encoded are added to failed.
func (e *Elastic) encodeAll(docs []otklik.Publication, failed map[string]error) []bulkItem {
	enc := make([]bulkItem, len(docs))
	errs := make([]error, len(docs))
	workers := min(e.cfg.BulkWorkers, max(1, len(docs)/100))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(docs); i += workers {
				enc[i], errs[i] = encodeItem(e.cfg.Alias, &docs[i])
			}
		}()
	}
	wg.Wait()
	items := enc[:0]
	for i := range enc {
		if errs[i] != nil {
			failed[docs[i].ID] = errs[i]
			e.bulkItems.WithLabelValues(resultFailed).Inc()
			continue
		}
		items = append(items, enc[i])
	}
	return items
}

// chunkItems splits items into _bulk requests of at most maxDocs items and, unless one
// item alone is larger, maxBytes bytes.
func chunkItems(items []bulkItem, maxDocs, maxBytes int) [][]bulkItem {
	var out [][]bulkItem
	var cur []bulkItem
	size := 0
	for _, it := range items {
		if len(cur) > 0 && (len(cur) >= maxDocs || size+len(it.body) > maxBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, it)
		size += len(it.body)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// bulkResponse is the part of a _bulk response read (filter_path keeps only it).
type bulkResponse struct {
	Errors bool                          `json:"errors"`
	Items  []map[string]bulkItemResponse `json:"items"`
}

type bulkItemResponse struct {
	Status int        `json:"status"`
	Error  *esErrBody `json:"error"`
}

type esErrBody struct {
	Type     string     `json:"type"`
	Reason   string     `json:"reason"`
	CausedBy *esErrBody `json:"caused_by"`
}

func (b *esErrBody) String() string {
	if b == nil {
		return "unknown error"
	}
	s := b.Type + ": " + b.Reason
	if b.CausedBy != nil {
		s += " (caused by " + b.CausedBy.String() + ")"
	}
	return s
}

// bulk sends one chunk, retrying the request on 429/5xx/connection errors and the
// items answered 429 or 5xx, up to cfg.Retries times.
func (e *Elastic) bulk(ctx context.Context, pending []bulkItem) (map[string]error, error) {
	failed := map[string]error{}
	for attempt := 0; ; attempt++ {
		retry, err := e.bulkOnce(ctx, pending, failed)
		if err == nil && len(retry) == 0 {
			return failed, nil
		}
		var se *statusError
		if errors.As(err, &se) && (se.status == http.StatusBadRequest || se.status == http.StatusRequestEntityTooLarge) {
			// The request as a whole was refused: find the culprits item by item.
			if len(pending) == 1 {
				failed[pending[0].id] = fmt.Errorf("elastic: %w", se)
				e.bulkItems.WithLabelValues(resultFailed).Inc()
				return failed, nil
			}
			for _, it := range pending {
				f, err := e.bulk(ctx, []bulkItem{it})
				maps.Copy(failed, f)
				if err != nil {
					return failed, err
				}
			}
			return failed, nil
		}
		if ctx.Err() != nil {
			return failed, ctx.Err()
		}
		if attempt >= e.cfg.Retries {
			if err != nil {
				return failed, fmt.Errorf("bulk of %d after %d attempts: %w", len(pending), attempt+1, err)
			}
			return failed, fmt.Errorf("bulk: %d items still rejected after %d attempts", len(retry), attempt+1)
		}
		if err == nil {
			pending = retry
		}
		e.bulkItems.WithLabelValues(resultRetried).Add(float64(len(pending)))
		if err := sleepCtx(ctx, backoff(e.cfg, attempt)); err != nil {
			return failed, err
		}
	}
}

// statusError is an HTTP error answer of the engine.
type statusError struct {
	status int
	body   string
}

func (s *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", s.status, s.body) }

// bulkOnce sends pending as one _bulk request. It returns the items to send again, and
// an error when the request itself failed (all items are then to be sent again).
// Permanently failed items are added to failed.
func (e *Elastic) bulkOnce(ctx context.Context, pending []bulkItem, failed map[string]error) ([]bulkItem, error) {
	size := 0
	for _, it := range pending {
		size += len(it.body)
	}
	body := make([]byte, 0, size)
	for _, it := range pending {
		body = append(body, it.body...)
	}
	start := time.Now()
	res, err := e.es.Bulk(bytes.NewReader(body),
		e.es.Bulk.WithContext(ctx),
		e.es.Bulk.WithFilterPath("errors", "items.*.status", "items.*.error"),
		e.es.Bulk.WithTimeout(e.cfg.RequestTimeout),
	)
	e.bulkSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return pending, err
	}
	defer drain(res)
	if res.IsError() {
		return pending, &statusError{res.StatusCode, readSnippet(res.Body)}
	}
	var br bulkResponse
	if err := json.NewDecoder(res.Body).Decode(&br); err != nil {
		return pending, fmt.Errorf("decode bulk response: %w", err)
	}
	if len(br.Items) != len(pending) {
		return pending, fmt.Errorf("bulk response has %d items for %d sent", len(br.Items), len(pending))
	}
	var retry []bulkItem
	for i, item := range br.Items {
		var r bulkItemResponse
		for _, v := range item { // one key: the action
			r = v
		}
		switch {
		case r.Status >= 200 && r.Status < 300:
			e.bulkItems.WithLabelValues(resultIndexed).Inc()
		case r.Status == http.StatusConflict:
			// version_conflict_engine_exception: a newer version is indexed already.
			e.bulkItems.WithLabelValues(resultStale).Inc()
		case r.Status == http.StatusTooManyRequests || r.Status >= 500:
			retry = append(retry, pending[i])
		default:
			failed[pending[i].id] = fmt.Errorf("elastic: HTTP %d: %s", r.Status, r.Error)
			e.bulkItems.WithLabelValues(resultFailed).Inc()
		}
	}
	return retry, nil
}

func drain(res *esapi.Response) {
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
}

func readSnippet(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 2048))
	return strings.TrimSpace(string(b))
}

// searchBody builds the _search request for a validated q.
func (e *Elastic) searchBody(q Query) map[string]any {
	filter := []any{map[string]any{"term": map[string]any{"dropped": q.Dropped}}}
	term := func(field, v string) {
		if v != "" {
			filter = append(filter, map[string]any{"term": map[string]any{field: v}})
		}
	}
	term("class.topic", q.Topic)
	term("class.location", q.Location)
	term("class.priority", string(q.Priority))
	term("network", string(q.Network))
	if !q.From.IsZero() || !q.To.IsZero() {
		r := map[string]any{}
		if !q.From.IsZero() {
			r["gte"] = q.From.UTC().Format(time.RFC3339Nano)
		}
		if !q.To.IsZero() {
			r["lt"] = q.To.UTC().Format(time.RFC3339Nano)
		}
		filter = append(filter, map[string]any{"range": map[string]any{"published_at": r}})
	}
	boolQ := map[string]any{"filter": filter}
	if strings.TrimSpace(q.Text) != "" {
		boolQ["must"] = []any{map[string]any{"match": map[string]any{
			"text": map[string]any{"query": q.Text, "operator": "and"},
		}}}
	}
	order := "desc"
	if q.Ascending {
		order = "asc"
	}
	return map[string]any{
		"query":            map[string]any{"bool": boolQ},
		"from":             q.Offset,
		"size":             q.Size,
		"track_total_hits": true,
		"sort": []any{
			map[string]any{"published_at": map[string]any{"order": order}},
			map[string]any{"id": map[string]any{"order": order}},
		},
	}
}

// searchResponse is the part of a _search response read.
type searchResponse struct {
	Hits struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []struct {
			Source json.RawMessage `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
}

// Search runs q over the alias: full text with the Russian analyzer (all words must
// match, in any form), filters, paging, newest first unless q.Ascending, and the exact
// total. Writes become searchable after the refresh interval.
func (e *Elastic) Search(ctx context.Context, q Query) (Result, error) {
	if err := q.Validate(); err != nil {
		return Result{}, err
	}
	body, err := json.Marshal(e.searchBody(q))
	if err != nil {
		return Result{}, fmt.Errorf("elastic: search: %w", err)
	}
	res, err := e.es.Search(
		e.es.Search.WithContext(ctx),
		e.es.Search.WithIndex(e.cfg.Alias),
		e.es.Search.WithBody(bytes.NewReader(body)),
		e.es.Search.WithIgnoreUnavailable(true),
		e.es.Search.WithAllowNoIndices(true),
		e.es.Search.WithFilterPath("hits.total", "hits.hits._source"),
	)
	if err != nil {
		return Result{}, fmt.Errorf("elastic: search: %w", err)
	}
	defer drain(res)
	if res.StatusCode == http.StatusNotFound {
		return Result{Publications: []otklik.Publication{}}, nil // no index yet
	}
	if res.IsError() {
		return Result{}, fmt.Errorf("elastic: search: %w", &statusError{res.StatusCode, readSnippet(res.Body)})
	}
	var sr searchResponse
	if err := json.NewDecoder(res.Body).Decode(&sr); err != nil {
		return Result{}, fmt.Errorf("elastic: search: decode: %w", err)
	}
	out := Result{Total: sr.Hits.Total.Value, Publications: make([]otklik.Publication, 0, len(sr.Hits.Hits))}
	for _, h := range sr.Hits.Hits {
		var p otklik.Publication
		if err := json.Unmarshal(h.Source, &p); err != nil {
			return Result{}, fmt.Errorf("elastic: search: decode publication: %w", err)
		}
		out.Publications = append(out.Publications, p)
	}
	return out, nil
}

// Count returns the number of documents in the alias, dropped or not (for tools and
// tests; it reflects the last refresh).
func (e *Elastic) Count(ctx context.Context) (int64, error) {
	res, err := e.es.Count(e.es.Count.WithContext(ctx), e.es.Count.WithIndex(e.cfg.Alias),
		e.es.Count.WithIgnoreUnavailable(true), e.es.Count.WithAllowNoIndices(true))
	if err != nil {
		return 0, fmt.Errorf("elastic: count: %w", err)
	}
	defer drain(res)
	if res.StatusCode == http.StatusNotFound {
		return 0, nil
	}
	if res.IsError() {
		return 0, fmt.Errorf("elastic: count: %w", &statusError{res.StatusCode, readSnippet(res.Body)})
	}
	var cr struct {
		Count int64 `json:"count"`
	}
	if err := json.NewDecoder(res.Body).Decode(&cr); err != nil {
		return 0, fmt.Errorf("elastic: count: decode: %w", err)
	}
	return cr.Count, nil
}

// Existing returns which of ids are searchable now (they reflect the last refresh), for
// tools and tests that check nothing was lost. It asks in parts of existingPart ids.
func (e *Elastic) Existing(ctx context.Context, ids []string) ([]string, error) {
	var found []string
	for len(ids) > 0 {
		part := ids[:min(len(ids), existingPart)]
		ids = ids[len(part):]
		body, err := json.Marshal(map[string]any{"size": len(part), "_source": false,
			"query": map[string]any{"ids": map[string]any{"values": part}}})
		if err != nil {
			return nil, fmt.Errorf("elastic: existing: %w", err)
		}
		res, err := e.es.Search(e.es.Search.WithContext(ctx), e.es.Search.WithIndex(e.cfg.Alias),
			e.es.Search.WithBody(bytes.NewReader(body)), e.es.Search.WithFilterPath("hits.hits._id"),
			e.es.Search.WithIgnoreUnavailable(true), e.es.Search.WithAllowNoIndices(true))
		if err != nil {
			return nil, fmt.Errorf("elastic: existing: %w", err)
		}
		if res.IsError() {
			err := &statusError{res.StatusCode, readSnippet(res.Body)}
			drain(res)
			return nil, fmt.Errorf("elastic: existing: %w", err)
		}
		var sr struct {
			Hits struct {
				Hits []struct {
					ID string `json:"_id"`
				} `json:"hits"`
			} `json:"hits"`
		}
		err = json.NewDecoder(res.Body).Decode(&sr)
		drain(res)
		if err != nil {
			return nil, fmt.Errorf("elastic: existing: decode: %w", err)
		}
		for _, h := range sr.Hits.Hits {
			found = append(found, h.ID)
		}
	}
	return found, nil
}

// existingPart is how many ids Existing asks for at a time (below the engines' default
// max_result_window of 10,000).
const existingPart = 5000

// indices lists the indices behind the alias (none: an empty list).
func (e *Elastic) indices(ctx context.Context) ([]string, error) {
	res, err := e.es.Indices.GetAlias(e.es.Indices.GetAlias.WithContext(ctx),
		e.es.Indices.GetAlias.WithName(e.cfg.Alias))
	if err != nil {
		return nil, err
	}
	defer drain(res)
	if res.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if res.IsError() {
		return nil, &statusError{res.StatusCode, readSnippet(res.Body)}
	}
	var m map[string]json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	out := make([]string, 0, len(m))
	for name := range m {
		out = append(out, name)
	}
	return out, nil
}

// Get returns the publication with id, or ErrNotFound. The monthly index is not known
// from the id, so it asks every index behind the alias in one realtime _mget: a
// publication is found as soon as it is indexed, before any refresh.
func (e *Elastic) Get(ctx context.Context, id string) (otklik.Publication, error) {
	if id == "" {
		return otklik.Publication{}, ErrNotFound
	}
	idx, err := e.indices(ctx)
	if err != nil {
		return otklik.Publication{}, fmt.Errorf("elastic: get %s: %w", id, err)
	}
	if len(idx) == 0 {
		return otklik.Publication{}, ErrNotFound
	}
	docs := make([]map[string]string, len(idx))
	for i, name := range idx {
		docs[i] = map[string]string{"_index": name, "_id": id}
	}
	body, err := json.Marshal(map[string]any{"docs": docs})
	if err != nil {
		return otklik.Publication{}, fmt.Errorf("elastic: get %s: %w", id, err)
	}
	res, err := e.es.Mget(bytes.NewReader(body), e.es.Mget.WithContext(ctx))
	if err != nil {
		return otklik.Publication{}, fmt.Errorf("elastic: get %s: %w", id, err)
	}
	defer drain(res)
	if res.IsError() {
		return otklik.Publication{}, fmt.Errorf("elastic: get %s: %w", id, &statusError{res.StatusCode, readSnippet(res.Body)})
	}
	var mr struct {
		Docs []struct {
			Found  bool            `json:"found"`
			Source json.RawMessage `json:"_source"`
			Error  *esErrBody      `json:"error"`
		} `json:"docs"`
	}
	if err := json.NewDecoder(res.Body).Decode(&mr); err != nil {
		return otklik.Publication{}, fmt.Errorf("elastic: get %s: decode: %w", id, err)
	}
	for _, d := range mr.Docs {
		if !d.Found {
			continue
		}
		var p otklik.Publication
		if err := json.Unmarshal(d.Source, &p); err != nil {
			return otklik.Publication{}, fmt.Errorf("elastic: get %s: decode: %w", id, err)
		}
		return p, nil
	}
	return otklik.Publication{}, ErrNotFound
}

// Ready reports whether the cluster answers and is not red.
func (e *Elastic) Ready(ctx context.Context) error {
	res, err := e.es.Cluster.Health(e.es.Cluster.Health.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("elastic: ready: %w", err)
	}
	defer drain(res)
	if res.IsError() {
		return fmt.Errorf("elastic: ready: %w", &statusError{res.StatusCode, readSnippet(res.Body)})
	}
	var h struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
		return fmt.Errorf("elastic: ready: decode: %w", err)
	}
	if h.Status == "red" {
		return errors.New("elastic: ready: cluster health is red")
	}
	return nil
}

// Migrate installs (or updates) the index template and creates the current month's
// index, so that the alias exists before the first write. It is idempotent; indices
// created before a template change keep their old mapping until the next month.
func (e *Elastic) Migrate(ctx context.Context) error {
	body, err := json.Marshal(indexTemplate(e.cfg))
	if err != nil {
		return fmt.Errorf("elastic: migrate: %w", err)
	}
	res, err := e.es.Indices.PutIndexTemplate(e.cfg.Alias, bytes.NewReader(body),
		e.es.Indices.PutIndexTemplate.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("elastic: migrate: put index template: %w", err)
	}
	defer drain(res)
	if res.IsError() {
		se := &statusError{res.StatusCode, readSnippet(res.Body)}
		if strings.Contains(se.body, "Unknown char_filter type") || strings.Contains(se.body, "Unknown filter type") {
			return fmt.Errorf("elastic: migrate: the server lacks the analysis-common module the Russian analyzer needs "+
				"(use a full distribution, or set the analyzer to %q): %w", AnalyzerStandard, se)
		}
		return fmt.Errorf("elastic: migrate: put index template: %w", se)
	}
	name := monthlyIndex(e.cfg.Alias, time.Now())
	cres, err := e.es.Indices.Create(name, e.es.Indices.Create.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("elastic: migrate: create %s: %w", name, err)
	}
	defer drain(cres)
	if cres.IsError() {
		snippet := readSnippet(cres.Body)
		if cres.StatusCode != http.StatusBadRequest || !strings.Contains(snippet, "already_exists") {
			return fmt.Errorf("elastic: migrate: create %s: %w", name, &statusError{cres.StatusCode, snippet})
		}
	}
	return nil
}

// SupportsRussian reports whether the server can run the Russian analyzer (its
// analysis-common module is loaded), by analyzing «Ёлки» with it: true when the result
// is the stem «елк».
func (e *Elastic) SupportsRussian(ctx context.Context) (bool, error) {
	body, err := json.Marshal(map[string]any{
		"char_filter": []any{map[string]any{"type": "mapping", "mappings": []string{"ё => е", "Ё => Е"}}},
		"tokenizer":   "standard",
		"filter":      []any{"lowercase", map[string]any{"type": "stemmer", "language": "russian"}},
		"text":        "Ёлки",
	})
	if err != nil {
		return false, err
	}
	res, err := e.es.Indices.Analyze(e.es.Indices.Analyze.WithContext(ctx), e.es.Indices.Analyze.WithBody(bytes.NewReader(body)))
	if err != nil {
		return false, fmt.Errorf("elastic: analyze: %w", err)
	}
	defer drain(res)
	if res.StatusCode == http.StatusBadRequest {
		return false, nil
	}
	if res.IsError() {
		return false, fmt.Errorf("elastic: analyze: %w", &statusError{res.StatusCode, readSnippet(res.Body)})
	}
	var ar struct {
		Tokens []struct {
			Token string `json:"token"`
		} `json:"tokens"`
	}
	if err := json.NewDecoder(res.Body).Decode(&ar); err != nil {
		return false, fmt.Errorf("elastic: analyze: decode: %w", err)
	}
	return len(ar.Tokens) == 1 && ar.Tokens[0].Token == "елк", nil
}

// Refresh makes every write so far searchable (for tests and tools; the daemon relies
// on the refresh interval).
func (e *Elastic) Refresh(ctx context.Context) error {
	res, err := e.es.Indices.Refresh(e.es.Indices.Refresh.WithContext(ctx),
		e.es.Indices.Refresh.WithIndex(e.cfg.Alias),
		e.es.Indices.Refresh.WithIgnoreUnavailable(true),
		e.es.Indices.Refresh.WithAllowNoIndices(true))
	if err != nil {
		return fmt.Errorf("elastic: refresh: %w", err)
	}
	defer drain(res)
	if res.IsError() && res.StatusCode != http.StatusNotFound {
		return fmt.Errorf("elastic: refresh: %w", &statusError{res.StatusCode, readSnippet(res.Body)})
	}
	return nil
}

// Drop deletes every index behind the alias and the index template: all documents are
// lost.
// It is for tests and otklik bench, which work on aliases of their own.
func (e *Elastic) Drop(ctx context.Context) error {
	// By name: Elasticsearch 8 refuses wildcard deletes (action.destructive_requires_name).
	names, err := e.indices(ctx)
	if err != nil {
		return fmt.Errorf("elastic: drop: %w", err)
	}
	if len(names) > 0 {
		res, err := e.es.Indices.Delete(names, e.es.Indices.Delete.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("elastic: drop: %w", err)
		}
		drain(res)
		if res.IsError() && res.StatusCode != http.StatusNotFound {
			return fmt.Errorf("elastic: drop: HTTP %d", res.StatusCode)
		}
	}
	res, err := e.es.Indices.DeleteIndexTemplate(e.cfg.Alias, e.es.Indices.DeleteIndexTemplate.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("elastic: drop template: %w", err)
	}
	drain(res)
	if res.IsError() && res.StatusCode != http.StatusNotFound {
		return fmt.Errorf("elastic: drop template: HTTP %d", res.StatusCode)
	}
	return nil
}

// Close releases idle connections.
func (e *Elastic) Close() error {
	e.httpTr.CloseIdleConnections()
	return nil
}
