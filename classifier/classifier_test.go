package classifier

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/otklik/otklik"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func classify(c *Classifier, text string) *otklik.Classification {
	p := publication(text)
	c.Classify(p)
	return p.Class
}

func TestTopic(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct{ text, want string }{
		{"Третий день нет горячей воды, управляйка молчит", "housing"},
		{"На улице Ленина яма на яме, асфальт раскрошился", "roads"},
		{"Маршрутка 22 не ходит по расписанию", "transport"},
		{"В поликлинике к терапевту не записаться", "health"},
		{"Школьный автобус сломался, дети ходят пешком до школы", "education"},
		{"Соцзащита не платит пособие многодетным", "social"},
		{"Мусор не вывозят неделю, контейнеры переполнены", "waste"},
		{"Вырубают здоровые деревья в лесу, вонь от завода", "ecology"},
		{"Во дворе сломаны качели и нет лавочек", "landscaping"},
		{"Дом культуры закрыт, библиотека не работает", "culture"},
		{"Когда откроют стадион и секцию бокса?", "sport"},
		{"Фермеры не могут сдать зерно на элеватор", "agriculture"},
		{"Цены на рынке растут, зарплату не платят", "economy"},
		{"Горит сухая трава, пожарные не едут", "safety"},
		{"Стая бродячих собак у школы, отлов не приезжает", "animals"},
		{"Мобильный интернет не работает, связи нет", "other"},
		{"Всем доброго дня", "other"},
	}
	for _, tc := range tests {
		cl := classify(c, tc.text)
		if cl.Topic != tc.want {
			t.Errorf("%q: topic %s, want %s (explanation %v)", tc.text, cl.Topic, tc.want, cl.Explanation["topic"])
		}
		if tc.want != "other" && len(cl.Explanation["topic"]) == 0 {
			t.Errorf("%q: no topic explanation", tc.text)
		}
		if cl.Agency != DefaultRouting()[cl.Topic] {
			t.Errorf("%q: agency %q", tc.text, cl.Agency)
		}
	}
}

func TestLocation(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct{ text, want string }{
		{"В Энгельсе нет воды", "Энгельсский район"},
		{"Из Балакова в Саратов автобус не ходит", "Балаковский район"},
		{"Дорогу по Вольску так и не починили", "Вольский район"},
		{"Покровск, ул. Тельмана", "Энгельсский район"},
		{"Ленинский район Саратова, двор", "Саратов"},
		{"Кировский район, ул. Тархова", "Саратов"},
		{"Кумыска после выходных в мусоре", "Саратов"},
		{"Автобус на Саратов из Аткарска опоздал", "Аткарский район"},
		{"В Дергачах закрыли аптеку", "Дергачёвский район"},
		{"Степное, степной пожар", "Советский район"},
		// Village names that are common words or streets' names.
		{"у хирурга золотые руки, спасибо", ""},
		{"лесная поляна вся в мусоре", ""},
		{"падая на льду, сломал руку", ""},
		{"дом на Урицкого, яма во дворе", ""},
		{"Садик на Пушкина в Энгельсе закрыли", "Энгельсский район"},
		{"В Золотом нет света третий день", "Красноармейский район"},
		{"живу на Советской, нет воды", ""},
		{"Пугачёвская соцзащита не отвечает", "Пугачёвский район"},
		{"на Пугачёвской улице яма", ""},
		{"степной пожар у дороги", ""},
		{"Светлый. У школы", "ЗАТО Светлый"},
		{"в светлом будущем", ""},
		{"Краснокутского района фермеры", "Краснокутский район"},
		{"Красный Кут, трасса", "Краснокутский район"},
		{"ул. Вольская 60 не вывозят мусор", ""},
		{"на улице Энгельса яма", ""},
		{"ул. Карла Маркса провалился тротуар", ""},
		{"В Александровке опять нет света", ""},
		{"Александровка Аткарского района без света", "Аткарский район"},
		{"Саратовская область, всем привет", ""},
		{"В Самаре и Москве работы больше", ""},
		{"Переход на Чернышевского", "Саратов"},
		{"#Саратов #ЖКХ", "Саратов"},
	}
	for _, tc := range tests {
		cl := classify(c, tc.text)
		if cl.Location != tc.want {
			t.Errorf("%q: location %q, want %q (explanation %v)", tc.text, cl.Location, tc.want, cl.Explanation["location"])
		}
	}
}

