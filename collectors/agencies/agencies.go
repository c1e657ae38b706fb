// Package agencies tracks the agencies' own accounts (point 4 of the regulation: every
// agency keeps accounts in the social networks and posts at least twice a week). The
// daemon lists each agency's accounts in its config and adds them to the collectors'
// sources; the Tracker wraps the collectors' sink, marks the accounts' own posts
// (Publication.AgencyAccount: counted, not answered), counts them per calendar week
// (Monday-based, Europe/Saratov), persists the counts, and exposes per account whether it
// posted at least twice in the last calendar week as metrics and as a JSON API for curators.
package agencies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
	"github.com/prometheus/client_golang/prometheus"
)

// Config lists the agencies and their accounts.
type Config struct {
	// Agencies lists the executive bodies and their accounts.
	Agencies []Agency `yaml:"agencies" json:"agencies"`
	// Timezone decides where calendar weeks start ("Europe/Saratov").
	Timezone string `yaml:"timezone" json:"timezone"`
	// MinPerWeek is the regulation's minimum of own posts per week (2).
	MinPerWeek int `yaml:"min_per_week" json:"min_per_week"`
}

// Agency is one executive body.
type Agency struct {
	// ID is the agency's short id (the one cases route to); it is a metric label.
	ID string `yaml:"id" json:"id"`
	// Name is the agency's name as curators know it, in Russian.
	Name string `yaml:"name" json:"name"`
	// Accounts are the agency's own accounts.
	Accounts []Account `yaml:"accounts" json:"accounts"`
}

// Account is one of an agency's own accounts.
type Account struct {
	// Network is where the account is.
	Network otklik.Network `yaml:"network" json:"network"`
	// ID is the account's owner id as the collectors set Publication.Owner: a VK community
	// as -id, an OK group id, a Facebook page id, an Instagram user id.
	ID string `yaml:"id" json:"id"`
	// Name is the account's display name (optional).
	Name string `yaml:"name" json:"name,omitempty"`
}

// DefaultConfig returns the defaults: no agencies, Saratov time, two posts a week.
func DefaultConfig() Config { return Config{Timezone: "Europe/Saratov", MinPerWeek: 2} }

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() {
	if c.Timezone == "" {
		c.Timezone = "Europe/Saratov"
	}
	if c.MinPerWeek == 0 {
		c.MinPerWeek = 2
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("agencies: timezone %q: %v", c.Timezone, err))
	}
	if c.MinPerWeek < 1 {
		errs = append(errs, errors.New("agencies: min_per_week must be ≥ 1"))
	}
	ids, accounts := map[string]bool{}, map[string]string{}
	for _, a := range c.Agencies {
		if a.ID == "" || ids[a.ID] {
			errs = append(errs, fmt.Errorf("agencies: empty or repeated agency id %q", a.ID))
		}
		ids[a.ID] = true
		for _, acc := range a.Accounts {
			if !acc.Network.Valid() || acc.ID == "" {
				errs = append(errs, fmt.Errorf("agencies: %s: bad account %s/%q", a.ID, acc.Network, acc.ID))
			}
			k := key(acc.Network, acc.ID)
			if other, ok := accounts[k]; ok {
				errs = append(errs, fmt.Errorf("agencies: account %s listed for %s and %s", k, other, a.ID))
			}
			accounts[k] = a.ID
		}
	}
	return errors.Join(errs...)
}

func key(n otklik.Network, id string) string { return string(n) + ":" + id }

// Owners returns the configured account ids of one network, for the collectors' source
// lists (e.g. VK walls: parse them as ints).
func (c Config) Owners(n otklik.Network) []string {
	var out []string
	for _, a := range c.Agencies {
		for _, acc := range a.Accounts {
			if acc.Network == n {
				out = append(out, acc.ID)
			}
		}
	}
	return out
}

// Tracker counts the agencies' own posts.
type Tracker struct {
	cfg   Config
	loc   *time.Location
	store collectors.Positions
	now   func() time.Time

	mu       sync.Mutex
	accounts map[string]*account // by network:id
	order    []*account
}

