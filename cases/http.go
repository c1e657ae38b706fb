package cases

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// View is a case as the API returns it: the case, whether it is overdue now, and the
// Russian names a curator reads.
type View struct {
	Case
	Overdue    bool   `json:"overdue"`
	StageName  string `json:"stage_name"`
	TopicName  string `json:"topic_name,omitempty"`
	AgencyName string `json:"agency_name,omitempty"`
}

func (s *Service) view(c Case, now time.Time) View {
	return View{Case: c, Overdue: c.Overdue(now), StageName: c.Stage.Russian(), TopicName: Topics()[c.Topic],
		AgencyName: s.m.agencies[c.Agency].Name}
}

// Named is an id with its Russian name.
type Named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Dictionary lists the ids the API uses with their Russian names, for a user interface.
type Dictionary struct {
	Stages   []Named `json:"stages"`
	Actions  []Named `json:"actions"`
	Topics   []Named `json:"topics"`
	Agencies []Named `json:"agencies"`
	// Timers are the region's deadlines in effect.
	Timers Timers `json:"timers"`
}

func (s *Service) dictionary() Dictionary {
	d := Dictionary{Timers: s.cfg.Timers}
	for _, st := range Stages() {
		d.Stages = append(d.Stages, Named{string(st), st.Russian()})
	}
	for _, a := range UserActions() {
		d.Actions = append(d.Actions, Named{string(a), a.Russian()})
	}
	for _, id := range []string{"housing", "roads", "transport", "health", "education", "social", "waste", "ecology",
		"landscaping", "culture", "sport", "agriculture", "economy", "safety", "animals", "other"} {
		d.Topics = append(d.Topics, Named{id, Topics()[id]})
	}
	for _, a := range s.cfg.Agencies {
		d.Agencies = append(d.Agencies, Named{a.ID, a.Name})
	}
	return d
}

// Handler serves the cases API under /api/v1/cases, for the daemon's HTTP server:
//
//	GET  /api/v1/cases                  list and search: stage (repeatable or comma-separated),
//	                                    agency ("none": with the curator), overdue=true|false,
//	                                    due_before=RFC3339, open=true|false, topic, q (text),
//	                                    limit (default 100, at most 1000), offset
//	GET  /api/v1/cases/{id}             the case and its full history
//	POST /api/v1/cases/{id}/{action}    an action (route, return, contribute, draft, send_back,
//	                                    revise, approve, publish, close, merge) with a Request body
//	GET  /api/v1/cases/breaches         missed deadlines, from=RFC3339&to=RFC3339 (point 18)
//	GET  /api/v1/cases/report?month=2026-11  the monthly report: per agency timeliness and
//	                                    breaches, with the officials it goes to (point 18)
//	GET  /api/v1/cases/dictionary       stages, actions, topics and agencies with their Russian
//	                                    names, and the timers in effect
//
// Every request is authenticated (Authorization: Bearer <token>, or HTTP Basic). Errors are
// JSON {"code": "...", "message": "<in Russian>"}.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/cases", s.auth(s.handleList))
	mux.HandleFunc("GET /api/v1/cases/breaches", s.auth(s.handleBreaches))
	mux.HandleFunc("GET /api/v1/cases/report", s.auth(s.handleReport))
	mux.HandleFunc("GET /api/v1/cases/dictionary", s.auth(func(w http.ResponseWriter, _ *http.Request, _ Actor) {
		writeJSON(w, http.StatusOK, s.dictionary())
	}))
	mux.HandleFunc("GET /api/v1/cases/{id}", s.auth(s.handleGet))
	mux.HandleFunc("POST /api/v1/cases/{id}/{action}", s.auth(s.handleAction))
	return mux
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, who Actor)