func TestPriority(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct {
		text string
		eng  otklik.Engagement
		want otklik.Priority
	}{
		{"Горит частный дом, пожарных нет!!!", otklik.Engagement{}, otklik.Critical},
		{"Весь район без газа с утра, дети мерзнут", otklik.Engagement{}, otklik.Critical},
		{"Покусали ребенка бродячие собаки у школы", otklik.Engagement{}, otklik.Critical},
		{"Второй месяц в подъезде не горит свет, писали в УК", otklik.Engagement{}, otklik.High},
		{"Яма на дороге у дома", otklik.Engagement{Reposts: 300, Views: 40000}, otklik.High},
		{"Яма на дороге у дома, объезжаем", otklik.Engagement{}, otklik.Medium},
		{"Подскажите, когда откроют бассейн?", otklik.Engagement{}, otklik.Low},
		{"Спасибо пожарным, быстро приехали", otklik.Engagement{}, otklik.Low},
		{"Предлагаю поставить лавочки у остановки", otklik.Engagement{}, otklik.Low},
	}
	for _, tc := range tests {
		p := publication(tc.text)
		p.Engagement = tc.eng
		c.Classify(p)
		if p.Class.Priority != tc.want {
			t.Errorf("%q: priority %s, want %s (explanation %v)", tc.text, p.Class.Priority, tc.want, p.Class.Explanation["priority"])
		}
	}
}