type account struct {
	agency Agency
	acc    Account
	posts  map[string]int64 // post id → published (Unix), the last five weeks
}

// storeKey is where an account's posts are kept in the positions store.
func storeKey(k string) string { return "agencies:" + k }

// Option customises NewTracker.
type Option func(*Tracker)

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(t *Tracker) { t.now = now } }

// NewTracker loads the accounts' counts from store (the collectors' positions file) and
// registers otklik_agency_account_posts_last_week and otklik_agency_account_ok on reg.
func NewTracker(ctx context.Context, cfg Config, store collectors.Positions, reg prometheus.Registerer, opts ...Option) (*Tracker, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("agencies: tracker needs a store")
	}
	loc, _ := time.LoadLocation(cfg.Timezone)
	t := &Tracker{cfg: cfg, loc: loc, store: store, now: time.Now, accounts: map[string]*account{}}
	for _, o := range opts {
		o(t)
	}
	for _, ag := range cfg.Agencies {
		for _, acc := range ag.Accounts {
			a := &account{agency: ag, acc: acc, posts: map[string]int64{}}
			k := key(acc.Network, acc.ID)
			raw, err := store.Load(ctx, storeKey(k))
			if err != nil {
				return nil, fmt.Errorf("agencies: load %s: %w", k, err)
			}
			if raw != "" {
				if err := json.Unmarshal([]byte(raw), &a.posts); err != nil {
					return nil, fmt.Errorf("agencies: stored counts of %s: %w", k, err)
				}
			}
			t.accounts[k] = a
			t.order = append(t.order, a)
		}
	}
	if reg != nil {
		if err := reg.Register(t); err != nil {
			return nil, fmt.Errorf("agencies: register metrics: %w", err)
		}
	}
	return t, nil
}

// own reports the account whose own post p is, if any.
func (t *Tracker) own(p *otklik.Publication) *account {
	if p.Kind != otklik.Post {
		return nil
	}
	a := t.accounts[key(p.Network, p.Owner)]
	if a == nil {
		return nil
	}
	// On its own wall, page or group, a post is the account's own when the author is the
	// account itself; Instagram media of the account's feed carry no author id.
	if p.Author.ID == p.Owner || p.Author.ID == "" || p.Network == otklik.Instagram {
		return a
	}
	return nil
}

// Wrap returns a sink that marks the accounts' own posts, delivers to next, and then
// counts them; it is the sink the daemon gives the poller and the push receivers.
func (t *Tracker) Wrap(next collectors.Sink) collectors.Sink { return &sink{t: t, next: next} }

type sink struct {
	t    *Tracker
	next collectors.Sink
}

// Deliver marks own posts, delivers, then counts.
func (s *sink) Deliver(ctx context.Context, pubs []otklik.Publication) error {
	var mine []*account
	var idx []int
	for i := range pubs {
		if a := s.t.own(&pubs[i]); a != nil {
			pubs[i].AgencyAccount = a.agency.ID
			mine = append(mine, a)
			idx = append(idx, i)
		}
	}
	if err := s.next.Deliver(ctx, pubs); err != nil {
		return err
	}
	if len(mine) == 0 {
		return nil
	}
	return s.t.record(ctx, pubs, mine, idx)
}

// record counts delivered own posts (deleted ones are uncounted) and persists.
func (t *Tracker) record(ctx context.Context, pubs []otklik.Publication, mine []*account, idx []int) error {
	t.mu.Lock()
	cutoff := t.weekStart(t.now()).AddDate(0, 0, -28).Unix()
	changed := map[*account]bool{}
	for k, a := range mine {
		p := pubs[idx[k]]
		if p.Deleted {
			delete(a.posts, p.PostID)
		} else if !p.PublishedAt.IsZero() {
			a.posts[p.PostID] = p.PublishedAt.Unix()
		}
		for id, ts := range a.posts {
			if ts < cutoff {
				delete(a.posts, id)
			}
		}
		changed[a] = true
	}
	saves := map[string]string{}
	for a := range changed {
		b, _ := json.Marshal(a.posts) // map[string]int64 always marshals
		saves[key(a.acc.Network, a.acc.ID)] = string(b)
	}
	t.mu.Unlock()
	for k, v := range saves {
		if err := t.store.Save(ctx, storeKey(k), v); err != nil {
			// Delivered already: the sink must not fail (it would be redelivered and
			// counted once anyway, ids being keys).
			return fmt.Errorf("agencies: save %s: %w", k, err)
		}
	}
	return nil
}

