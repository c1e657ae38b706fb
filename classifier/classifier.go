// Package classifier decides, for every residents' publication, its topic, the
// municipality of Saratov region it is about, its priority, and whether point 16 of the
// regulation (obscene language, insults, threats) applies — and explains each decision by
// the terms that made it.
//
// It is rule-based over hand-written dictionaries kept as data files under data/ (stems and
// phrases with weights, a gazetteer, a point-16 lexicon), embedded in the binary, and can
// combine its topic decision with a small naive Bayes model trained by `otklik train`. Text
// is normalised first (look-alikes, masking, stretched letters; see Tokenize), and every
// distinct word is analysed once and cached, which is what makes it fast.
package classifier

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/otklik/otklik"
)

//go:embed data
var dataFS embed.FS

// DataVersion names the version of the embedded dictionaries; it is part of Model.
const DataVersion = "2026-11-29.1"

// Topics lists the topic ids of the contract (spec/labels.md), in contract order.
var topicIDs = [...]string{
	"housing", "roads", "transport", "health", "education", "social", "waste", "ecology",
	"landscaping", "culture", "sport", "agriculture", "economy", "safety", "animals", "other",
}

// Topics returns the 16 topic ids of the contract.
func Topics() []string { return slices.Clone(topicIDs[:]) }

// DefaultRouting returns the contract's default topic → agency routing. "other" routes to
// nobody: the curator decides.
func DefaultRouting() map[string]string {
	return map[string]string{
		"housing":     "Министерство строительства и жилищно-коммунального хозяйства области",
		"roads":       "Министерство транспорта и дорожного хозяйства области",
		"transport":   "Министерство транспорта и дорожного хозяйства области",
		"health":      "Министерство здравоохранения области",
		"education":   "Министерство образования области",
		"social":      "Министерство труда и социальной защиты области",
		"waste":       "Министерство природных ресурсов и экологии области",
		"ecology":     "Министерство природных ресурсов и экологии области",
		"landscaping": "Министерство строительства и жилищно-коммунального хозяйства области",
		"culture":     "Министерство культуры области",
		"sport":       "Министерство молодёжной политики и спорта области",
		"agriculture": "Министерство сельского хозяйства области",
		"economy":     "Министерство экономического развития области",
		"safety":      "Комитет общественной безопасности области",
		"animals":     "Управление ветеринарии области",
		"other":       "",
	}
}

// Config configures a Classifier.
type Config struct {
	// Routing overrides the default topic → agency routing, per topic id. A topic mapped to
	// "" routes to the curator.
	Routing map[string]string `yaml:"routing"`
	// ModelPath is an optional topic model written by `otklik train`. Empty: the embedded
	// model is used if one is embedded, otherwise dictionaries only.
	ModelPath string `yaml:"model_path"`
	// NoModel disables the topic model entirely (dictionaries only).
	NoModel bool `yaml:"no_model"`
	// Model, when set, is used instead of ModelPath and the embedded model (training and
	// cross-validation build classifiers this way).
	Model *Model `yaml:"-"`
	// ModelWeight is how much the model's probability counts against the dictionary
	// weights (default 2).
	ModelWeight float64 `yaml:"model_weight"`
	// ToxicModelPath is an optional point-16 model written by `otklik train --toxic`.
	// Empty: the embedded one, if any.
	ToxicModelPath string `yaml:"toxic_model_path"`
	// NoToxicModel disables the point-16 model (lexicon only).
	NoToxicModel bool `yaml:"no_toxic_model"`
	// NoThreads stops comments that name no subject from taking their post's topic (see
	// Threads).
	NoThreads bool `yaml:"no_threads"`
	// ToxicModel, when set, is used instead of ToxicModelPath and the embedded model.
	ToxicModel *ToxicModel `yaml:"-"`
	// ToxicThreshold overrides the toxic model's stored threshold when in (0, 1).
	ToxicThreshold float64 `yaml:"toxic_threshold"`
	// Now returns the time stamped into ClassifiedAt (default time.Now).
	Now func() time.Time `yaml:"-"`
	// Metrics, when set, counts classifications and cache use.
	Metrics *Metrics `yaml:"-"`
}

// DefaultConfig returns the defaults: contract routing, embedded data, no external model.
func DefaultConfig() Config {
	return Config{Now: time.Now}
}

