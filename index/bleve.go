package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	charregexp "github.com/blevesearch/bleve/v2/analysis/char/regexp"
	"github.com/blevesearch/bleve/v2/analysis/lang/ru"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/otklik/otklik"
)

// Names of the Russian analysis chain of the embedded index.
const (
	// RussianAnalyzer is lowercase, ё→е, Russian stop words and the Snowball Russian stemmer.
	// Bleve's own "ru" analyzer does not fold ё to е, so «ещё» and «еще», «счёт» and «счет»
	// would not match each other; this one does.
	RussianAnalyzer = "otklik_ru"
	yoCharFilter    = "otklik_yo"
	yoCapCharFilter = "otklik_yo_cap"
)

// Bleve is the embedded on-disk search index of the default mode. Writes are durable
// when Index returns (Bleve's scorch index waits for persistence), and keyed by the
// publication's id, so a replay changes nothing.
type Bleve struct {
	idx       bleve.Index
	closeOnce sync.Once
	closeErr  error
}

// bleveDoc is what Bleve indexes: flat fields for filters and facets, the analysed text,
// and the whole publication as stored JSON.
type bleveDoc struct {
	Text        string    `json:"text"`
	Network     string    `json:"network"`
	Kind        string    `json:"kind"`
	Owner       string    `json:"owner"`
	Source      string    `json:"source"`
	Topic       string    `json:"topic"`
	Location    string    `json:"location"`
	Priority    string    `json:"priority"`
	Agency      string    `json:"agency"`
	Drop        []string  `json:"drop"`
	Dropped     bool      `json:"dropped"`
	PublishedAt time.Time `json:"published_at"`
	FetchedAt   time.Time `json:"fetched_at"`
	Raw         string    `json:"raw"`
}

// OpenBleve opens the index at path, creating it with the Russian mapping if it does not
// exist.
func OpenBleve(path string) (*Bleve, error) {
	idx, err := bleve.Open(path)
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		m, merr := bleveMapping()
		if merr != nil {
			return nil, merr
		}
		idx, err = bleve.New(path, m)
	}
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	return &Bleve{idx: idx}, nil
}

func bleveMapping() (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	for name, cfg := range map[string]map[string]interface{}{
		yoCharFilter:    {"type": charregexp.Name, "regexp": "ё", "replace": "е"},
		yoCapCharFilter: {"type": charregexp.Name, "regexp": "Ё", "replace": "Е"},
	} {
		if err := m.AddCustomCharFilter(name, cfg); err != nil {
			return nil, fmt.Errorf("index: char filter %s: %w", name, err)
		}
	}
	if err := m.AddCustomAnalyzer(RussianAnalyzer, map[string]interface{}{
		"type":          custom.Name,
		"char_filters":  []string{yoCharFilter, yoCapCharFilter},
		"tokenizer":     unicode.Name,
		"token_filters": []string{lowercase.Name, ru.StopName, ru.SnowballStemmerName},
	}); err != nil {
		return nil, fmt.Errorf("index: analyzer: %w", err)
	}
	m.DefaultAnalyzer = keyword.Name

	doc := bleve.NewDocumentStaticMapping()
	text := bleve.NewTextFieldMapping()
	text.Analyzer = RussianAnalyzer
	text.Store = false
	text.IncludeTermVectors = false
	doc.AddFieldMappingsAt("text", text)
	for _, f := range []string{"network", "kind", "owner", "source", "topic", "location", "priority", "agency", "drop"} {
		kw := bleve.NewKeywordFieldMapping()
		kw.Store = false
		kw.IncludeInAll = false
		doc.AddFieldMappingsAt(f, kw)
	}
	dropped := bleve.NewBooleanFieldMapping()
	dropped.Store = false
	doc.AddFieldMappingsAt("dropped", dropped)
	for _, f := range []string{"published_at", "fetched_at"} {
		dt := bleve.NewDateTimeFieldMapping()
		dt.Store = false
		doc.AddFieldMappingsAt(f, dt)
	}
	raw := bleve.NewTextFieldMapping()
	raw.Index = false
	raw.Store = true
	raw.IncludeInAll = false
	raw.DocValues = false
	doc.AddFieldMappingsAt("raw", raw)
	m.DefaultMapping = doc
	return m, nil
}

