package cases

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/otklik/otklik"
)

// Stage is where a case is in the regulation's workflow.
type Stage string

// Stages.
const (
	// Detected: awaits routing by the curator (Timers.Route from detection).
	Detected Stage = "detected"
	// Routed: at the agency, or at the agencies in turn (Timers.Contribution each), the last
	// one writing the draft (due Timers.DraftLead before the answer deadline).
	Routed Stage = "routed"
	// Returned: the executor returned it; the curator reroutes (Timers.Route).
	Returned Stage = "returned"
	// Review: a draft awaits the curator (Timers.Review).
	Review Stage = "review"
	// Revision: the curator sent the draft back (Timers.Revision).
	Revision Stage = "revision"
	// Approved: the answer awaits publication (Timers.Publish).
	Approved Stage = "approved"
	// AwaitingFinal: an interim answer (or a question to the author) is published; the final
	// answer is due at the end of Timers.FinalDays working days, its draft DraftLead before.
	AwaitingFinal Stage = "awaiting_final"
	// Published: the answer is published; the case is closed.
	Published Stage = "published"
	// Closed: closed by the curator without an answer (no reaction needed), with a reason.
	Closed Stage = "closed"
	// Merged: merged into another case about the same problem.
	Merged Stage = "merged"
)

// Stages lists every stage in workflow order.
func Stages() []Stage {
	return []Stage{Detected, Routed, Returned, Review, Revision, Approved, AwaitingFinal, Published, Closed, Merged}
}

// Open reports whether a case at this stage still waits for someone.
func (s Stage) Open() bool { return s != Published && s != Closed && s != Merged && s != "" }

// Russian returns the stage's name as curators read it.
func (s Stage) Russian() string {
	switch s {
	case Detected:
		return "ожидает распределения"
	case Routed:
		return "на исполнении в ведомстве"
	case Returned:
		return "возвращено куратору"
	case Review:
		return "на согласовании у куратора"
	case Revision:
		return "на доработке"
	case Approved:
		return "согласовано, ожидает публикации"
	case AwaitingFinal:
		return "дан промежуточный ответ, ожидается окончательный"
	case Published:
		return "ответ опубликован"
	case Closed:
		return "закрыто без ответа"
	case Merged:
		return "объединено с другим обращением"
	}
	return string(s)
}

// Action is something a user (or the service) does to a case.
type Action string

// User actions, as in POST /api/v1/cases/{id}/{action}.
const (
	Route      Action = "route"
	Return     Action = "return"
	Contribute Action = "contribute"
	Draft      Action = "draft"
	SendBack   Action = "send_back"
	Revise     Action = "revise"
	Approve    Action = "approve"
	Publish    Action = "publish"
	Close      Action = "close"
	Merge      Action = "merge"
)

// Service actions, recorded in the history.
const (
	Open       Action = "open"        // the case is opened from a classified publication
	LinkRepeat Action = "link_repeat" // a later publication repeats this case
	MergeIn    Action = "merge_in"    // another case was merged into this one
	Breach     Action = "breach"      // a deadline passed (recorded by the monitor)
)

// Russian returns the action's name as curators read it.
func (a Action) Russian() string {
	switch a {
	case Route:
		return "распределить"
	case Return:
		return "вернуть куратору"
	case Contribute:
		return "внести вклад в совместный ответ"
	case Draft:
		return "направить проект ответа"
	case SendBack:
		return "вернуть на доработку"
	case Revise:
		return "направить доработанный ответ"
	case Approve:
		return "согласовать"
	case Publish:
		return "опубликовать"
	case Close:
		return "закрыть без ответа"
	case Merge:
		return "объединить"
	case Open:
		return "открыто"
	case LinkRepeat:
		return "повторная публикация"
	case MergeIn:
		return "присоединено обращение"
	case Breach:
		return "нарушен срок"
	}
	return string(a)
}

// DraftKind is what a draft answer is.
type DraftKind string

// Draft kinds.
const (
	// Answer is the (final) answer.
	Answer DraftKind = "answer"
	// Interim is an interim answer: the final one follows within Timers.FinalDays.
	Interim DraftKind = "interim"
	// Question is a question to the author; like an interim answer, a final one follows.
	Question DraftKind = "question"
)