func (s *Service) auth(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, ok := s.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="otklik", charset="UTF-8"`)
			writeError(w, &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
				Message: "Требуется вход: укажите токен (Authorization: Bearer …) или логин и пароль"})
			return
		}
		h(w, r, who)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "internal",
			Message: "Внутренняя ошибка сервиса обращений; попробуйте позже или сообщите администратору"}
	}
	writeJSON(w, e.Status, e)
}

func badRequest(format string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: ErrInvalid.Code, Message: format}
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request, who Actor) {
	v := r.URL.Query()
	q := Query{Agency: v.Get("agency"), Topic: v.Get("topic"), Text: v.Get("q"), Limit: 100, Now: s.now()}
	for _, st := range v["stage"] {
		for _, x := range strings.Split(st, ",") {
			if x = strings.TrimSpace(x); x != "" {
				if !Stage(x).valid() {
					writeError(w, badRequest("Неизвестный этап «"+x+"»"))
					return
				}
				q.Stages = append(q.Stages, Stage(x))
			}
		}
	}
	for name, dst := range map[string]**bool{"overdue": &q.Overdue, "open": &q.Open} {
		if x := v.Get(name); x != "" {
			b, err := strconv.ParseBool(x)
			if err != nil {
				writeError(w, badRequest("Параметр "+name+" должен быть true или false"))
				return
			}
			*dst = &b
		}
	}
	if x := v.Get("due_before"); x != "" {
		t, err := time.Parse(time.RFC3339, x)
		if err != nil {
			writeError(w, badRequest("Параметр due_before должен быть временем в формате RFC 3339, например 2026-11-30T18:00:00+04:00"))
			return
		}
		q.DueBefore = t
	}
	for name, dst := range map[string]*int{"limit": &q.Limit, "offset": &q.Offset} {
		if x := v.Get(name); x != "" {
			n, err := strconv.Atoi(x)
			if err != nil || n < 0 {
				writeError(w, badRequest("Параметр "+name+" должен быть неотрицательным числом"))
				return
			}
			*dst = n
		}
	}
	q.Limit = min(max(q.Limit, 1), 1000)
	cs, total, err := s.Search(r.Context(), q, who)
	if err != nil {
		writeError(w, err)
		return
	}
	out := struct {
		Total int    `json:"total"`
		Cases []View `json:"cases"`
	}{Total: total, Cases: make([]View, 0, len(cs))}
	for _, c := range cs {
		out.Cases = append(out.Cases, s.view(c, q.Now))
	}
	writeJSON(w, http.StatusOK, out)
}

func (st Stage) valid() bool {
	for _, s := range Stages() {
		if s == st {
			return true
		}
	}
	return false
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request, who Actor) {
	c, h, err := s.Get(r.Context(), r.PathValue("id"), who)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Case    View    `json:"case"`
		History []Event `json:"history"`
	}{s.view(c, s.now()), h})
}

func (s *Service) handleAction(w http.ResponseWriter, r *http.Request, who Actor) {
	var req Request
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, badRequest("Тело запроса должно быть JSON-объектом с полями действия (version, reason, text, …): "+err.Error()))
		return
	}
	c, err := s.Do(r.Context(), r.PathValue("id"), Action(r.PathValue("action")), req, who)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			s.log.Error("cases: action failed", "case", r.PathValue("id"), "action", r.PathValue("action"), "err", err)
		}
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Case View `json:"case"`
	}{s.view(c, s.now())})
}

func (s *Service) handleBreaches(w http.ResponseWriter, r *http.Request, who Actor) {
	if who.Role != Curator && who.Role != Admin && who.Role != Official {
		writeError(w, refuse(ErrForbidden, "Отчёт о нарушениях сроков доступен куратору, администратору и ответственному лицу ведомства"))
		return
	}
	from, to := time.Time{}, s.now()
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if x := r.URL.Query().Get(name); x != "" {
			t, err := time.Parse(time.RFC3339, x)
			if err != nil {
				writeError(w, badRequest("Параметр "+name+" должен быть временем в формате RFC 3339"))
				return
			}
			*dst = t
		}
	}
	bs, err := s.Breaches(r.Context(), from, to)
	if err != nil {
		writeError(w, err)
		return
	}
	out := struct {
		Officials []string      `json:"officials"`
		Breaches  []BreachEntry `json:"breaches"`
	}{Officials: s.cfg.Officials, Breaches: []BreachEntry{}}
	for _, b := range bs {
		if who.Role == Official && b.Agency != who.Agency {
			continue
		}
		out.Breaches = append(out.Breaches, b)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) handleReport(w http.ResponseWriter, r *http.Request, who Actor) {
	if who.Role != Curator && who.Role != Admin {
		writeError(w, refuse(ErrForbidden, "Ежемесячный отчёт доступен куратору и администратору"))
		return
	}
	month := r.URL.Query().Get("month")
	if month == "" {
		month = s.now().Format("2006-01")
	}
	rep, err := s.MonthlyReport(r.Context(), month)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
