package cases

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// Timers are the regulation's deadlines (points 7–14). Every duration is working time,
// counted by the worktime clock.
type Timers struct {
	// Route: the curator routes a detected (or returned) publication. Default 30m.
	Route time.Duration `yaml:"route" json:"route"`
	// Return: the executor may return a publication that is not its agency's. Default 30m.
	Return time.Duration `yaml:"return" json:"return"`
	// Contribution: each agency but the last contributes to a joint answer. Default 2h.
	Contribution time.Duration `yaml:"contribution" json:"contribution"`
	// DraftLead: the draft reaches the curator this long before the answer deadline.
	// Default 4h.
	DraftLead time.Duration `yaml:"draft_lead" json:"draft_lead"`
	// Review: the curator approves a draft or sends it back. Default 30m.
	Review time.Duration `yaml:"review" json:"review"`
	// Revision: a draft sent back comes back revised. Default 1h.
	Revision time.Duration `yaml:"revision" json:"revision"`
	// Publish: the approved answer is published. Default 30m.
	Publish time.Duration `yaml:"publish" json:"publish"`
	// Answer: the answer is published this long after detection. Default 9h.
	Answer time.Duration `yaml:"answer" json:"answer"`
	// FinalDays: after an interim answer, the final one is due at the end of this many
	// working days. Default 7.
	FinalDays int `yaml:"final_days" json:"final_days"`
}

// Presets are the timers of the regions Otklik knows, by Config.Region.
func Presets() map[string]Timers {
	saratov := Timers{
		Route: 30 * time.Minute, Return: 30 * time.Minute, Contribution: 2 * time.Hour,
		DraftLead: 4 * time.Hour, Review: 30 * time.Minute, Revision: time.Hour,
		Publish: 30 * time.Minute, Answer: 9 * time.Hour, FinalDays: 7,
	}
	slower := saratov
	slower.Route = 60 * time.Minute
	slower.Answer = 24 * time.Hour
	return map[string]Timers{"saratov": saratov, "route60-answer24": slower}
}

func (t *Timers) fill(p Timers) {
	for _, f := range []struct{ dst, src *time.Duration }{
		{&t.Route, &p.Route}, {&t.Return, &p.Return}, {&t.Contribution, &p.Contribution},
		{&t.DraftLead, &p.DraftLead}, {&t.Review, &p.Review}, {&t.Revision, &p.Revision},
		{&t.Publish, &p.Publish}, {&t.Answer, &p.Answer},
	} {
		if *f.dst == 0 {
			*f.dst = *f.src
		}
	}
	if t.FinalDays == 0 {
		t.FinalDays = p.FinalDays
	}
}

// Agency is an executive body cases are routed to.
type Agency struct {
	// ID is the short stable id used in the API and as the metric label.
	ID string `yaml:"id" json:"id"`
	// Name is the Russian name.
	Name string `yaml:"name" json:"name"`
	// Topics are the topic ids (spec/labels.md) routed to it by default.
	Topics []string `yaml:"topics" json:"topics"`
}

// DefaultAgencies are the responsible bodies of spec/labels.md.
func DefaultAgencies() []Agency {
	return []Agency{
		{"minstroy", "Министерство строительства и жилищно-коммунального хозяйства области", []string{"housing", "landscaping"}},
		{"mintrans", "Министерство транспорта и дорожного хозяйства области", []string{"roads", "transport"}},
		{"minzdrav", "Министерство здравоохранения области", []string{"health"}},
		{"minobr", "Министерство образования области", []string{"education"}},
		{"mintrud", "Министерство труда и социальной защиты области", []string{"social"}},
		{"minprirody", "Министерство природных ресурсов и экологии области", []string{"waste", "ecology"}},
		{"minkult", "Министерство культуры области", []string{"culture"}},
		{"minsport", "Министерство молодёжной политики и спорта области", []string{"sport"}},
		{"minselhoz", "Министерство сельского хозяйства области", []string{"agriculture"}},
		{"mineconom", "Министерство экономического развития области", []string{"economy"}},
		{"kob", "Комитет общественной безопасности области", []string{"safety"}},
		{"vet", "Управление ветеринарии области", []string{"animals"}},
	}
}

// Topics are the 16 topic ids of spec/labels.md with their Russian names.
func Topics() map[string]string {
	return map[string]string{
		"housing": "ЖКХ", "roads": "Дороги", "transport": "Общественный транспорт",
		"health": "Здравоохранение", "education": "Образование", "social": "Социальная защита",
		"waste": "Отходы (ТКО)", "ecology": "Экология", "landscaping": "Благоустройство",
		"culture": "Культура", "sport": "Спорт и молодёжь", "agriculture": "Сельское хозяйство",
		"economy": "Экономика и занятость", "safety": "Безопасность и ЧС", "animals": "Животные",
		"other": "Прочее",
	}
}