// PublicationRef is what a case keeps of a publication.
type PublicationRef struct {
	ID          string          `json:"id"`
	Network     otklik.Network  `json:"network"`
	URL         string          `json:"url,omitempty"`
	Author      otklik.Author   `json:"author"`
	Text        string          `json:"text"`
	PublishedAt time.Time       `json:"published_at"`
	FetchedAt   time.Time       `json:"fetched_at"`
	Topic       string          `json:"topic"`
	Location    string          `json:"location"`
	Priority    otklik.Priority `json:"priority"`
	// Agency is the classifier's suggested agency id, "" when none.
	Agency string `json:"agency,omitempty"`
}

// Text is a draft or a contribution.
type Text struct {
	Kind     DraftKind `json:"kind,omitempty"`
	Text     string    `json:"text"`
	Measures string    `json:"measures,omitempty"`
	Agency   string    `json:"agency,omitempty"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	// URL and PublishedAt are where and when a published answer was published.
	URL         string    `json:"url,omitempty"`
	PublishedAt time.Time `json:"published_at,omitzero"`
}

// BreachRecord is a missed deadline, kept for the monthly report (point 18).
type BreachRecord struct {
	// Stage is the stage whose deadline passed.
	Stage Stage `json:"stage"`
	// Agency is who was responsible ("" for the curator).
	Agency string `json:"agency,omitempty"`
	// Kind is "stage" for a stage's own deadline, "answer" for the answer deadline.
	Kind string `json:"kind"`
	// Due is the deadline that was missed; At when it was recorded.
	Due time.Time `json:"due"`
	At  time.Time `json:"at"`
}

// Case is one publication (or several about the same problem) on its way to an answer.
type Case struct {
	// ID is the publication id of the publication that opened it.
	ID string `json:"id"`
	// Version changes with every user action: actions carry the version they were made
	// on, and a stale one is refused (optimistic concurrency).
	Version int64 `json:"version"`
	// Seq orders every event of the case, including the service's (breaches, links).
	Seq int64 `json:"seq"`
	// Stage is where the case is now; StageSince since when.
	Stage      Stage     `json:"stage"`
	StageSince time.Time `json:"stage_since"`
	// Publication is the publication that opened the case; Merged those merged into it.
	Publication PublicationRef   `json:"publication"`
	Merged      []PublicationRef `json:"merged,omitempty"`
	// Topic, Location and Priority are set by the curator (pre-filled by the classifier).
	Topic    string          `json:"topic"`
	Location string          `json:"location"`
	Priority otklik.Priority `json:"priority"`
	// Agencies are the agencies in the order the curator set; Current the index of the one
	// working now; Agency its id ("" when the case is with the curator).
	Agencies []string `json:"agencies,omitempty"`
	Current  int      `json:"current"`
	Agency   string   `json:"agency,omitempty"`
	// Involved lists every agency the case was ever routed to (who may read it).
	Involved []string `json:"involved,omitempty"`
	// DetectedAt is when the publication was detected (its FetchedAt).
	DetectedAt time.Time `json:"detected_at"`
	// Due is the deadline of the current stage (zero when closed).
	Due time.Time `json:"due,omitzero"`
	// AnswerDue is the answer deadline (Timers.Answer from detection); DraftDue is when the
	// draft must reach the curator; ReturnDue until when the executor may return it;
	// FinalDue the final-answer deadline after an interim answer.
	AnswerDue time.Time `json:"answer_due"`
	DraftDue  time.Time `json:"draft_due"`
	ReturnDue time.Time `json:"return_due,omitzero"`
	FinalDue  time.Time `json:"final_due,omitzero"`
	// Contributions to a joint answer, in order; Draft is the current draft; Interim the
	// published interim answer; Answer the published answer.
	Contributions []Text `json:"contributions,omitempty"`
	Draft         *Text  `json:"draft,omitempty"`
	Interim       *Text  `json:"interim,omitempty"`
	Answer        *Text  `json:"answer,omitempty"`
	// RepeatOf is the earlier case this publication repeats: the answer must report the
	// measures taken. RepeatedBy lists later cases repeating this one.
	RepeatOf   string   `json:"repeat_of,omitempty"`
	RepeatedBy []string `json:"repeated_by,omitempty"`
	// MergedInto is the case this one was merged into.
	MergedInto string `json:"merged_into,omitempty"`
	// Breaches are the missed deadlines.
	Breaches []BreachRecord `json:"breaches,omitempty"`
	// ClosedAt is when the case reached Published, Closed or Merged; Reason why it was
	// closed without an answer.
	ClosedAt time.Time `json:"closed_at,omitzero"`
	Reason   string    `json:"reason,omitempty"`
}

// Overdue reports whether the case is open and past its current deadline at now.
func (c *Case) Overdue(now time.Time) bool {
	return c.Stage.Open() && !c.Due.IsZero() && now.After(c.Due)
}

// clone returns a deep enough copy to modify.
func (c Case) clone() Case {
	c.Merged = append([]PublicationRef(nil), c.Merged...)
	c.Agencies = append([]string(nil), c.Agencies...)
	c.Involved = append([]string(nil), c.Involved...)
	c.Contributions = append([]Text(nil), c.Contributions...)
	c.RepeatedBy = append([]string(nil), c.RepeatedBy...)
	c.Breaches = append([]BreachRecord(nil), c.Breaches...)
	if c.Draft != nil {
		d := *c.Draft
		c.Draft = &d
	}
	return c
}

// Event is one recorded action: who, when, why, and the case as it became.
type Event struct {
	// ID is unique per event: "<case>#<seq>".
	ID     string `json:"id"`
	CaseID string `json:"case_id"`
	Seq    int64  `json:"seq"`
	// Action is what was done; Actor who did it; At when; Reason why (when given).
	Action Action    `json:"action"`
	Actor  Actor     `json:"actor"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
	// From and To are the stages before and after.
	From Stage `json:"from,omitempty"`
	To   Stage `json:"to"`
	// Request is what the user sent, for the audit trail.
	Request *Request `json:"request,omitempty"`
	// Case is the case after the event; replaying events rebuilds the projection.
	Case Case `json:"case,omitzero"`
}