// Index writes docs in one batch, replacing any earlier version with the same id. A
// document that cannot be encoded is returned in failed; err is set when the batch as a
// whole could not be written and must be retried.
func (b *Bleve) Index(ctx context.Context, docs []otklik.Publication) (map[string]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var failed map[string]error
	batch := b.idx.NewBatch()
	for i := range docs {
		d, err := toBleveDoc(&docs[i])
		if err == nil {
			err = batch.Index(docs[i].ID, d)
		}
		if err != nil {
			if failed == nil {
				failed = map[string]error{}
			}
			failed[docs[i].ID] = err
		}
	}
	if batch.Size() == 0 {
		return failed, nil
	}
	if err := b.idx.Batch(batch); err != nil {
		return nil, fmt.Errorf("index: write batch of %d: %w", batch.Size(), err)
	}
	return failed, nil
}

func toBleveDoc(p *otklik.Publication) (*bleveDoc, error) {
	if p.ID == "" {
		return nil, errors.New("publication without id")
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode publication: %w", err)
	}
	d := &bleveDoc{
		Text:        p.Text,
		Network:     string(p.Network),
		Kind:        string(p.Kind),
		Owner:       p.Owner,
		Source:      p.Source,
		PublishedAt: p.PublishedAt,
		FetchedAt:   p.FetchedAt,
		Raw:         string(raw),
	}
	if c := p.Class; c != nil {
		d.Topic, d.Location, d.Priority, d.Agency = c.Topic, c.Location, string(c.Priority), c.Agency
		for _, r := range c.Drop {
			d.Drop = append(d.Drop, string(r))
		}
		d.Dropped = len(c.Drop) > 0
	}
	return d, nil
}

// Search runs a curators' query.
func (b *Bleve) Search(ctx context.Context, q Query) (Result, error) {
	if err := q.Validate(); err != nil {
		return Result{}, err
	}
	conj := []query.Query{}
	if t := strings.TrimSpace(q.Text); t != "" {
		mq := bleve.NewMatchQuery(t)
		mq.SetField("text")
		mq.Analyzer = RussianAnalyzer
		mq.SetOperator(query.MatchQueryOperatorAnd)
		conj = append(conj, mq)
	}
	term := func(field, value string) {
		if value != "" {
			tq := bleve.NewTermQuery(value)
			tq.SetField(field)
			conj = append(conj, tq)
		}
	}
	term("topic", q.Topic)
	term("location", q.Location)
	term("priority", string(q.Priority))
	term("network", string(q.Network))
	dq := bleve.NewBoolFieldQuery(q.Dropped)
	dq.SetField("dropped")
	conj = append(conj, dq)
	if !q.From.IsZero() || !q.To.IsZero() {
		inclusive, exclusive := true, false
		rq := bleve.NewDateRangeInclusiveQuery(q.From, q.To, &inclusive, &exclusive)
		rq.SetField("published_at")
		conj = append(conj, rq)
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(conj...), q.Size, q.Offset, false)
	req.Fields = []string{"raw"}
	order := "-published_at"
	if q.Ascending {
		order = "published_at"
	}
	req.SortBy([]string{order, "_id"})
	res, err := b.idx.SearchInContext(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("index: search: %w", err)
	}
	out := Result{Total: int64(res.Total), Publications: make([]otklik.Publication, 0, len(res.Hits))}
	for _, h := range res.Hits {
		p, err := hitPublication(h)
		if err != nil {
			return Result{}, err
		}
		out.Publications = append(out.Publications, p)
	}
	return out, nil
}

func hitPublication(h *search.DocumentMatch) (otklik.Publication, error) {
	var p otklik.Publication
	raw, _ := h.Fields["raw"].(string)
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return p, fmt.Errorf("index: decode %s: %w", h.ID, err)
	}
	return p, nil
}

// Get returns the publication with id, dropped or not.
func (b *Bleve) Get(ctx context.Context, id string) (otklik.Publication, error) {
	req := bleve.NewSearchRequest(bleve.NewDocIDQuery([]string{id}))
	req.Fields = []string{"raw"}
	res, err := b.idx.SearchInContext(ctx, req)
	if err != nil {
		return otklik.Publication{}, fmt.Errorf("index: get %s: %w", id, err)
	}
	if len(res.Hits) == 0 {
		return otklik.Publication{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return hitPublication(res.Hits[0])
}

// Count returns how many documents the index holds.
func (b *Bleve) Count() (uint64, error) { return b.idx.DocCount() }

// Ready reports whether the index answers.
func (b *Bleve) Ready(context.Context) error {
	_, err := b.idx.DocCount()
	return err
}

// Close flushes and closes the index; closing twice is harmless.
func (b *Bleve) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.idx.Close() })
	return b.closeErr
}