// Role is what a user may do.
type Role string

// Roles of the regulation.
const (
	// Curator finds, routes, approves and sends back.
	Curator Role = "curator"
	// Executor prepares answers at an agency.
	Executor Role = "executor"
	// Official is an agency's responsible official: an executor's rights in the agency.
	Official Role = "official"
	// Representative is the agency's official representative who publishes answers.
	Representative Role = "representative"
	// Admin may do everything.
	Admin Role = "admin"
)

func (r Role) valid() bool {
	return slices.Contains([]Role{Curator, Executor, Official, Representative, Admin}, r)
}

// agencyBound reports whether the role acts for one agency only.
func (r Role) agencyBound() bool { return r == Executor || r == Official || r == Representative }

// User is one person who may use the API. Secrets are stored only hashed.
type User struct {
	// Name is the login, recorded in the audit trail.
	Name string `yaml:"name" json:"name"`
	// Role is curator, executor, official, representative or admin.
	Role Role `yaml:"role" json:"role"`
	// Agency is the agency id of an executor, official or representative.
	Agency string `yaml:"agency" json:"agency"`
	// TokenSHA256 is the hex SHA-256 of the user's API token (see HashToken); the token is
	// sent as "Authorization: Bearer <token>".
	TokenSHA256 string `yaml:"token_sha256" json:"-"`
	// PasswordHash is a PBKDF2 hash made by HashPassword; the password is sent with HTTP
	// Basic authentication.
	PasswordHash string `yaml:"password_hash" json:"-"`
}

// Notify configures deadline notifications.
type Notify struct {
	// Lead is how long before a deadline the "due soon" notification goes out, and what
	// otklik_cases_due_soon counts. Default 30m (wall-clock time).
	Lead time.Duration `yaml:"lead" json:"lead"`
	// Webhook, when set, receives every notification as a JSON POST.
	Webhook string `yaml:"webhook" json:"webhook"`
	// Timeout of one webhook call. Default 10s.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
}

// Config configures the cases service.
type Config struct {
	// Region selects the timer preset (see Presets). Default "saratov".
	Region string `yaml:"region" json:"region"`
	// Timers override the preset field by field (zero: the preset's value).
	Timers Timers `yaml:"timers" json:"timers"`
	// Agencies are the bodies cases are routed to. Default DefaultAgencies.
	Agencies []Agency `yaml:"agencies" json:"agencies"`
	// Users who may use the API.
	Users []User `yaml:"users" json:"-"`
	// SourceTopic is the bus topic of classified publications. Default "otklik.classified"
	// (pipeline.DefaultTopics).
	SourceTopic string `yaml:"source_topic" json:"source_topic"`
	// DeadLetter receives classified records the service cannot read, with the error in
	// the headers. Default "otklik.deadletter" (pipeline.DefaultTopics).
	DeadLetter string `yaml:"dead_letter" json:"dead_letter"`
	// Group is the consumer group reading SourceTopic. Default "cases".
	Group string `yaml:"group" json:"group"`
	// ProjectionGroup is the consumer group projecting the case topic into the store.
	// Default "cases-projection". With several instances sharing one store
	// (Elasticsearch) they share it; each instance with its own store needs its own.
	ProjectionGroup string `yaml:"projection_group" json:"projection_group"`
	// Topic is the bus topic of case events. Default "otklik.cases". It is the case
	// store's source of truth: give it unlimited retention to rebuild from it.
	Topic string `yaml:"topic" json:"topic"`
	// RepeatWindow: a publication by the same author about the same place and topic, or
	// with near-identical text, within this window of an earlier case is a repeat. Default
	// 720h (30 days).
	RepeatWindow time.Duration `yaml:"repeat_window" json:"repeat_window"`
	// RepeatSimilarity is the word-set Jaccard similarity above which two texts are
	// near-identical. Default 0.8.
	RepeatSimilarity float64 `yaml:"repeat_similarity" json:"repeat_similarity"`
	// Notify configures deadline notifications.
	Notify Notify `yaml:"notify" json:"notify"`
	// MonitorInterval is how often the deadline monitor runs. Default 1m.
	MonitorInterval time.Duration `yaml:"monitor_interval" json:"monitor_interval"`
	// Officials receive the deficiencies of the monthly report (point 18): names or
	// addresses, carried in breach notifications and the report.
	Officials []string `yaml:"officials" json:"officials"`
}

// DefaultConfig returns the Saratov regulation's configuration, with no users.
func DefaultConfig() Config {
	c := Config{}
	c.SetDefaults()
	return c
}

