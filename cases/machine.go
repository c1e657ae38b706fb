package cases

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/cases/worktime"
)

// machine is the workflow: pure transitions of a case, with deadlines from the clock. It
// does no I/O; the Service stores and publishes what it returns.
type machine struct {
	clock    *worktime.Clock
	t        Timers
	agencies map[string]Agency
	byTopic  map[string]string // topic → default agency id
}

func newMachine(cfg Config, clock *worktime.Clock) *machine {
	m := &machine{clock: clock, t: cfg.Timers, agencies: map[string]Agency{}, byTopic: map[string]string{}}
	for _, a := range cfg.Agencies {
		m.agencies[a.ID] = a
		for _, t := range a.Topics {
			if _, ok := m.byTopic[t]; !ok {
				m.byTopic[t] = a.ID
			}
		}
	}
	return m
}

// suggestAgency maps the classifier's agency (an id or a Russian name) or, failing that,
// the topic to a configured agency id.
func (m *machine) suggestAgency(c *otklik.Classification) string {
	if c == nil {
		return ""
	}
	if a := strings.TrimSpace(c.Agency); a != "" {
		if _, ok := m.agencies[a]; ok {
			return a
		}
		for id, ag := range m.agencies {
			if strings.EqualFold(ag.Name, a) {
				return id
			}
		}
	}
	return m.byTopic[c.Topic]
}

// open builds the first version of the case of a classified publication. Detection is the
// publication's FetchedAt (now when unset).
func (m *machine) open(p *otklik.Publication, now time.Time) Case {
	detected := p.FetchedAt
	if detected.IsZero() {
		detected = now
	}
	ref := PublicationRef{
		ID: p.ID, Network: p.Network, URL: p.URL, Author: p.Author, Text: p.Text,
		PublishedAt: p.PublishedAt, FetchedAt: p.FetchedAt,
	}
	if p.Class != nil {
		ref.Topic, ref.Location, ref.Priority = p.Class.Topic, p.Class.Location, p.Class.Priority
		ref.Agency = m.suggestAgency(p.Class)
	}
	c := Case{
		ID: p.ID, Version: 1, Seq: 1, Stage: Detected, StageSince: now, Publication: ref,
		Topic: ref.Topic, Location: ref.Location, Priority: ref.Priority,
		DetectedAt: detected,
	}
	c.AnswerDue = m.clock.Add(detected, m.t.Answer)
	c.DraftDue = m.clock.Sub(c.AnswerDue, m.t.DraftLead)
	c.Due = m.clock.Add(detected, m.t.Route)
	return c
}

// responsible is the agency answerable for the current stage ("" for the curator).
func responsible(c *Case) string {
	switch c.Stage {
	case Routed, Revision, Approved, AwaitingFinal:
		return c.Agency
	}
	return ""
}

// hasBreach reports whether c has the breach already.
func hasBreach(c *Case, stage Stage, kind string, due time.Time) bool {
	for _, b := range c.Breaches {
		if b.Kind == kind && b.Due.Equal(due) && (kind == "answer" || b.Stage == stage) {
			return true
		}
	}
	return false
}

// addBreach records a missed deadline once: a stage's by stage and due time, the answer's
// by due time.
func addBreach(c *Case, stage Stage, agency, kind string, due, at time.Time) bool {
	if hasBreach(c, stage, kind, due) {
		return false
	}
	c.Breaches = append(c.Breaches, BreachRecord{Stage: stage, Agency: agency, Kind: kind, Due: due, At: at})
	return true
}

var actionRoles = map[Action][]Role{
	Route:      {Curator, Admin},
	SendBack:   {Curator, Admin},
	Approve:    {Curator, Admin},
	Close:      {Curator, Admin},
	Merge:      {Curator, Admin},
	Return:     {Executor, Official, Admin},
	Contribute: {Executor, Official, Admin},
	Draft:      {Executor, Official, Admin},
	Revise:     {Executor, Official, Admin},
	Publish:    {Representative, Official, Curator, Admin},
}

var actionStages = map[Action][]Stage{
	Route:      {Detected, Returned},
	Close:      {Detected, Returned},
	Merge:      {Detected, Returned},
	Return:     {Routed},
	Contribute: {Routed},
	Draft:      {Routed, AwaitingFinal},
	SendBack:   {Review},
	Revise:     {Revision},
	Approve:    {Review},
	Publish:    {Approved},
}

// UserActions lists the actions users perform, as in the HTTP API.
func UserActions() []Action {
	return []Action{Route, Return, Contribute, Draft, SendBack, Revise, Approve, Publish, Close, Merge}
}

// fmtTime formats a deadline for a Russian message, in the clock's zone.
func (m *machine) fmtTime(t time.Time) string {
	return t.In(m.clock.Location()).Format("02.01.2006 15:04")
}

