package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/cases/worktime"
	"github.com/otklik/otklik/pipeline"
)

// Deps are what the service uses; New never dials or opens anything itself.
type Deps struct {
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the otklik_cases_* metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Clock counts working time (required).
	Clock *worktime.Clock
	// Store is the projection of case events (required), e.g. OpenBoltStore.
	Store Store
	// Producer is where case events go, the bus (required).
	Producer pipeline.Producer
	// HTTPClient sends webhook notifications; nil means one with Config.Notify.Timeout.
	HTTPClient *http.Client
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
}

// Service keeps cases: it opens them from classified publications, applies users' actions,
// records every event on the bus and in the store, serves the HTTP API and watches the
// deadlines.
type Service struct {
	cfg   Config
	log   *slog.Logger
	m     *machine
	store Store
	bus   pipeline.Producer
	http  *http.Client
	now   func() time.Time
	met   *metrics

	mu        sync.Mutex                 // serialises writes: load, decide, produce, project
	checkMu   sync.Mutex                 // one monitor pass at a time
	notified  map[string]bool            // due-soon notifications already sent (case/stage/due)
	wordCache map[string]map[string]bool // word sets of case texts, for repeats
	passwords passwordCache              // recent successful password checks
}

// New returns the service. cfg gets its defaults and is validated.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Clock == nil || deps.Store == nil || deps.Producer == nil {
		return nil, errors.New("cases: Clock, Store and Producer are required")
	}
	s := &Service{
		cfg: cfg, log: deps.Logger, m: newMachine(cfg, deps.Clock), store: deps.Store,
		bus: deps.Producer, http: deps.HTTPClient, now: deps.Now, notified: map[string]bool{}, wordCache: map[string]map[string]bool{},
		passwords: passwordCache{ttl: 10 * time.Minute},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: cfg.Notify.Timeout}
	}
	wall, loc := s.now, deps.Clock.Location()
	if wall == nil {
		wall = time.Now
	}
	s.now = func() time.Time { return wall().In(loc) } // times read in the regulation's zone
	met, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, err
	}
	s.met = met
	return s, nil
}

// event builds the event of an action that turned old into n (Seq set here).
func (s *Service) event(old, n *Case, a Action, who Actor, reason string, req *Request, at time.Time) Event {
	n.Seq = old.Seq + 1
	return Event{
		ID: n.ID + "#" + strconv.FormatInt(n.Seq, 10), CaseID: n.ID, Seq: n.Seq,
		Action: a, Actor: who, At: at, Reason: reason, From: old.Stage, To: n.Stage, Request: req, Case: *n,
	}
}

// record produces events to the bus (durably) and then projects them into the store.
func (s *Service) record(ctx context.Context, evs ...Event) error {
	msgs := make([]pipeline.Message, 0, len(evs))
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("cases: encode event %s: %w", ev.ID, err)
		}
		msgs = append(msgs, pipeline.Message{Topic: s.cfg.Topic, Key: []byte(ev.CaseID), Value: b,
			Headers: map[string]string{"otklik-action": string(ev.Action)}, Time: ev.At})
	}
	if err := s.bus.Produce(ctx, msgs...); err != nil {
		return fmt.Errorf("cases: produce events: %w", err)
	}
	if err := s.store.Apply(ctx, evs...); err != nil {
		return fmt.Errorf("cases: project events: %w", err)
	}
	return nil
}

// visible reports whether who may read c: agency users see their agencies' cases.
func visible(c *Case, who Actor) bool {
	if !who.Role.agencyBound() {
		return true
	}
	for _, a := range c.Involved {
		if a == who.Agency {
			return true
		}
	}
	return false
}

// Get returns a case and its history, as who may see it.
func (s *Service) Get(ctx context.Context, id string, who Actor) (Case, []Event, error) {
	c, err := s.store.Get(ctx, id)
	if err != nil {
		return Case{}, nil, err
	}
	if !visible(&c, who) {
		return Case{}, nil, ErrNotFound
	}
	h, err := s.store.History(ctx, id)
	return c, h, err
}