// Request is the body of an action.
type Request struct {
	// Version is the case version the user acted on (required).
	Version int64 `json:"version"`
	// Reason is why (required to return, send back and close).
	Reason string `json:"reason,omitempty"`
	// Topic, Location, Priority and Agencies (in order) route a case.
	Topic    string          `json:"topic,omitempty"`
	Location string          `json:"location,omitempty"`
	Priority otklik.Priority `json:"priority,omitempty"`
	Agencies []string        `json:"agencies,omitempty"`
	// Kind, Text and Measures are a draft, revision or contribution.
	Kind     DraftKind `json:"kind,omitempty"`
	Text     string    `json:"text,omitempty"`
	Measures string    `json:"measures,omitempty"`
	// Into is the case to merge into.
	Into string `json:"into,omitempty"`
	// URL is where the answer was published.
	URL string `json:"url,omitempty"`
}

// Error is a refusal meant for the user: Message is in Russian.
type Error struct {
	// Status is the HTTP status; Code a stable machine-readable code.
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Errors to test for with errors.Is (they compare by Code).
var (
	ErrNotFound    = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "Обращение не найдено"}
	ErrForbidden   = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "Недостаточно прав для этого действия"}
	ErrConflict    = &Error{Status: http.StatusConflict, Code: "version_conflict", Message: "Обращение уже изменено другим пользователем: обновите страницу и повторите действие"}
	ErrTransition  = &Error{Status: http.StatusConflict, Code: "invalid_transition", Message: "Действие недоступно на этом этапе"}
	ErrInvalid     = &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: "Неверный запрос"}
	ErrTooLate     = &Error{Status: http.StatusConflict, Code: "too_late", Message: "Срок для этого действия истёк"}
	ErrNeedsReason = &Error{Status: http.StatusBadRequest, Code: "reason_required", Message: "Укажите причину"}
	ErrMeasures    = &Error{Status: http.StatusBadRequest, Code: "measures_required", Message: "Это повторная публикация: в ответе нужно сообщить о принятых мерах (поле measures)"}
)

// Is makes errors.Is match by code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

func refuse(base *Error, format string, args ...any) *Error {
	return &Error{Status: base.Status, Code: base.Code, Message: fmt.Sprintf(format, args...)}
}
