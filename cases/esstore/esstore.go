// Package esstore is the production cases.Store: the projection of case events in
// Elasticsearch 8 or OpenSearch 2.x, shared by every instance of the daemon.
//
// Two indices: <prefix> holds one document per case (_id = case id) with the case as an
// unindexed object and the fields searched on (stage, open, agency, involved, topic, due,
// detected_at, text); <prefix>-events holds one document per event (_id = event id). A
// case document is written with an external version equal to the case's Seq, so an older
// event arriving late (a redelivery, a rebuild) never overwrites a newer state, and the
// same event twice changes nothing. It speaks the plain REST API with net/http, which both
// engines share.
package esstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/otklik/otklik/cases"
)

// Config configures the store.
type Config struct {
	// URLs are the nodes, tried in order. Default http://127.0.0.1:9200.
	URLs []string `yaml:"urls"`
	// Username and Password are for HTTP basic authentication (empty: none).
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Index is the cases index; events go to Index+"-events". Default "otklik-cases".
	Index string `yaml:"index"`
	// Refresh is the refresh parameter of writes: "true" (default: a write is searchable
	// when Apply returns), "wait_for" or "false".
	Refresh string `yaml:"refresh"`
	// RequestTimeout bounds one HTTP request. Default 30s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() {
	if len(c.URLs) == 0 {
		c.URLs = []string{"http://127.0.0.1:9200"}
	}
	if c.Index == "" {
		c.Index = "otklik-cases"
	}
	if c.Refresh == "" {
		c.Refresh = "true"
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	for _, u := range c.URLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("esstore: url %q: want http(s)://host:port", u)
		}
	}
	if c.Index == "" || strings.ToLower(c.Index) != c.Index || strings.ContainsAny(c.Index, ` "*\<|,>/?#:`) {
		return fmt.Errorf("esstore: index %q: want a lower-case index name", c.Index)
	}
	switch c.Refresh {
	case "true", "false", "wait_for":
	default:
		return fmt.Errorf("esstore: refresh %q: want true, false or wait_for", c.Refresh)
	}
	if c.RequestTimeout <= 0 {
		return errors.New("esstore: request_timeout must be positive")
	}
	return nil
}

// Store implements cases.Store on Elasticsearch or OpenSearch.
type Store struct {
	cfg  Config
	http *http.Client
}

var _ cases.Store = (*Store)(nil)

// New returns the store for cfg (defaults filled in). It does not dial; Migrate creates the
// indices.
func New(cfg Config) (*Store, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, http: &http.Client{Timeout: cfg.RequestTimeout}}, nil
}

// errStatus is a response with an unexpected status.
type errStatus struct {
	status int
	body   string
}

func (e *errStatus) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }

func isStatus(err error, code int) bool {
	var e *errStatus
	return errors.As(err, &e) && e.status == code
}

// do sends a request to the first node that answers and decodes a 2xx JSON answer into
// out (when not nil).
func (s *Store) do(ctx context.Context, method, path string, body []byte, ctype string, out any) error {
	var last error
	for _, base := range s.cfg.URLs {
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		if body != nil {
			req.Header.Set("Content-Type", ctype)
		}
		if s.cfg.Username != "" {
			req.SetBasicAuth(s.cfg.Username, s.cfg.Password)
		}
		resp, err := s.http.Do(req)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			last = err
			continue
		}
		if resp.StatusCode >= 300 {
			return &errStatus{resp.StatusCode, string(b[:min(len(b), 500)])}
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("decode %s %s: %w", method, path, err)
			}
		}
		return nil
	}
	return last
}

func (s *Store) events() string { return s.cfg.Index + "-events" }

// Migrate creates the two indices if they do not exist. It is idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	settings := map[string]any{"number_of_shards": 1, "number_of_replicas": 0}
	for name, props := range map[string]map[string]any{
		s.cfg.Index: {
			"id": kw, "stage": kw, "open": map[string]any{"type": "boolean"}, "agency": kw, "involved": kw,
			"topic": kw, "due": date, "detected_at": date, "seq": map[string]any{"type": "long"},
			"text": map[string]any{"type": "text"}, "case": map[string]any{"type": "object", "enabled": false},
		},
		s.events(): {
			"id": kw, "case_id": kw, "seq": map[string]any{"type": "long"}, "at": date, "action": kw,
			"event": map[string]any{"type": "object", "enabled": false},
		},
	} {
		body, _ := json.Marshal(map[string]any{"settings": settings, "mappings": map[string]any{"dynamic": "strict", "properties": props}})
		err := s.do(ctx, http.MethodPut, "/"+name, body, "application/json", nil)
		if err != nil && !(isStatus(err, 400) && strings.Contains(err.Error(), "resource_already_exists")) {
			return fmt.Errorf("esstore: create index %s: %w", name, err)
		}
	}
	return nil
}