// Search returns the cases matching q that who may see.
func (s *Service) Search(ctx context.Context, q Query, who Actor) ([]Case, int, error) {
	if who.Role.agencyBound() {
		q.Involved = who.Agency
	}
	if q.Now.IsZero() {
		q.Now = s.now()
	}
	return s.store.Search(ctx, q)
}

// Do performs a user's action on case id and returns the case as it becomes.
func (s *Service) Do(ctx context.Context, id string, a Action, req Request, who Actor) (Case, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.store.Get(ctx, id)
	if err != nil {
		return Case{}, err
	}
	if !visible(&c, who) {
		return Case{}, ErrNotFound
	}
	now := s.now()
	n, err := s.m.apply(c, a, req, who, now)
	if err != nil {
		return Case{}, err
	}
	reason := req.Reason
	evs := []Event{s.event(&c, &n, a, who, reason, &req, now)}
	if a == Merge {
		t, err := s.store.Get(ctx, req.Into)
		if errors.Is(err, ErrNotFound) {
			return Case{}, refuse(ErrInvalid, "Обращение %s, с которым нужно объединить, не найдено", req.Into)
		} else if err != nil {
			return Case{}, err
		}
		if !t.Stage.Open() {
			return Case{}, refuse(ErrInvalid, "Обращение %s уже закрыто (%s): объединять можно только с открытым", t.ID, t.Stage.Russian())
		}
		nt := t.clone()
		nt.Merged = append(append(nt.Merged, c.Publication), c.Merged...)
		evs = append(evs, s.event(&t, &nt, MergeIn, who, "объединено с "+c.ID, nil, now))
	}
	if err := s.record(ctx, evs...); err != nil {
		return Case{}, err
	}
	s.met.breachesFrom(&c, &n)
	return n, nil
}

// Open opens the case of a classified publication, idempotently (the case id is the
// publication id), linking it to an earlier case it repeats. It returns the case and
// whether it was opened now. Dropped publications (point 16) and publications by agency
// accounts are not opened.
func (s *Service) Open(ctx context.Context, p *otklik.Publication) (Case, bool, error) {
	if p.Class == nil {
		return Case{}, false, fmt.Errorf("cases: publication %s is not classified", p.ID)
	}
	if p.ID == "" {
		if err := p.Validate(); err != nil {
			return Case{}, false, err
		}
	}
	if p.Class.Dropped() || p.AgencyAccount != "" {
		return Case{}, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, err := s.store.Get(ctx, p.ID); err == nil {
		return c, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Case{}, false, err
	}
	now := s.now()
	c := s.m.open(p, now)
	var evs []Event
	earlier, err := s.findRepeat(ctx, &c)
	if err != nil {
		return Case{}, false, err
	}
	if earlier != nil {
		c.RepeatOf = earlier.ID
	}
	evs = append(evs, Event{ID: c.ID + "#1", CaseID: c.ID, Seq: 1, Action: Open, Actor: system, At: now, To: c.Stage, Case: c})
	if earlier != nil {
		ne := earlier.clone()
		ne.RepeatedBy = append(ne.RepeatedBy, c.ID)
		evs = append(evs, s.event(earlier, &ne, LinkRepeat, system, "повторная публикация: "+c.ID, nil, now))
	}
	if err := s.record(ctx, evs...); err != nil {
		return Case{}, false, err
	}
	s.met.opened.Inc()
	return c, true, nil
}

// Run consumes, until ctx is done, classified publications as the consumer group
// Config.Group, opening their cases (each message is committed after its case is recorded;
// records it cannot read go to the dead-letter topic), and the case topic as the group
// Config.ProjectionGroup, projecting every event into the store. The second loop makes the
// store catch up with events whose direct projection failed, or that another instance
// produced. A failing bus or store is retried with backoff, never skipped. It returns nil
// when ctx is done.
func (s *Service) Run(ctx context.Context, bus pipeline.Bus) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- s.consume(ctx, bus, s.cfg.Group, s.cfg.SourceTopic, s.handle) }()
	go func() { errs <- s.consume(ctx, bus, s.cfg.ProjectionGroup, s.cfg.Topic, s.project) }()
	err := <-errs
	cancel()
	return errors.Join(err, <-errs)
}

