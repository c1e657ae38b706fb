package index

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/otklik/otklik"
)

// Searcher is what the curators' search API needs of an engine.
type Searcher interface {
	Search(ctx context.Context, q Query) (Result, error)
	Get(ctx context.Context, id string) (otklik.Publication, error)
}

// API serves the curators' JSON search API:
//
//	GET /api/v1/publications?q=&topic=&location=&priority=&network=&from=&to=&dropped=&offset=&size=&sort=
//	GET /api/v1/publications/{id}
//
// from and to are RFC 3339 times or dates (YYYY-MM-DD, Europe/Saratov midnight); sort is
// "desc" (newest first, the default) or "asc"; dropped=true lists point-16 publications
// only. Errors are JSON {"error": "…"} in Russian, for the curators who read them.
type API struct {
	s      Searcher
	logger *slog.Logger
	zone   *time.Location
}

// NewAPI returns the API over s; dates without a time are midnight in zone.
func NewAPI(s Searcher, zone *time.Location, logger *slog.Logger) *API {
	if zone == nil {
		zone = time.UTC
	}
	return &API{s: s, logger: logger, zone: zone}
}

// Register mounts the API on mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/publications", a.list)
	mux.HandleFunc("GET /api/v1/publications/{id}", a.get)
}

// listResponse is the JSON of a search.
type listResponse struct {
	Total        int64                `json:"total"`
	Offset       int                  `json:"offset"`
	Size         int                  `json:"size"`
	Publications []otklik.Publication `json:"publications"`
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	q, err := a.parseQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := q.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, russianQueryError(err))
		return
	}
	res, err := a.s.Search(r.Context(), q)
	if err != nil {
		a.logger.Error("search failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "поиск временно недоступен, повторите запрос позже")
		return
	}
	writeJSON(w, http.StatusOK, listResponse{Total: res.Total, Offset: q.Offset, Size: q.Size, Publications: res.Publications})
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	p, err := a.s.Get(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "публикация не найдена")
	case err != nil:
		a.logger.Error("get failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "поиск временно недоступен, повторите запрос позже")
	default:
		writeJSON(w, http.StatusOK, p)
	}
}

// queryError is a bad parameter, described for a curator.
type queryError string

func (e queryError) Error() string { return string(e) }

func (a *API) parseQuery(v url.Values) (Query, error) {
	q := Query{
		Text:     v.Get("q"),
		Topic:    v.Get("topic"),
		Location: v.Get("location"),
		Priority: otklik.Priority(v.Get("priority")),
		Network:  otklik.Network(v.Get("network")),
	}
	var err error
	if q.From, err = a.parseTime(v.Get("from")); err != nil {
		return q, queryError("параметр from: ожидается дата ГГГГ-ММ-ДД или время RFC 3339")
	}
	if q.To, err = a.parseTime(v.Get("to")); err != nil {
		return q, queryError("параметр to: ожидается дата ГГГГ-ММ-ДД или время RFC 3339")
	}
	if s := v.Get("dropped"); s != "" {
		if q.Dropped, err = strconv.ParseBool(s); err != nil {
			return q, queryError("параметр dropped: ожидается true или false")
		}
	}
	for name, dst := range map[string]*int{"offset": &q.Offset, "size": &q.Size} {
		if s := v.Get(name); s != "" {
			if *dst, err = strconv.Atoi(s); err != nil {
				return q, queryError("параметр " + name + ": ожидается целое число")
			}
		}
	}
	switch strings.ToLower(v.Get("sort")) {
	case "", "desc":
	case "asc":
		q.Ascending = true
	default:
		return q, queryError("параметр sort: ожидается asc или desc")
	}
	return q, nil
}

func (a *API) parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02", s, a.zone)
}

func russianQueryError(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "offset"):
		return "параметр offset: допустимо от 0 до " + strconv.Itoa(MaxOffset)
	case strings.Contains(msg, "size"):
		return "параметр size: допустимо от 1 до " + strconv.Itoa(MaxSize)
	case strings.Contains(msg, "priority"):
		return "параметр priority: допустимые значения critical, high, medium, low"
	case strings.Contains(msg, "network"):
		return "параметр network: допустимые значения vk, ok, facebook, instagram, demo"
	case strings.Contains(msg, "from must be before to"):
		return "параметр from должен быть раньше to"
	}
	return "неверный запрос: " + msg
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