var (
	kw   = map[string]any{"type": "keyword"}
	date = map[string]any{"type": "date"}
)

// Ready checks that the cases index answers.
func (s *Store) Ready(ctx context.Context) error {
	return s.do(ctx, http.MethodGet, "/"+s.cfg.Index+"/_count", nil, "", nil)
}

type caseDoc struct {
	ID         string     `json:"id"`
	Stage      string     `json:"stage"`
	Open       bool       `json:"open"`
	Agency     string     `json:"agency"`
	Involved   []string   `json:"involved,omitempty"`
	Topic      string     `json:"topic,omitempty"`
	Due        *time.Time `json:"due,omitempty"`
	DetectedAt time.Time  `json:"detected_at"`
	Seq        int64      `json:"seq"`
	Text       string     `json:"text,omitempty"`
	Case       cases.Case `json:"case"`
}

func toDoc(c cases.Case) caseDoc {
	d := caseDoc{ID: c.ID, Stage: string(c.Stage), Open: c.Stage.Open(), Agency: c.Agency, Involved: c.Involved,
		Topic: c.Topic, DetectedAt: c.DetectedAt, Seq: c.Seq, Text: c.Publication.Text, Case: c}
	if d.Agency == "" {
		d.Agency = "none"
	}
	if !c.Due.IsZero() {
		due := c.Due
		d.Due = &due
	}
	return d
}

type eventDoc struct {
	ID     string      `json:"id"`
	CaseID string      `json:"case_id"`
	Seq    int64       `json:"seq"`
	At     time.Time   `json:"at"`
	Action string      `json:"action"`
	Event  cases.Event `json:"event"`
}

// Get implements cases.Store (a real-time get by id).
func (s *Store) Get(ctx context.Context, id string) (cases.Case, error) {
	var out struct {
		Found  bool    `json:"found"`
		Source caseDoc `json:"_source"`
	}
	err := s.do(ctx, http.MethodGet, "/"+s.cfg.Index+"/_doc/"+url.PathEscape(id), nil, "", &out)
	if isStatus(err, 404) || (err == nil && !out.Found) {
		return cases.Case{}, cases.ErrNotFound
	}
	if err != nil {
		return cases.Case{}, fmt.Errorf("esstore: get %s: %w", id, err)
	}
	return out.Source.Case, nil
}