// weekStart is Monday 00:00 of t's week in the configured zone.
func (t *Tracker) weekStart(at time.Time) time.Time {
	l := at.In(t.loc)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, t.loc)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// Status is one account's standing, as the API returns it.
type Status struct {
	Agency        string `json:"agency"`
	AgencyName    string `json:"agency_name"`
	Network       string `json:"network"`
	Account       string `json:"account"`
	AccountName   string `json:"account_name,omitempty"`
	WeekStart     string `json:"week_start"` // Monday of the last calendar week
	PostsLastWeek int    `json:"posts_last_week"`
	PostsThisWeek int    `json:"posts_this_week"`
	OK            bool   `json:"ok"`
	// Text is the status for curators, in Russian.
	Text string `json:"text"`
}

// Statuses returns every account's standing now.
func (t *Tracker) Statuses() []Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	this := t.weekStart(t.now())
	last := this.AddDate(0, 0, -7)
	var out []Status
	for _, a := range t.order {
		s := Status{Agency: a.agency.ID, AgencyName: a.agency.Name, Network: string(a.acc.Network), Account: a.acc.ID,
			AccountName: a.acc.Name, WeekStart: last.Format("2006-01-02")}
		for _, ts := range a.posts {
			switch {
			case ts >= this.Unix():
				s.PostsThisWeek++
			case ts >= last.Unix():
				s.PostsLastWeek++
			}
		}
		s.OK = s.PostsLastWeek >= t.cfg.MinPerWeek
		if s.OK {
			s.Text = "норма выполнена"
		} else if t.cfg.MinPerWeek == 2 {
			s.Text = "меньше двух публикаций за прошлую неделю"
		} else {
			s.Text = fmt.Sprintf("меньше %d публикаций за прошлую неделю", t.cfg.MinPerWeek)
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Agency < out[j].Agency })
	return out
}

var (
	postsDesc = prometheus.NewDesc("otklik_agency_account_posts_last_week",
		"Own posts of an agency's account in the last calendar week (Monday-based, Europe/Saratov).",
		[]string{"agency", "network", "account"}, nil)
	okDesc = prometheus.NewDesc("otklik_agency_account_ok",
		"1 if the agency's account posted at least twice in the last calendar week (point 4 of the regulation).",
		[]string{"agency", "network", "account"}, nil)
)

// Describe implements prometheus.Collector.
func (t *Tracker) Describe(ch chan<- *prometheus.Desc) { ch <- postsDesc; ch <- okDesc }

// Collect implements prometheus.Collector: values are computed at scrape time, so a new
// week is reflected without any timer.
func (t *Tracker) Collect(ch chan<- prometheus.Metric) {
	for _, s := range t.Statuses() {
		ok := 0.0
		if s.OK {
			ok = 1
		}
		ch <- prometheus.MustNewConstMetric(postsDesc, prometheus.GaugeValue, float64(s.PostsLastWeek), s.Agency, s.Network, s.Account)
		ch <- prometheus.MustNewConstMetric(okDesc, prometheus.GaugeValue, ok, s.Agency, s.Network, s.Account)
	}
}

// Handler serves GET with the statuses as JSON (?agency=id filters one agency).
func (t *Tracker) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			http.Error(w, "метод не поддерживается", http.StatusMethodNotAllowed)
			return
		}
		out := []Status{}
		for _, s := range t.Statuses() {
			if ag := r.URL.Query().Get("agency"); ag == "" || ag == s.Agency {
				out = append(out, s)
			}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(out)
	})
}