// SetDefaults fills zero fields with defaults.
func (c *Config) SetDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ModelWeight == 0 {
		c.ModelWeight = defaultModelWeight
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	for topic := range c.Routing {
		if !slices.Contains(topicIDs[:], topic) {
			errs = append(errs, fmt.Errorf("routing: unknown topic %q (want one of %s)", topic, strings.Join(topicIDs[:], ", ")))
		}
	}
	if c.ModelWeight < 0 {
		errs = append(errs, fmt.Errorf("model_weight: %v is negative", c.ModelWeight))
	}
	if c.ModelPath != "" {
		if _, err := os.Stat(c.ModelPath); err != nil {
			errs = append(errs, fmt.Errorf("model_path: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Classifier classifies publications. It is safe for concurrent use.
type Classifier struct {
	cfg     Config
	routing map[string]string
	toxic   *toxicLexicon
	topics  *termDict
	gaz     *gazetteer
	prio    *priorityRules
	model   *Model
	tmodel  *ToxicModel
	cache   *cache[wordInfo, *wordInfo]
	chunks  *cache[chunk, *chunk]
	// noHits is the dictionary hits of the words that have none (shared).
	noHits   *wordHits
	metrics  *Metrics
	threads  *Threads
	model_id string
	// modelTerm and tmodelTerm name the topic and toxic models in explanations.
	modelTerm, tmodelTerm string
	// free holds scratch spaces between calls. Not a sync.Pool: their buffers are worth
	// keeping across garbage collections.
	free chan *analysis
}

// New loads the embedded data and the optional model. It fails fast on a bad config or
// bad data.
func New(cfg Config) (*Classifier, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("classifier config: %w", err)
	}
	// The parts load in parallel: the toxic model (the largest to decode), the topic model,
	// the gazetteer with the priority rules, and here the lexicon with the topics.
	toxic := inParallel(func() (*ToxicModel, error) { return loadToxicModel(cfg) })
	nb := inParallel(func() (*Model, error) { return loadModel(cfg) })
	type places struct {
		gaz  *gazetteer
		prio *priorityRules
	}
	other := inParallel(func() (p places, err error) {
		if p.gaz, err = parseData("gazetteer.txt", parseGazetteer); err == nil {
			p.prio, err = parseData("priority.tsv", parsePriority)
		}
		return p, err
	})
	c := &Classifier{cfg: cfg, cache: newCache[wordInfo](), chunks: newCache[chunk](), noHits: &wordHits{}, metrics: cfg.Metrics,
		free: make(chan *analysis, 2*runtime.GOMAXPROCS(0))}
	c.routing = DefaultRouting()
	for k, v := range cfg.Routing {
		c.routing[k] = v
	}
	if !cfg.NoThreads {
		c.threads = newThreads(c.routing)
	}
	var err error
	if c.toxic, err = parseData("toxic.txt", parseToxic); err == nil {
		c.topics, err = parseData("topics.tsv", parseTopics)
	}
	// Every goroutine above is waited for, whatever fails first.
	tm, tErr := toxic()
	nm, nErr := nb()
	pl, pErr := other()
	if err := errors.Join(err, pErr, nErr, tErr); err != nil {
		return nil, err
	}
	c.gaz, c.prio = pl.gaz, pl.prio
	c.model_id = "otklik-rules/" + DataVersion
	if nm != nil {
		c.model = nm
		c.model_id += "+nb/" + nm.ID
		c.modelTerm = "model:" + nm.ID
	}
	if m := tm; m != nil {
		if cfg.ToxicThreshold > 0 && cfg.ToxicThreshold < 1 {
			mm := *m
			mm.Threshold = cfg.ToxicThreshold
			m = &mm
		}
		c.tmodel = m
		c.model_id += "+lr/" + m.ID
		c.tmodelTerm = "model:" + m.ID
	}
	if c.metrics != nil {
		c.metrics.attach(c.cache, c.chunks)
	}
	return c, nil
}

// inParallel runs f in its own goroutine and returns the function that waits for its
// results.
func inParallel[T any](f func() (T, error)) func() (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	return func() (T, error) {
		r := <-done
		return r.v, r.err
	}
}

// parseData reads and parses one of the embedded data files.
func parseData[T any](name string, parse func(string) (T, error)) (T, error) {
	b, err := dataFS.ReadFile("data/" + name)
	if err == nil {
		var v T
		if v, err = parse(string(b)); err == nil {
			return v, nil
		}
	}
	var zero T
	return zero, fmt.Errorf("classifier data: %w", err)
}

// loadModel returns the topic model the configuration asks for.
func loadModel(cfg Config) (*Model, error) {
	return loadPart(cfg.NoModel, cfg.Model, cfg.ModelPath, "model.tsv", "classifier model", ParseModel)
}

// loadToxicModel returns the point-16 model the configuration asks for.
func loadToxicModel(cfg Config) (*ToxicModel, error) {
	return loadPart(cfg.NoToxicModel, cfg.ToxicModel, cfg.ToxicModelPath, "toxic-model.tsv", "toxic model", ParseToxicModel)
}

// loadPart returns a model: none when off, the given one, the one in the file at path, or
// the embedded data/<embedded> (nil when none is embedded); what names it in errors.
func loadPart[T any](off bool, given *T, path, embedded, what string, parse func([]byte) (*T, error)) (*T, error) {
	switch {
	case off:
		return nil, nil
	case given != nil:
		return given, nil
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		m, err := parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, path, err)
		}
		return m, nil
	}
	b, err := dataFS.ReadFile("data/" + embedded)
	if err != nil {
		return nil, nil
	}
	m, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("embedded %s: %w", what, err)
	}
	return m, nil
}

// ModelID names the classifier and its data version, as stamped into Classification.Model.
func (c *Classifier) ModelID() string { return c.model_id }

// analysis is the per-call scratch space.
type analysis struct {
	z     tokenizer
	toks  []Token
	infos []*wordInfo
	words []string // Text of the Word and Hashtag tokens, in order
	stems []string
	winfo []*wordInfo // info of each entry of words
	wpos  []int       // token index of each entry of words
	feats []uint64
	// seen is walkFeatures' set of the words of a long text.
	seen map[string]struct{}
}

// release returns a scratch space for reuse.
func (c *Classifier) release(a *analysis) {
	select {
	case c.free <- a:
	default:
	}
}

func (c *Classifier) info(w string) *wordInfo {
	return c.cache.get(w, c.analyseWord)
}

// digitOrStar reports whether s has an ASCII digit or a star (a number, or a masked word).
func digitOrStar(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' || c == '*' {
			return true
		}
	}
	return false
}