// Apply implements cases.Store with one _bulk request: each event is indexed under its id,
// each case with external version Seq (an older or equal version is skipped).
func (s *Store) Apply(ctx context.Context, evs ...cases.Event) error {
	if len(evs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, ev := range evs {
		if ev.CaseID == "" || ev.Seq <= 0 || ev.Case.ID != ev.CaseID {
			return fmt.Errorf("esstore: malformed event %q", ev.ID)
		}
		h := ev
		h.Case = cases.Case{}
		enc.Encode(map[string]any{"index": map[string]any{"_index": s.events(), "_id": ev.ID}})
		enc.Encode(eventDoc{ID: ev.ID, CaseID: ev.CaseID, Seq: ev.Seq, At: ev.At, Action: string(ev.Action), Event: h})
		enc.Encode(map[string]any{"index": map[string]any{"_index": s.cfg.Index, "_id": ev.CaseID, "version": ev.Seq, "version_type": "external"}})
		enc.Encode(toDoc(ev.Case))
	}
	var out struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"items"`
	}
	if err := s.do(ctx, http.MethodPost, "/_bulk?refresh="+s.cfg.Refresh, buf.Bytes(), "application/x-ndjson", &out); err != nil {
		return fmt.Errorf("esstore: apply: %w", err)
	}
	if out.Errors {
		for _, it := range out.Items {
			for _, r := range it {
				if r.Status >= 300 && r.Status != http.StatusConflict { // 409: a newer version is stored
					return fmt.Errorf("esstore: apply: item status %d: %s", r.Status, r.Error)
				}
			}
		}
	}
	return nil
}

// History implements cases.Store.
func (s *Store) History(ctx context.Context, id string) ([]cases.Event, error) {
	body, _ := json.Marshal(map[string]any{
		"size": 10000, "query": map[string]any{"term": map[string]any{"case_id": id}},
		"sort": []any{map[string]any{"seq": "asc"}},
	})
	var out struct {
		Hits struct {
			Hits []struct {
				Source eventDoc `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := s.do(ctx, http.MethodPost, "/"+s.events()+"/_search", body, "application/json", &out); err != nil {
		return nil, fmt.Errorf("esstore: history of %s: %w", id, err)
	}
	evs := make([]cases.Event, 0, len(out.Hits.Hits))
	for _, h := range out.Hits.Hits {
		evs = append(evs, h.Source.Event)
	}
	return evs, nil
}

// query translates a cases.Query into a bool query.
func query(q cases.Query) map[string]any {
	var filter, mustNot []any
	term := func(f string, v any) map[string]any { return map[string]any{"term": map[string]any{f: v}} }
	if len(q.Stages) > 0 {
		filter = append(filter, map[string]any{"terms": map[string]any{"stage": q.Stages}})
	}
	if q.Open != nil {
		filter = append(filter, term("open", *q.Open))
	}
	if q.Agency != "" {
		filter = append(filter, term("agency", q.Agency))
	}
	if q.Involved != "" {
		filter = append(filter, term("involved", q.Involved))
	}
	if q.Topic != "" {
		filter = append(filter, term("topic", q.Topic))
	}
	if !q.DueBefore.IsZero() {
		filter = append(filter, map[string]any{"range": map[string]any{"due": map[string]any{"lt": q.DueBefore.Format(time.RFC3339Nano)}}})
	}
	if !q.DetectedAfter.IsZero() {
		filter = append(filter, map[string]any{"range": map[string]any{"detected_at": map[string]any{"gte": q.DetectedAfter.Format(time.RFC3339Nano)}}})
	}
	if q.Text != "" {
		filter = append(filter, map[string]any{"match_phrase": map[string]any{"text": q.Text}})
	}
	if q.Overdue != nil {
		overdue := map[string]any{"bool": map[string]any{"filter": []any{
			term("open", true),
			map[string]any{"range": map[string]any{"due": map[string]any{"lt": q.Now.Format(time.RFC3339Nano)}}},
		}}}
		if *q.Overdue {
			filter = append(filter, overdue)
		} else {
			mustNot = append(mustNot, overdue)
		}
	}
	b := map[string]any{}
	if filter != nil {
		b["filter"] = filter
	}
	if mustNot != nil {
		b["must_not"] = mustNot
	}
	return map[string]any{"bool": b}
}

// pageSize is the page of a search without a limit (read with search_after).
const pageSize = 1000

// Search implements cases.Store: sorted by due time (cases without one last), detection
// time and id. Without a limit it pages through every hit with search_after.
func (s *Store) Search(ctx context.Context, q cases.Query) ([]cases.Case, int, error) {
	req := map[string]any{
		"query":            query(q),
		"track_total_hits": true,
		"sort": []any{
			map[string]any{"due": map[string]any{"order": "asc", "missing": "_last"}},
			map[string]any{"detected_at": "asc"},
			map[string]any{"id": "asc"},
		},
	}
	all := q.Limit <= 0
	if all {
		req["size"] = pageSize
	} else {
		req["size"] = q.Limit
		req["from"] = q.Offset
	}
	var out []cases.Case
	total := 0
	for skipped := 0; ; {
		body, _ := json.Marshal(req)
		var res struct {
			Hits struct {
				Total struct {
					Value int `json:"value"`
				} `json:"total"`
				Hits []struct {
					Source caseDoc `json:"_source"`
					Sort   []any   `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := s.do(ctx, http.MethodPost, "/"+s.cfg.Index+"/_search", body, "application/json", &res); err != nil {
			return nil, 0, fmt.Errorf("esstore: search: %w", err)
		}
		total = res.Hits.Total.Value
		for _, h := range res.Hits.Hits {
			if all && skipped < q.Offset {
				skipped++
				continue
			}
			out = append(out, h.Source.Case)
		}
		if !all || len(res.Hits.Hits) < pageSize {
			return out, total, nil
		}
		req["search_after"] = res.Hits.Hits[len(res.Hits.Hits)-1].Sort
	}
}

// Reset implements cases.Store: it deletes both indices and creates them again.
func (s *Store) Reset(ctx context.Context) error {
	for _, name := range []string{s.cfg.Index, s.events()} {
		if err := s.do(ctx, http.MethodDelete, "/"+name, nil, "", nil); err != nil && !isStatus(err, 404) {
			return fmt.Errorf("esstore: delete %s: %w", name, err)
		}
	}
	return s.Migrate(ctx)
}

// Close implements cases.Store.
func (s *Store) Close() error {
	s.http.CloseIdleConnections()
	return nil
}