// apply performs a user action on c at now and returns the case as it becomes (Version
// incremented; the caller sets Seq). Merge is checked here but completed by the Service,
// which also updates the target case.
func (m *machine) apply(c Case, a Action, req Request, who Actor, now time.Time) (Case, error) {
	roles, ok := actionRoles[a]
	if !ok {
		return c, refuse(ErrInvalid, "Неизвестное действие «%s»", a)
	}
	if !slices.Contains(roles, who.Role) {
		return c, refuse(ErrForbidden, "Действие «%s» не разрешено роли «%s»", a.Russian(), who.Role)
	}
	if req.Version == 0 {
		return c, refuse(ErrInvalid, "Укажите версию обращения (поле version), на которой основано действие")
	}
	if req.Version != c.Version {
		return c, refuse(ErrConflict, "Обращение уже изменено (версия %d, а действие основано на версии %d): обновите страницу и повторите действие", c.Version, req.Version)
	}
	if !slices.Contains(actionStages[a], c.Stage) {
		return c, refuse(ErrTransition, "Действие «%s» недоступно: обращение %s", a.Russian(), c.Stage.Russian())
	}
	if who.Role.agencyBound() {
		switch {
		case a == Publish && who.Agency != c.Agency:
			return c, refuse(ErrForbidden, "Опубликовать ответ может только представитель ведомства, готовившего ответ")
		case a != Publish && who.Agency != c.Agency:
			return c, refuse(ErrForbidden, "Обращение сейчас не у вашего ведомства")
		}
	}
	n := c.clone()
	req.Reason = strings.TrimSpace(req.Reason)
	req.Text = strings.TrimSpace(req.Text)
	req.Measures = strings.TrimSpace(req.Measures)
	// A stage left after its deadline is a breach.
	if !c.Due.IsZero() && now.After(c.Due) {
		addBreach(&n, c.Stage, responsible(&c), "stage", c.Due, now)
	}
	switch a {
	case Route:
		if err := m.route(&n, req, now); err != nil {
			return c, err
		}
	case Return:
		if req.Reason == "" {
			return c, refuse(ErrNeedsReason, "Укажите причину возврата")
		}
		if now.After(n.ReturnDue) {
			return c, refuse(ErrTooLate, "Вернуть обращение можно было до %s (%s после распределения); срок истёк — подготовьте ответ или свяжитесь с куратором",
				m.fmtTime(n.ReturnDue), ruDuration(m.t.Return))
		}
		n.Stage, n.Agency, n.ReturnDue = Returned, "", time.Time{}
		n.Due = m.clock.Add(now, m.t.Route)
	case Contribute:
		if n.Current >= len(n.Agencies)-1 {
			return c, refuse(ErrTransition, "Ваше ведомство последнее в очереди: направьте куратору проект совместного ответа (действие draft)")
		}
		if req.Text == "" {
			return c, refuse(ErrInvalid, "Текст вклада в совместный ответ пуст")
		}
		n.Contributions = append(n.Contributions, Text{Text: req.Text, Agency: n.Agency, By: who.User, At: now})
		n.Current++
		n.Agency = n.Agencies[n.Current]
		n.ReturnDue = m.clock.Add(now, m.t.Return)
		n.Due = n.DraftDue
		if n.Current < len(n.Agencies)-1 {
			n.Due = m.clock.Add(now, m.t.Contribution)
		}
	case Draft:
		kind := req.Kind
		if kind == "" {
			kind = Answer
		}
		if kind != Answer && kind != Interim && kind != Question {
			return c, refuse(ErrInvalid, "Неизвестный вид ответа «%s»: answer, interim или question", kind)
		}
		if n.Stage == Routed && n.Current < len(n.Agencies)-1 {
			return c, refuse(ErrTransition, "Проект совместного ответа пишет последнее ведомство (%s); ваше ведомство вносит вклад (действие contribute)", n.Agencies[len(n.Agencies)-1])
		}
		if n.Stage == AwaitingFinal && kind != Answer {
			return c, refuse(ErrInvalid, "Промежуточный ответ уже дан: теперь нужен окончательный (kind=answer)")
		}
		if err := m.checkText(&n, req.Text, req.Measures); err != nil {
			return c, err
		}
		n.Draft = &Text{Kind: kind, Text: req.Text, Measures: req.Measures, Agency: n.Agency, By: who.User, At: now}
		n.Stage, n.ReturnDue = Review, time.Time{}
		n.Due = m.clock.Add(now, m.t.Review)
	case SendBack:
		if req.Reason == "" {
			return c, refuse(ErrNeedsReason, "Укажите, что нужно доработать")
		}
		n.Stage = Revision
		n.Due = m.clock.Add(now, m.t.Revision)
	case Revise:
		kind := n.Draft.Kind
		if req.Kind != "" {
			kind = req.Kind
		}
		if kind != Answer && kind != Interim && kind != Question {
			return c, refuse(ErrInvalid, "Неизвестный вид ответа «%s»: answer, interim или question", kind)
		}
		if n.Interim != nil && kind != Answer {
			return c, refuse(ErrInvalid, "Промежуточный ответ уже дан: теперь нужен окончательный (kind=answer)")
		}
		measures := req.Measures
		if measures == "" {
			measures = n.Draft.Measures
		}
		if err := m.checkText(&n, req.Text, measures); err != nil {
			return c, err
		}
		n.Draft = &Text{Kind: kind, Text: req.Text, Measures: measures, Agency: n.Agency, By: who.User, At: now}
		n.Stage = Review
		n.Due = m.clock.Add(now, m.t.Review)
	case Approve:
		n.Stage = Approved
		n.Due = m.clock.Add(now, m.t.Publish)
	case Publish:
		pub := *n.Draft
		pub.URL, pub.PublishedAt = strings.TrimSpace(req.URL), now
		n.Draft = nil
		if (pub.Kind == Interim || pub.Kind == Question) && n.Interim == nil {
			if now.After(n.AnswerDue) {
				addBreach(&n, Published, n.Agency, "answer", n.AnswerDue, now)
			}
			n.Interim = &pub
			n.Stage = AwaitingFinal
			n.FinalDue = m.clock.AddDays(now, m.t.FinalDays)
			n.DraftDue = m.clock.Sub(n.FinalDue, m.t.DraftLead)
			n.Due = n.DraftDue
			break
		}
		deadline := n.AnswerDue
		if n.Interim != nil {
			deadline = n.FinalDue
		}
		if now.After(deadline) {
			addBreach(&n, Published, n.Agency, "answer", deadline, now)
		}
		n.Answer = &pub
		n.Stage, n.Due, n.ClosedAt = Published, time.Time{}, now
	case Close:
		if req.Reason == "" {
			return c, refuse(ErrNeedsReason, "Укажите, почему обращение закрывается без ответа")
		}
		n.Stage, n.Due, n.ClosedAt, n.Reason = Closed, time.Time{}, now, req.Reason
	case Merge:
		if req.Into == "" || req.Into == n.ID {
			return c, refuse(ErrInvalid, "Укажите другое обращение, с которым объединить (поле into)")
		}
		n.Stage, n.Due, n.ClosedAt, n.MergedInto = Merged, time.Time{}, now, req.Into
	}
	if n.Stage != c.Stage {
		n.StageSince = now
	}
	n.Version++
	return n, nil
}

