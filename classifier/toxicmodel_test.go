package classifier

import (
	"math"
	"strings"
	"testing"
)

// toxicTrainSet is a tiny synthetic corpus: «жмырь» (not in the lexicon) marks the toxic
// texts.
func toxicTrainSet() []ToxicExample {
	var ex []ToxicExample
	for i, s := range []string{"жмырь", "жмыри", "жмырём", "жмыря", "жмырями"} {
		ex = append(ex,
			ToxicExample{Text: "все соседи тут " + s + " конченые " + strings.Repeat("да ", i), Toxic: true},
			ToxicExample{Text: "опять эти " + s + " пишут ерунду", Toxic: true},
			ToxicExample{Text: "во дворе хорошая погода, гуляем с детьми " + strings.Repeat("ну ", i)},
			ToxicExample{Text: "спасибо за концерт в парке, пели от души"},
		)
	}
	return ex
}

func TestToxicModelTrainParseScore(t *testing.T) {
	lex, err := New(Config{NoModel: true, NoToxicModel: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := lex.TrainToxic(toxicTrainSet(), ToxicTrainOptions{Threshold: 0.6, Civic: 0.5, MinWords: 2, Bits: 12, Epochs: 20, NB: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseToxicModel(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Threshold != 0.6 || m.civic != 0.5 || m.minWords != 2 || m.bits != 12 || len(m.q) != 1<<12 {
		t.Fatalf("parsed header: threshold %v civic %v minwords %d bits %d, %d weights", m.Threshold, m.civic, m.minWords, m.bits, len(m.q))
	}
	c, err := New(Config{NoModel: true, ToxicModel: m})
	if err != nil {
		t.Fatal(err)
	}
	score := func(text string) (float64, float64, []string) {
		a := c.analyse(text)
		defer c.release(a)
		q := c.quickToxic(a)
		p, top := m.Score(c.toxicFeatures(a, nil, nil, nil))
		var words []string
		for _, e := range top {
			words = append(words, e.Term)
		}
		return q, p, words
	}
	// An unseen form of the marker word shares letter n-grams with the seen ones.
	q, p, top := score("какие же вы жмырюги все")
	if p < 0.6 {
		t.Errorf("unseen form: p = %.3f, want ≥ 0.6 (evidence %v)", p, top)
	}
	if len(top) == 0 || !strings.HasPrefix(top[0], "жмыр") {
		t.Errorf("unseen form: evidence %v, want the marker word first", top)
	}
	// Without civic words and pronouns, quickToxic is Score's probability.
	if math.Abs(q-p) > 1e-9 {
		t.Errorf("quickToxic %.6f != Score %.6f", q, p)
	}
	if _, p, _ := score("гуляем во дворе, погода хорошая"); p >= 0.5 {
		t.Errorf("clean text: p = %.3f, want < 0.5", p)
	}
	// Too few model words: a score but no evidence, so no drop.
	if _, _, top := score("жмырюги"); len(top) != 0 {
		t.Errorf("one-word text: evidence %v, want none (min words 2)", top)
	}
	pub := publication("какие же вы жмырюги все")
	c.Classify(pub)
	if len(pub.Class.Drop) != 1 || pub.Class.Drop[0] != "insult" {
		t.Errorf("Classify: drop %v, want [insult]", pub.Class.Drop)
	}
	if ev := pub.Class.Explanation["insult"]; len(ev) < 2 || !strings.HasPrefix(ev[0].Term, "model:") {
		t.Errorf("Classify: explanation %v, want model id and words", ev)
	}
}

func TestToxicModelParseErrors(t *testing.T) {
	lex, err := New(Config{NoModel: true, NoToxicModel: true})
	if err != nil {
		t.Fatal(err)
	}
	good, err := lex.TrainToxic(toxicTrainSet(), ToxicTrainOptions{Bits: 10, Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ := strings.Cut(string(good), "\n")
	tests := map[string]string{
		"v1 model":      "otklik-lr\tv1\tthreshold=0.7\nbias\t0.1\n",
		"bad threshold": strings.Replace(header, "threshold=0.5", "threshold=1.5", 1) + "\n" + body,
		"no bits":       strings.Replace(header, "\tbits=10", "", 1) + "\n" + body,
		"bad base64":    header + "\n!!!!\n",
		"short weights": strings.Replace(header, "bits=10", "bits=11", 1) + "\n" + body,
	}
	for name, data := range tests {
		if _, err := ParseToxicModel([]byte(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParseToxicModel(good); err != nil {
		t.Errorf("good model: %v", err)
	}
}

func TestToxicFeatureCodes(t *testing.T) {
	var codes [48]uint64
	for _, tc := range []struct {
		word   string
		banned bool
	}{
		{"скипидаром", true}, {"хлебать", true}, {"колебаться", true}, {"мудрый", true},
		{"оскорблять", true}, {"уродился", true}, {"задолбали", true},
		{"дебилы", false}, {"дорога", false}, {"столб", false}, {"тебе", true},
	} {
		if got := bannedWord(&codes, wordCodes(tc.word, &codes)); got != tc.banned {
			t.Errorf("bannedWord(%q) = %v, want %v", tc.word, got, tc.banned)
		}
	}
	wi := &wordInfo{word: "дебил", stem: "дебил"}
	var names []string
	wordFeatures(wi, false, nil, func(f uint64) { names = append(names, featureName(f)) })
	for _, want := range []string{"<де", "деби", "ебил", "бил>", "дебил"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("features of %q: %v lack %q", wi.word, names, want)
		}
	}
	if got := unpack(packRunes("жмырь*9z", 8), 8); got != "жмырь*9z" {
		t.Errorf("pack/unpack: %q", got)
	}
}

func TestToxicProbabilityModelAlone(t *testing.T) {
	lex, err := New(Config{NoModel: true, NoToxicModel: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := lex.TrainToxic(toxicTrainSet(), ToxicTrainOptions{Civic: 3, MinWords: 5, Bits: 12, Epochs: 20, NB: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseToxicModel(data)
	if err != nil {
		t.Fatal(err)
	}
	toxic, clean := lex.ToxicProbability(m, "опять эти жмырюги конченые"), lex.ToxicProbability(m, "спасибо за концерт в парке")
	if toxic < 0.6 || clean > 0.4 {
		t.Errorf("model alone: toxic text %.3f (want ≥ 0.6), clean text %.3f (want ≤ 0.4)", toxic, clean)
	}
	// No civic shift: a civic word does not lower the model's own probability by the
	// stored 3 log-odds.
	a := lex.analyse("жмыри конченые, мусор во дворе")
	guarded, _ := m.Score(lex.toxicFeatures(a, nil, nil, nil))
	lex.release(a)
	if alone := lex.ToxicProbability(m, "жмыри конченые, мусор во дворе"); alone <= guarded {
		t.Errorf("civic text: model alone %.3f, want above the guarded %.3f", alone, guarded)
	}
}

func TestToxicTrainVariants(t *testing.T) {
	lex, err := New(Config{NoModel: true, NoToxicModel: true})
	if err != nil {
		t.Fatal(err)
	}
	base := ToxicTrainOptions{Bits: 12, Epochs: 20, NB: 1}
	plain, err := lex.TrainToxic(toxicTrainSet(), base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		set  func(*ToxicTrainOptions)
	}{
		{"average", func(o *ToxicTrainOptions) { o.Average = 5 }},
		{"balance", func(o *ToxicTrainOptions) { o.Balance = true }},
		{"interp", func(o *ToxicTrainOptions) { o.Interp = 0.5 }},
		{"mix", func(o *ToxicTrainOptions) { o.Mix = 0.3 }},
	} {
		opt := base
		tc.set(&opt)
		data, err := lex.TrainToxic(toxicTrainSet(), opt)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(data) == string(plain) && tc.name != "balance" {
			t.Errorf("%s: same model as without the option", tc.name)
		}
		m, err := ParseToxicModel(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		toxic, clean := lex.ToxicProbability(m, "опять эти жмырюги конченые"), lex.ToxicProbability(m, "спасибо за концерт в парке")
		if toxic <= clean || toxic < 0.5 {
			t.Errorf("%s: toxic text %.3f, clean text %.3f", tc.name, toxic, clean)
		}
	}
}

// TestQuickToxicBoundsScore checks the property the classifier's shortcut relies on: the
// quick estimate is never below the exact score (it leaves out only the civic shift).
func TestQuickToxicBoundsScore(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.tmodel == nil {
		t.Skip("no toxic model embedded")
	}
	check := func(t *testing.T, texts []string) {
		for _, text := range texts {
			a := c.analyse(text)
			q := c.quickToxic(a)
			p, _ := c.tmodel.Score(c.toxicFeatures(a, nil, nil, nil))
			c.release(a)
			if p > q+1e-12 {
				t.Fatalf("%q: exact score %v above the quick estimate %v", text, p, q)
			}
		}
	}
	t.Run("examples", func(t *testing.T) {
		check(t, []string{
			"Собаке - собачья смерть", "ты тупой баран, иди отсюда", "яма на дороге, машину разбил",
			"Саратов, как вам новый логотип города? Пишите в комментариях",
			"мусор не вывозят уже неделю, дворник пропал", "эти твари опять сломали качели во дворе",
		})
	})
	t.Run("shared", func(t *testing.T) {
		check(t, readTexts(t, "data/toxic-2ch-pikabu/dev.jsonl"))
		check(t, readTexts(t, "data/saratov/dev.jsonl"))
	})
}

// TestWordSumMatchesFeatures holds the cached per-word sum of the toxic model to the
// features wordFeatures lists for the word (the quick score and the exact one must agree).
func TestWordSumMatchesFeatures(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.tmodel == nil {
		t.Skip("no toxic model embedded")
	}
	m := c.tmodel
	words := []string{"ты", "баран", "дебилоид", "скипидар", "хлебать", "петушонок", "мусор", "администрация", "а*б", "12345", "x"}
	for _, text := range readTexts(t, "data/toxic-2ch-pikabu/dev.jsonl")[:2000] {
		for _, tok := range Tokenize(text, nil) {
			words = append(words, tok.Text)
		}
	}
	for _, w := range words {
		wi := c.analyseWord(w)
		var acc, n int32
		ok := wordFeatures(wi, false, nil, func(f uint64) { n++; acc += int32(m.q[m.bucket(f)]) })
		gotAcc, gotN, banned := m.wordSum(wi)
		if gotAcc != acc || gotN != n || banned != !ok {
			t.Fatalf("%q: wordSum = (%d, %d, %v), features give (%d, %d, %v)", w, gotAcc, gotN, banned, acc, n, !ok)
		}
	}
}