func TestConfig(t *testing.T) {
	if _, err := New(Config{Routing: map[string]string{"potholes": "x"}}); err == nil || !strings.Contains(err.Error(), "unknown topic") {
		t.Errorf("unknown routing topic: err = %v", err)
	}
	if _, err := New(Config{ModelPath: "/nonexistent/model.tsv"}); err == nil {
		t.Error("missing model file accepted")
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	c, err := New(Config{Routing: map[string]string{"roads": "Дорожный фонд"}, Now: func() time.Time { return now }, NoModel: true})
	if err != nil {
		t.Fatal(err)
	}
	cl := classify(c, "яма на дороге, асфальт")
	if cl.Agency != "Дорожный фонд" || !cl.ClassifiedAt.Equal(now) || cl.Model == "" {
		t.Errorf("got %+v", cl)
	}
	if cl := classify(c, "непонятно что"); cl.Topic != "other" || cl.Agency != "" {
		t.Errorf("other routes to the curator: %+v", cl)
	}
}

func TestConcurrentClassify(t *testing.T) {
	c := newTestClassifier(t)
	texts := []string{"В Энгельсе нет воды!!!", "х.у.й вам", "Спасибо за сквер", "Кумыска в мусоре"}
	want := make([]*otklik.Classification, len(texts))
	for i, s := range texts {
		want[i] = classify(newTestClassifier(t), s)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k := i % len(texts)
				got := classify(c, texts[k])
				if got.Topic != want[k].Topic || got.Location != want[k].Location || got.Priority != want[k].Priority || len(got.Drop) != len(want[k].Drop) {
					t.Errorf("%q: %+v, want %+v", texts[k], got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Metrics: m, NoModel: true})
	if err != nil {
		t.Fatal(err)
	}
	classify(c, "х.у.й вам а не дороги")
	classify(c, "х.у.й вам а не дороги")
	// Five distinct chunks, a masked word and four plain ones (looked up in the word
	// cache), each missed once; the second text hits them all.
	if got := c.chunks.misses.Load(); got != 5 {
		t.Errorf("chunk misses = %d, want 5", got)
	}
	if got := testutil.ToFloat64(m.dropped.WithLabelValues("obscene")); got != 2 {
		t.Errorf("dropped obscene = %v, want 2", got)
	}
	n, err := testutil.GatherAndCount(reg, "otklik_classifier_chunk_misses_total", "otklik_classifier_classifications_total")
	if err != nil || n < 2 {
		t.Errorf("gathered %d series, err %v", n, err)
	}
}

// TestGazetteerAgainstOKTMO checks every settlement of the hand-written gazetteer against
// the OKTMO reference in ../shared/data/saratov-oktmo: a name listed for a municipality
// must be a locality of it, and a name that exists in several municipalities must be
// listed as ambiguous unless marked as the best-known one (a district centre).
func TestGazetteerAgainstOKTMO(t *testing.T) {
	path := filepath.Join(sharedDir(t), "data/saratov-oktmo/localities.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("%v; skipping", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "ё", "е") }
	where := map[string]map[string]bool{}
	for _, r := range rows[1:] {
		n := norm(r[col["name"]])
		if where[n] == nil {
			where[n] = map[string]bool{}
		}
		where[n][norm(r[col["spec_name"]])] = true
	}
	names, err := GazetteerNames()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, n := range names {
		if n.Weak || n.Local || strings.HasSuffix(n.Name, " район") || strings.HasPrefix(n.Name, "ЗАТО ") {
			continue
		}
		got := where[norm(n.Name)]
		switch {
		case n.Municipality == "":
			if len(got) < 2 {
				t.Errorf("%s is listed as ambiguous but OKTMO has it in %v", n.Name, got)
			}
		case !got[norm(n.Municipality)]:
			t.Errorf("%s is listed under %s but OKTMO has it in %v", n.Name, n.Municipality, got)
		case len(got) > 1 && !n.Prominent:
			t.Errorf("%s is listed under %s but exists in %d municipalities (%v): mark it ambiguous or prominent", n.Name, n.Municipality, len(got), got)
		}
		checked++
	}
	t.Logf("%d gazetteer names checked against %d OKTMO localities", checked, len(rows)-1)
	// Every municipality of the spec is in the gazetteer.
	spec, err := os.ReadFile(filepath.Join(sharedDir(t), "spec/municipalities.txt"))
	if err != nil {
		t.Fatal(err)
	}
	muns, err := Municipalities()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range muns {
		have[m] = true
	}
	for _, m := range strings.Split(strings.TrimSpace(string(spec)), "\n") {
		if !have[strings.TrimSpace(m)] {
			t.Errorf("municipality %q of the spec is missing from the gazetteer", m)
		}
	}
}

// TestGazetteerResolvesOKTMOCentres classifies «в <admin centre>» for every municipal
// district whose centre the gazetteer lists, and checks the district comes out.
func TestGazetteerResolvesOKTMOCentres(t *testing.T) {
	path := filepath.Join(sharedDir(t), "data/saratov-oktmo/municipalities.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("%v; skipping", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	c := newTestClassifier(t)
	for _, r := range rows[1:] {
		centre := r[col["admin_centre"]]
		if want := r[col["spec_name"]]; want == "Саратовский район" {
			continue // its centre is the city of Saratov, an okrug of its own
		}
		if i := strings.IndexByte(centre, ' '); i > 0 && utf8.RuneCountInString(centre[:i]) <= 3 {
			centre = centre[i+1:] // drop the type: «г Энгельс» → «Энгельс»
		}
		want := r[col["spec_name"]]
		cl := classify(c, centre+". Нет света второй день")
		if cl.Location != want {
			t.Errorf("%q: location %q, want %q", centre, cl.Location, want)
		}
	}
}

// TestConcurrentSameAsSequential: workers that share a fresh classifier, and so race on
// analysing new words, decide every text as one classifier alone does, to the evidence.
func TestConcurrentSameAsSequential(t *testing.T) {
	texts := readTexts(t, "data/toxic-2ch-pikabu/dev.jsonl")[:3000]
	seq := newTestClassifier(t)
	want := make([]*otklik.Classification, len(texts))
	for i, s := range texts {
		want[i] = classify(seq, s)
	}
	shared := newTestClassifier(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range texts {
				k := (j + g*len(texts)/4) % len(texts)
				got := classify(shared, texts[k])
				got.ClassifiedAt = want[k].ClassifiedAt
				if !reflect.DeepEqual(got, want[k]) {
					t.Errorf("%q: %+v, want %+v", texts[k], got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}