// consume runs one consumer loop: fetch, handle (retried until it succeeds), commit.
func (s *Service) consume(ctx context.Context, bus pipeline.Bus, group, topic string, handle func(context.Context, pipeline.Producer, pipeline.Message) error) error {
	cons, err := bus.Consumer(group, topic)
	if err != nil {
		return fmt.Errorf("cases: join %s on %s: %w", group, topic, err)
	}
	defer cons.Close()
	for {
		msg, err := cons.Fetch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("cases: fetch %s: %w", topic, err)
		}
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 30*time.Second) {
			err := handle(ctx, bus, msg)
			if err == nil {
				break
			}
			s.met.retries.WithLabelValues(topic).Inc()
			s.log.Warn("cases: will retry", "topic", topic, "offset", msg.Offset, "err", err, "backoff", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
		}
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 30*time.Second) {
			err := cons.Commit(ctx, msg)
			if err == nil {
				break
			}
			if ctx.Err() != nil || errors.Is(err, pipeline.ErrClosed) {
				return nil
			}
			s.met.retries.WithLabelValues(topic).Inc()
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
		}
	}
}

// project applies one event of the case topic to the store.
func (s *Service) project(ctx context.Context, _ pipeline.Producer, msg pipeline.Message) error {
	var ev Event
	if err := json.Unmarshal(msg.Value, &ev); err != nil || ev.CaseID == "" || ev.Seq <= 0 {
		// Not an event of ours: count it and move on (the topic is written by this service only).
		s.met.consumed.WithLabelValues("bad_event").Inc()
		return nil
	}
	return s.store.Apply(ctx, ev)
}

func (s *Service) handle(ctx context.Context, bus pipeline.Producer, msg pipeline.Message) error {
	var p otklik.Publication
	err := json.Unmarshal(msg.Value, &p)
	if err == nil && p.Class == nil {
		err = errors.New("publication has no classification")
	}
	if err == nil {
		err = p.Validate()
	}
	if err != nil {
		s.met.consumed.WithLabelValues("dead_letter").Inc()
		dl := pipeline.Message{Topic: s.cfg.DeadLetter, Key: msg.Key, Value: msg.Value, Headers: map[string]string{
			pipeline.HeaderError: err.Error(), pipeline.HeaderStage: "cases", pipeline.HeaderSourceTopic: msg.Topic}}
		if err := bus.Produce(ctx, dl); err != nil {
			return fmt.Errorf("cases: dead letter: %w", err)
		}
		return nil
	}
	if p.Deleted {
		// The author deleted it: no new case. A case already open for it stays open
		// (the answer may still be due); the index shows the publication as deleted.
		s.met.consumed.WithLabelValues("deleted").Inc()
		return nil
	}
	_, opened, err := s.Open(ctx, &p)
	if err != nil {
		return fmt.Errorf("cases: open %s: %w", p.ID, err)
	}
	if opened {
		s.met.consumed.WithLabelValues("opened").Inc()
	} else {
		s.met.consumed.WithLabelValues("skipped").Inc()
	}
	return nil
}

// Rebuild replaces the store's content with the projection of every event on the case
// topic, read from its beginning with a new consumer group. The topic has no end marker,
// so it stops after idle passes with no new event. Run it with the service stopped.
func (s *Service) Rebuild(ctx context.Context, bus pipeline.Bus, idle time.Duration) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.store.Reset(ctx); err != nil {
		return 0, err
	}
	group := fmt.Sprintf("%s-rebuild-%d", s.cfg.Group, s.now().UnixNano())
	cons, err := bus.Consumer(group, s.cfg.Topic)
	if err != nil {
		return 0, fmt.Errorf("cases: rebuild: %w", err)
	}
	defer cons.Close()
	n := 0
	for {
		fctx, cancel := context.WithTimeout(ctx, idle)
		msg, err := cons.Fetch(fctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return n, nil
			}
			return n, fmt.Errorf("cases: rebuild: fetch: %w", err)
		}
		var ev Event
		if err := json.Unmarshal(msg.Value, &ev); err != nil {
			return n, fmt.Errorf("cases: rebuild: event at offset %d: %w", msg.Offset, err)
		}
		if err := s.store.Apply(ctx, ev); err != nil {
			return n, err
		}
		n++
	}
}