func (m *machine) route(n *Case, req Request, now time.Time) error {
	if req.Topic != "" {
		n.Topic = req.Topic
	}
	if _, ok := Topics()[n.Topic]; !ok {
		return refuse(ErrInvalid, "Неизвестная тема «%s»", n.Topic)
	}
	if req.Location != "" {
		n.Location = strings.TrimSpace(req.Location)
	}
	if req.Priority != "" {
		n.Priority = req.Priority
	}
	switch n.Priority {
	case otklik.Critical, otklik.High, otklik.Medium, otklik.Low:
	default:
		return refuse(ErrInvalid, "Неизвестная категория важности «%s»: critical, high, medium или low", n.Priority)
	}
	agencies := req.Agencies
	if len(agencies) == 0 {
		if a := n.Publication.Agency; a != "" && req.Topic == "" {
			agencies = []string{a}
		} else if a := m.byTopic[n.Topic]; a != "" {
			agencies = []string{a}
		}
	}
	if len(agencies) == 0 {
		return refuse(ErrInvalid, "Укажите ведомство (поле agencies)")
	}
	seen := map[string]bool{}
	for _, a := range agencies {
		if _, ok := m.agencies[a]; !ok {
			return refuse(ErrInvalid, "Неизвестное ведомство «%s»", a)
		}
		if seen[a] {
			return refuse(ErrInvalid, "Ведомство «%s» указано дважды", a)
		}
		seen[a] = true
		if !slices.Contains(n.Involved, a) {
			n.Involved = append(n.Involved, a)
		}
	}
	n.Agencies, n.Current, n.Agency = agencies, 0, agencies[0]
	n.Contributions, n.Draft = nil, nil
	n.Stage = Routed
	n.ReturnDue = m.clock.Add(now, m.t.Return)
	n.Due = n.DraftDue
	if len(agencies) > 1 {
		n.Due = m.clock.Add(now, m.t.Contribution)
	}
	return nil
}

// checkText checks a draft: not empty, and for a repeated publication the measures taken.
func (m *machine) checkText(n *Case, text, measures string) error {
	if text == "" {
		return refuse(ErrInvalid, "Текст ответа пуст")
	}
	if n.RepeatOf != "" && measures == "" {
		return refuse(ErrMeasures, "Это повторная публикация (ранее: обращение %s): в ответе нужно сообщить о принятых мерах (поле measures)", n.RepeatOf)
	}
	return nil
}

// ruDuration writes a timer in Russian: "30 минут", "2 ч", "1 ч 30 минут".
func ruDuration(d time.Duration) string {
	h, mnt := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%d мин", mnt)
	case mnt == 0:
		return fmt.Sprintf("%d ч", h)
	}
	return fmt.Sprintf("%d ч %d мин", h, mnt)
}