// analyseWord computes the info of one word (a cache miss).
func (c *Classifier) analyseWord(w string) *wordInfo {
	wi := &wordInfo{word: w, stem: Stem(w)}
	var h wordHits // allocated below only when not empty
	c.toxic.analyse(w, wi)
	h.topics = c.topics.wordHits(w, wi.stem)
	// Words of the topic dictionaries are the residents' civic vocabulary («мусор»,
	// «крысы», «повесить объявление»): they are never evidence of offence.
	wi.stop = toxicStop[w]
	if len(wi.stem) >= 3 && !digitOrStar(wi.stem) && !wi.stop && len(h.topics) == 0 && !wi.lexNeutral {
		wi.model = true
		wi.pair = uint32(packRunes(wi.stem, 4))
	}
	if c.model != nil && len(w) > 2 && !digitOrStar(w) {
		wi.nb = c.model.logp[wi.stem]
	}
	if m := c.tmodel; m != nil && modelWord(wi) {
		wi.tq, wi.tn, wi.tbanned = m.wordSum(wi)
	}
	h.prio = c.prio.dict.wordHits(w, wi.stem)
	h.topicPhr = c.topics.phrases[wi.stem]
	h.prioPhr = c.prio.dict.phrases[wi.stem]
	h.gaz = c.gaz.byStem[wi.stem]
	if len(h.topics) > 0 || len(h.topicPhr) > 0 {
		wi.has |= hasTopic
	}
	if len(h.prio) > 0 || len(h.prioPhr) > 0 {
		wi.has |= hasPrio
	}
	if len(h.gaz) > 0 {
		wi.has |= hasGaz
	}
	wi.threat = c.toxic.threatWords[w]
	wi.pointer = c.toxic.pointers[w]
	for _, i := range c.toxic.threatsFor(w) {
		if c.toxic.threats[i].partMatches(0, w) {
			h.threatPhr = append(h.threatPhr, i)
		}
	}
	wi.hits = c.noHits
	if !h.empty() {
		wi.hits = new(wordHits)
		*wi.hits = h
	}
	return wi
}

