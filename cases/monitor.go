package cases

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	open, dueSoon, overdue *prometheus.GaugeVec
	breaches               *prometheus.CounterVec
	notifications          *prometheus.CounterVec
	consumed, retries      *prometheus.CounterVec
	opened                 prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	labels := []string{"stage", "agency"}
	m := &metrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "otklik_cases_open",
			Help: "Open cases by stage and agency (agency \"none\": with the curator), as of the last monitor pass."}, labels),
		dueSoon: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "otklik_cases_due_soon",
			Help: "Open cases whose current deadline is within the notification lead."}, labels),
		overdue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "otklik_cases_overdue",
			Help: "Open cases past their current deadline."}, labels),
		breaches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otklik_cases_breaches_total",
			Help: "Deadlines missed, by the stage whose deadline it was and the agency responsible."}, labels),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otklik_cases_notifications_total",
			Help: "Deadline notifications by kind (due_soon, breach) and result (ok, error, logged: no webhook configured)."}, []string{"kind", "result"}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otklik_cases_publications_total",
			Help: "Classified publications read by the cases service, by result (opened; skipped: already open, dropped or by an agency account; dead_letter; bad_event: an unreadable record on the case topic)."}, []string{"result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "otklik_cases_retries_total",
			Help: "Retries of handling or committing a bus message, by topic."}, []string{"topic"}),
		opened: prometheus.NewCounter(prometheus.CounterOpts{Name: "otklik_cases_opened_total",
			Help: "Cases opened."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.open, m.dueSoon, m.overdue, m.breaches, m.notifications, m.consumed, m.retries, m.opened} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("cases: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// agencyLabel keeps the agency label bounded by the configured agencies.
func (s *Service) agencyLabel(a string) string {
	if a == "" {
		return "none"
	}
	if _, ok := s.m.agencies[a]; ok {
		return a
	}
	return "unknown"
}

// breachesFrom counts the breaches n has and old had not.
func (m *metrics) breachesFrom(old, n *Case) {
	for _, b := range n.Breaches[min(len(old.Breaches), len(n.Breaches)):] {
		agency := b.Agency
		if agency == "" {
			agency = "none"
		}
		m.breaches.WithLabelValues(string(b.Stage), agency).Inc()
	}
}

// Notification is what the monitor sends before a deadline and on a breach: logged, and
// POSTed as JSON to Config.Notify.Webhook.
type Notification struct {
	// Kind is "due_soon" or "breach".
	Kind string `json:"kind"`
	// Case, its stage and the agency responsible ("" for the curator).
	CaseID     string `json:"case_id"`
	Stage      Stage  `json:"stage"`
	StageName  string `json:"stage_name"`
	Agency     string `json:"agency,omitempty"`
	AgencyName string `json:"agency_name,omitempty"`
	// Deadline is "stage" (the current stage's) or "answer" (the answer's); Due its time.
	Deadline string    `json:"deadline"`
	Due      time.Time `json:"due"`
	// URL is the publication's link.
	URL string `json:"url,omitempty"`
	// Recipients are the user names to notify: the agency's executors and officials, and
	// the curators. Officials (breaches only) are Config.Officials, for point 18.
	Recipients []string `json:"recipients"`
	Officials  []string `json:"officials,omitempty"`
	// Text is the message in Russian.
	Text string `json:"text"`
}

// RunMonitor runs Check every Config.MonitorInterval until ctx is done.
func (s *Service) RunMonitor(ctx context.Context) error {
	t := time.NewTicker(s.cfg.MonitorInterval)
	defer t.Stop()
	for {
		if err := s.Check(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("cases: deadline monitor", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Check is one pass of the deadline monitor at the current time: it updates the
// otklik_cases_open/due_soon/overdue gauges, records every newly missed deadline as a
// breach event, and notifies before deadlines (Config.Notify.Lead) and on breaches.
func (s *Service) Check(ctx context.Context) error {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	now := s.now()
	open := true
	cs, _, err := s.store.Search(ctx, Query{Open: &open})
	if err != nil {
		return err
	}
	s.met.open.Reset()
	s.met.dueSoon.Reset()
	s.met.overdue.Reset()
	var notes []Notification
	var late []string // cases with a deadline passed
	seen := map[string]bool{}
	for i := range cs {
		c := &cs[i]
		stage, agency := string(c.Stage), s.agencyLabel(c.Agency)
		s.met.open.WithLabelValues(stage, agency).Inc()
		switch {
		case c.Overdue(now):
			s.met.overdue.WithLabelValues(stage, agency).Inc()
			if !hasBreach(c, c.Stage, "stage", c.Due) {
				late = append(late, c.ID)
			}
		case !c.Due.IsZero() && c.Due.Sub(now) <= s.cfg.Notify.Lead:
			s.met.dueSoon.WithLabelValues(stage, agency).Inc()
			key := c.ID + "|" + stage + "|" + c.Due.String()
			seen[key] = true
			if !s.notified[key] {
				s.notified[key] = true
				notes = append(notes, s.note("due_soon", c, "stage", c.Due))
			}
		}
		if d := answerDeadline(c); !d.IsZero() && now.After(d) && !hasBreach(c, c.Stage, "answer", d) &&
			(len(late) == 0 || late[len(late)-1] != c.ID) {
			late = append(late, c.ID)
		}
	}
	for k := range s.notified {
		if !seen[k] {
			delete(s.notified, k)
		}
	}
	for len(late) > 0 {
		batch := late[:min(len(late), 500)]
		late = late[len(batch):]
		n, err := s.breaches(ctx, batch, now)
		notes = append(notes, n...)
		if err != nil {
			return err
		}
	}
	for _, n := range notes {
		s.send(ctx, n)
	}
	return nil
}

// answerDeadline is the deadline of the answer still owed: the answer's, or the final
// answer's after an interim one.
func answerDeadline(c *Case) time.Time {
	if c.Interim != nil {
		return c.FinalDue
	}
	return c.AnswerDue
}

// breaches records the missed deadlines (the current stage's, and the answer's) of the
// cases ids not yet recorded, in one write, and returns the notifications to send.
func (s *Service) breaches(ctx context.Context, ids []string, now time.Time) ([]Notification, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var evs []Event
	var notes []Notification
	var olds, news []Case
	for _, id := range ids {
		c, err := s.store.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if !c.Stage.Open() {
			continue
		}
		n := c.clone()
		var reasons []string
		for _, kind := range []string{"stage", "answer"} {
			due := c.Due
			if kind == "answer" {
				due = answerDeadline(&c)
			}
			if due.IsZero() || !now.After(due) || !addBreach(&n, c.Stage, responsible(&c), kind, due, now) {
				continue
			}
			reasons = append(reasons, fmt.Sprintf("срок %s истёк %s", map[string]string{"stage": "этапа", "answer": "ответа"}[kind], s.m.fmtTime(due)))
			notes = append(notes, s.note("breach", &n, kind, due))
		}
		if len(reasons) == 0 {
			continue
		}
		evs = append(evs, s.event(&c, &n, Breach, system, strings.Join(reasons, "; "), nil, now))
		olds, news = append(olds, c), append(news, n)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	if err := s.record(ctx, evs...); err != nil {
		return nil, err
	}
	for i := range olds {
		s.met.breachesFrom(&olds[i], &news[i])
	}
	return notes, nil
}

func (s *Service) note(kind string, c *Case, deadline string, due time.Time) Notification {
	agency := responsible(c)
	n := Notification{
		Kind: kind, CaseID: c.ID, Stage: c.Stage, StageName: c.Stage.Russian(), Agency: agency,
		AgencyName: s.m.agencies[agency].Name, Deadline: deadline, Due: due, URL: c.Publication.URL,
	}
	for _, u := range s.cfg.Users {
		if u.Role == Curator || (agency != "" && u.Agency == agency && (u.Role == Executor || u.Role == Official)) {
			n.Recipients = append(n.Recipients, u.Name)
		}
	}
	who := "куратор"
	if n.AgencyName != "" {
		who = n.AgencyName
	}
	what := fmt.Sprintf("этапа «%s»", c.Stage.Russian())
	if deadline == "answer" {
		what = "ответа на публикацию"
	}
	if kind == "breach" {
		n.Officials = slices.Clone(s.cfg.Officials)
		n.Text = fmt.Sprintf("Обращение %s: нарушен срок %s (срок истёк %s). Ответственный: %s.", c.ID, what, s.m.fmtTime(due), who)
	} else {
		n.Text = fmt.Sprintf("Обращение %s: срок %s истекает %s. Ответственный: %s.", c.ID, what, s.m.fmtTime(due), who)
	}
	return n
}

// send logs n and posts it to the webhook, counting the result.
func (s *Service) send(ctx context.Context, n Notification) {
	s.log.Info("cases: notification", "kind", n.Kind, "case", n.CaseID, "stage", n.Stage, "agency", n.Agency,
		"due", n.Due, "recipients", n.Recipients, "text", n.Text)
	if s.cfg.Notify.Webhook == "" {
		s.met.notifications.WithLabelValues(n.Kind, "logged").Inc()
		return
	}
	body, _ := json.Marshal(n)
	result := "ok"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Notify.Webhook, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		if resp, err = s.http.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
	}
	if err != nil {
		result = "error"
		s.log.Warn("cases: webhook notification failed", "kind", n.Kind, "case", n.CaseID, "err", err)
	}
	s.met.notifications.WithLabelValues(n.Kind, result).Inc()
}

// BreachEntry is one missed deadline in the monthly report.
type BreachEntry struct {
	CaseID string `json:"case_id"`
	BreachRecord
}

// Breaches returns the breaches recorded in [from, to), for the monthly report (point 18).
func (s *Service) Breaches(ctx context.Context, from, to time.Time) ([]BreachEntry, error) {
	cs, _, err := s.store.Search(ctx, Query{})
	if err != nil {
		return nil, err
	}
	var out []BreachEntry
	for _, c := range cs {
		for _, b := range c.Breaches {
			if !b.At.Before(from) && b.At.Before(to) {
				out = append(out, BreachEntry{CaseID: c.ID, BreachRecord: b})
			}
		}
	}
	slices.SortFunc(out, func(a, b BreachEntry) int { return a.At.Compare(b.At) })
	return out, nil
}