// SetDefaults fills zero fields with their defaults.
func (c *Config) SetDefaults() {
	if c.Region == "" {
		c.Region = "saratov"
	}
	if p, ok := Presets()[c.Region]; ok {
		c.Timers.fill(p)
	}
	if c.Agencies == nil {
		c.Agencies = DefaultAgencies()
	}
	if c.SourceTopic == "" {
		c.SourceTopic = "otklik.classified"
	}
	if c.DeadLetter == "" {
		c.DeadLetter = "otklik.deadletter"
	}
	if c.Group == "" {
		c.Group = "cases"
	}
	if c.ProjectionGroup == "" {
		c.ProjectionGroup = "cases-projection"
	}
	if c.Topic == "" {
		c.Topic = "otklik.cases"
	}
	if c.RepeatWindow == 0 {
		c.RepeatWindow = 30 * 24 * time.Hour
	}
	if c.RepeatSimilarity == 0 {
		c.RepeatSimilarity = 0.8
	}
	if c.Notify.Lead == 0 {
		c.Notify.Lead = 30 * time.Minute
	}
	if c.Notify.Timeout == 0 {
		c.Notify.Timeout = 10 * time.Second
	}
	if c.MonitorInterval == 0 {
		c.MonitorInterval = time.Minute
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if _, ok := Presets()[c.Region]; !ok {
		errs = append(errs, fmt.Errorf("region %q: unknown preset", c.Region))
	}
	t := c.Timers
	for name, d := range map[string]time.Duration{
		"route": t.Route, "return": t.Return, "contribution": t.Contribution, "draft_lead": t.DraftLead,
		"review": t.Review, "revision": t.Revision, "publish": t.Publish, "answer": t.Answer,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("timers.%s must be positive", name))
		}
	}
	if t.DraftLead >= t.Answer {
		errs = append(errs, fmt.Errorf("timers.draft_lead %v must be shorter than timers.answer %v", t.DraftLead, t.Answer))
	}
	if t.FinalDays <= 0 {
		errs = append(errs, errors.New("timers.final_days must be positive"))
	}
	if len(c.Agencies) == 0 {
		errs = append(errs, errors.New("no agencies"))
	}
	topics := Topics()
	ids := map[string]bool{}
	for _, a := range c.Agencies {
		if a.ID == "" || a.Name == "" {
			errs = append(errs, fmt.Errorf("agency %q: id and name are required", a.ID))
		}
		if ids[a.ID] {
			errs = append(errs, fmt.Errorf("agency %q listed twice", a.ID))
		}
		ids[a.ID] = true
		for _, tp := range a.Topics {
			if _, ok := topics[tp]; !ok {
				errs = append(errs, fmt.Errorf("agency %q: unknown topic %q", a.ID, tp))
			}
		}
	}
	names := map[string]bool{}
	for _, u := range c.Users {
		switch {
		case u.Name == "":
			errs = append(errs, errors.New("user with no name"))
		case names[u.Name]:
			errs = append(errs, fmt.Errorf("user %q listed twice", u.Name))
		case !u.Role.valid():
			errs = append(errs, fmt.Errorf("user %q: unknown role %q", u.Name, u.Role))
		case u.Role.agencyBound() && !ids[u.Agency]:
			errs = append(errs, fmt.Errorf("user %q: role %s needs a configured agency, got %q", u.Name, u.Role, u.Agency))
		case u.TokenSHA256 == "" && u.PasswordHash == "":
			errs = append(errs, fmt.Errorf("user %q: token_sha256 or password_hash is required", u.Name))
		case u.TokenSHA256 != "" && !validTokenHash(u.TokenSHA256):
			errs = append(errs, fmt.Errorf("user %q: token_sha256 must be 64 hex digits", u.Name))
		case u.PasswordHash != "" && !validPasswordHash(u.PasswordHash):
			errs = append(errs, fmt.Errorf("user %q: password_hash is not a pbkdf2-sha256 hash", u.Name))
		}
		names[u.Name] = true
	}
	if c.SourceTopic == "" || c.Topic == "" || c.Group == "" || c.ProjectionGroup == "" || c.Group == c.ProjectionGroup || c.DeadLetter == "" || c.SourceTopic == c.Topic || c.DeadLetter == c.Topic {
		errs = append(errs, errors.New("source_topic, topic, dead_letter, group and projection_group must be set, the groups differ, and topic differ from the other topics"))
	}
	if c.RepeatWindow < 0 || c.RepeatSimilarity <= 0 || c.RepeatSimilarity > 1 {
		errs = append(errs, errors.New("repeat_window must be >= 0 and repeat_similarity in (0, 1]"))
	}
	if c.Notify.Lead < 0 || c.Notify.Timeout <= 0 || c.MonitorInterval <= 0 {
		errs = append(errs, errors.New("notify.lead >= 0, notify.timeout and monitor_interval > 0 required"))
	}
	if c.Notify.Webhook != "" {
		if u, err := url.Parse(c.Notify.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("notify.webhook %q: want an http(s) URL", c.Notify.Webhook))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cases config: %w", err)
	}
	return nil
}