func (c *Classifier) analyse(text string) *analysis {
	var a *analysis
	select {
	case a = <-c.free:
	default:
	}
	if a == nil {
		a = &analysis{}
		a.z.intern = func(b []byte) (string, *wordInfo) {
			wi := c.cache.getBytes(b, c.analyseWord)
			return wi.word, wi
		}
		a.z.chunks = c.chunks
		a.z.words, a.z.analyseWord = c.cache, c.analyseWord
	}
	a.toks = a.z.tokenize(text, a.toks)
	a.infos = a.infos[:0]
	a.words = a.words[:0]
	a.stems = a.stems[:0]
	a.winfo = a.winfo[:0]
	a.wpos = a.wpos[:0]
	for i, t := range a.toks {
		switch t.Kind {
		case Word, Hashtag, Joined:
			wi := t.wi
			if wi == nil {
				wi = c.info(t.Text)
			}
			a.infos = append(a.infos, wi)
			if t.Kind != Joined {
				a.words = append(a.words, t.Text)
				a.stems = append(a.stems, wi.stem)
				a.winfo = append(a.winfo, wi)
				a.wpos = append(a.wpos, i)
			}
		default:
			a.infos = append(a.infos, nil)
		}
	}
	return a
}

// Classify sets p.Class from p.Text, p.Kind, p.Engagement and p.Author.Followers.
// A comment that names no subject takes its post's topic, when this classifier saw the
// post before (see Threads).
func (c *Classifier) Classify(p *otklik.Publication) { c.classifyPub(p, c.threads) }

// ClassifyOne is Classify without the thread memory: p.Class depends on p alone. Callers
// that classify in parallel use it and apply Threads in input order.
func (c *Classifier) ClassifyOne(p *otklik.Publication) { c.classifyPub(p, nil) }

// classifyPub classifies p, applies threads (which may be nil) and counts the result.
func (c *Classifier) classifyPub(p *otklik.Publication, threads *Threads) {
	p.Class = c.classify(p.Text, p.Kind, p.Engagement, p.Author.Followers)
	threads.Apply(p)
	if c.metrics != nil {
		c.metrics.observe(p.Class)
	}
}

// Threads returns the classifier's thread memory, nil when Config.NoThreads is set.
func (c *Classifier) Threads() *Threads { return c.threads }

func (c *Classifier) classify(text string, kind otklik.Kind, eng otklik.Engagement, followers int64) *otklik.Classification {
	a := c.analyse(text)
	defer c.release(a)
	expl := map[string][]otklik.Evidence{}
	cl := &otklik.Classification{Drop: []otklik.DropReason{}, Explanation: expl, Model: c.model_id, ClassifiedAt: c.cfg.Now()}

	tr := toxicResult{evidence: expl}
	c.detectToxic(a, &tr)
	cl.Drop = append(cl.Drop, tr.reasons...)

	topic, tev := c.topicOf(a)
	cl.Topic = topic
	if len(tev) > 0 {
		expl["topic"] = tev
	}
	loc, lev := c.gaz.locate(a)
	cl.Location = loc
	if len(lev) > 0 {
		expl["location"] = lev
	}
	pr, pev := c.prio.decide(a, text, kind, eng, followers)
	cl.Priority = pr
	if len(pev) > 0 {
		expl["priority"] = pev
	}
	if c.tmodel != nil && len(tr.reasons) == 0 && pr != otklik.Critical {
		// The lexicon found nothing: the model may still find the text offensive. A report
		// of danger to life is never dropped on the model's word alone.
		// A quick estimate from the cached per-word weights first; the exact score only
		// when the estimate reaches the threshold. The estimate is the exact score without
		// the civic shift, which only lowers it (TestQuickToxicBoundsScore), so a text
		// below the threshold by the estimate is below it by the exact score too.
		if c.quickToxic(a) >= c.tmodel.Threshold-c.tmodel.quickMargin() {
			feats := c.toxicFeatures(a, nil, a.feats, nil)
			a.feats = feats
			if p, top := c.tmodel.Score(feats); p >= c.tmodel.Threshold && len(top) > 0 && top[0].Weight >= minStrongWeight {
				cl.Drop = append(cl.Drop, otklik.Insult)
				expl["insult"] = append([]otklik.Evidence{{Term: c.tmodelTerm, Weight: round2(p)}}, top...)
			}
		}
	}
	cl.Agency = c.routing[topic]
	return cl
}
