package classifier

import (
	"slices"
	"testing"
)

// TestParseTermsAlternatives checks the «a|b» syntax of topics.tsv: alternatives of one
// word are one term, so a text with several of them counts the weight once.
func TestParseTermsAlternatives(t *testing.T) {
	d, err := parseTerms("test.tsv", "safety\t2\tгорит*|горят*|горел*\n"+
		"transport\t1\tqr-код\n"+
		"economy\t2\tищу|найти работу\n", topicIDs[:])
	if err != nil {
		t.Fatal(err)
	}
	if len(d.terms) != 3 {
		t.Fatalf("%d terms, want 3", len(d.terms))
	}
	if got := len(d.terms[1].parts); got != 2 {
		t.Errorf("«qr-код»: %d parts, want 2 (a hyphenated word is two words)", got)
	}
	for _, tc := range []struct {
		word string
		want bool
	}{
		{"горит", true}, {"горят", true}, {"горела", true}, {"горе", false}, {"горах", false},
	} {
		hits := d.wordHits(tc.word, Stem(tc.word))
		if got := slices.Contains(hits, termHit{term: 0}); got != tc.want {
			t.Errorf("%q matches «горит*|горят*|горел*»: %v, want %v", tc.word, got, tc.want)
		}
	}
	for _, text := range []string{"не горит фонарь, горят только окна", "горело всю ночь и горит сейчас"} {
		sc := make([]float64, len(topicIDs))
		a := analyseWith(d, text)
		d.scores(a, hasTopic, func(wi *wordInfo) ([]termHit, []int32) { return wi.hits.topics, wi.hits.topicPhr }, sc)
		if got := sc[topicIndex("safety")]; got != 2 {
			t.Errorf("%q: safety %v, want 2 (one term, counted once)", text, got)
		}
	}
	for _, tc := range []struct {
		text string
		want float64
	}{
		{"ищу работу сварщиком", 2},
		{"хочу найти работу", 2},
		{"дорожные работы не ведутся", 0},
		{"прошу вернуть в работу заявку", 0},
	} {
		sc := make([]float64, len(topicIDs))
		d.scores(analyseWith(d, tc.text), hasTopic, func(wi *wordInfo) ([]termHit, []int32) { return wi.hits.topics, wi.hits.topicPhr }, sc)
		if got := sc[topicIndex("economy")]; got != tc.want {
			t.Errorf("%q: economy %v, want %v", tc.text, got, tc.want)
		}
	}
	for _, bad := range []string{"economy\t2\tработ*|ищу работу\n", "economy\t2\t=работу найти\n"} {
		if _, err := parseTerms("test.tsv", bad, topicIDs[:]); err == nil {
			t.Errorf("%q: a phrase starting with a prefix or an exact word: no error", bad)
		}
	}
	// A word of exact alternatives only.
	d, err = parseTerms("test.tsv", "agriculture\t1.5\t=ферма|=фермы\n", topicIDs[:])
	if err != nil {
		t.Fatal(err)
	}
	if len(d.wordHits("фермы", Stem("фермы"))) != 1 || len(d.wordHits("фермент", Stem("фермент"))) != 0 {
		t.Error("«=ферма|=фермы»: wrong matches")
	}
	// «=слово»: the exact word only («=дороги» is not «дорогие», which shares its stem).
	d, err = parseTerms("test.tsv", "roads\t2\tдорога*|=дороги|=дорог\n", topicIDs[:])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		word string
		want bool
	}{
		{"дорога", true}, {"дороги", true}, {"дорог", true}, {"дорогам", true}, {"дорогие", false}, {"дорогих", false}, {"дорогое", false},
	} {
		if got := len(d.wordHits(tc.word, Stem(tc.word))) == 1; got != tc.want {
			t.Errorf("%q matches «дорога*|=дороги|=дорог»: %v, want %v", tc.word, got, tc.want)
		}
	}
}

// analyseWith builds the analysis of a text against one dictionary (no caches).
func analyseWith(d *termDict, text string) *analysis {
	a := &analysis{}
	for _, tok := range Tokenize(text, nil) {
		if tok.Kind != Word {
			continue
		}
		st := Stem(tok.Text)
		wi := &wordInfo{word: tok.Text, stem: st, hits: &wordHits{topics: d.wordHits(tok.Text, st), topicPhr: d.phrases[st]}}
		if len(wi.hits.topics) > 0 || len(wi.hits.topicPhr) > 0 {
			wi.has |= hasTopic
		}
		a.words = append(a.words, tok.Text)
		a.stems = append(a.stems, st)
		a.winfo = append(a.winfo, wi)
	}
	return a
}

// TestTopicStemCollisions: words that share a stem (or a prefix) with a dictionary term
// but mean something else must not decide a topic. Each case names the collision the
// dictionary was changed for.
func TestTopicStemCollisions(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct{ text, notTopic string }{
		{"Приглашаем на ярмарку в Лысых Горах, у Соколовой горы", "safety"}, // горит ~ гора
		{"Подскажите нотариуса, желательно на Сенном", "agriculture"},       // сено ~ Сенной
		{"семья с тремя детьми живёт в соседнем доме", "agriculture"},       // семена ~ семья
		{"помыли пол в подъезде, на полу грязь", "agriculture"},             // поля ~ пол
		{"в пос. Юбилейный до сих пор", "agriculture"},                      // посев ~ пос.
		{"ПАО Т Плюс прислало квитанцию", "agriculture"},                    // паи ~ ПАО
		{"сто ста рублей", "animals"},                                       // стая ~ ста
		{"отлив на окне оторвался", "animals"},                              // отлов ~ отлив
		{"во дворе трава по пояс", "animals"},                               // травят ~ трава
		{"ранее писали, рано утром", "safety"},                              // ранили ~ ранее
		{"события в Сирии", "safety"},                                       // сирены ~ Сирия
		{"электронная запись к врачу", "ecology"},                           // запах ~ запись
		{"скорее бы починили, скоро зима", "health"},                        // скорая ~ скорее
		{"данные юридических лиц", "education"},                             // лицей ~ лица
		{"дорожные работы на улице Ленина", "economy"},                      // работу ~ работы
		{"Дорогие земляки, поздравляем! Дорогое удовольствие", "roads"},     // дорога ~ дорогие
		{"одна машина на весь район, одни обещания", "housing"},             // ОДН ~ одна
		{"закрыть окна, закрыли на замок", "economy"},                       // закрылся ~ закрыть
	}
	for _, tc := range tests {
		a := c.analyse(tc.text)
		sc := make([]float64, len(topicIDs))
		m := c.topics.scores(a, hasTopic, func(wi *wordInfo) ([]termHit, []int32) { return wi.hits.topics, wi.hits.topicPhr }, sc)
		c.release(a)
		if sc[topicIndex(tc.notTopic)] != 0 {
			var terms []string
			for _, i := range m {
				terms = append(terms, c.topics.terms[i].text)
			}
			t.Errorf("%q: %s scores %v (terms %v)", tc.text, tc.notTopic, sc[topicIndex(tc.notTopic)], terms)
		}
	}
}

// TestTopicCues: the general rules the dictionary encodes, each with a text of its own.
func TestTopicCues(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct{ text, want string }{
		// A burning dump or landfill is the dump's subject (waste), not a fire (safety).
		{"горит свалка за посёлком, дым на весь район, пожарные не приезжают", "waste"},
		{"Возгорание на мусорном полигоне, пожарные тушат уже пять часов, дым", "waste"},
		{"пожар в частном доме, пожарные тушат", "safety"},
		{"пожар в мусоропроводе, в подъезде дым, жильцов эвакуировали", "safety"},
		// Lighting of a street or road is roads; of a yard or park, landscaping.
		{"Не работает освещение по ул. Энергетиков от дома 1 до 3", "roads"},
		{"Во дворе не горит ни один фонарь, детская площадка в темноте", "landscaping"},
		// Jobs only in phrases: road works are not jobs.
		{"Закрывается швейный цех, 40 женщин без работы, выходное пособие обещают потом", "economy"},
		{"Дорожные работы на Московской шоссе не закончены, ямы", "roads"},
		// Inflections the stemmer separates from the listed form.
		{"в подвале вода стоит неделю", "housing"},
		{"в соцзащите отказали в выплате", "social"},
		{"звонили в водоканале никто не отвечает", "housing"},
		// Sport words of everyday speech.
		{"когда зальют каток, хотим кататься на коньках", "sport"},
		// Farmers' loans for machinery.
		{"подсолнечник лежит на складе, кредиты на технику платить нечем", "agriculture"},
		// A cultural institution or a social worker named decides against incidental words
		// (the topic model, trained on Kursk, hardly knows culture).
		{"Городской музей по выходным работает? Расписание на сайте старое", "culture"},
		{"Говорят, музей переезжает в подвал жилого дома, с коляской туда не попасть", "culture"},
		{"Соцработник приносит бабушке лекарства и продукты, спасибо ей огромное", "social"},
		{"Спасибо социальному работнику, ходит к отцу через день, лекарства приносит", "social"},
		// General vocabulary of the round of 2026-11-29.
		{"в котельной авария, батареи холодные", "housing"},
		{"на остановке два часа ждали пазик, таксисты ломят цену", "transport"},
		{"сугробы по пояс, на тротуарах скользко", "roads"},
		{"вредители съели урожай, уборочная под угрозой", "agriculture"},
		{"над посёлком сбили беспилотник, слышали взрыв", "safety"},
		{"Билайн и МТС не ловят в селе", "other"},
	}
	for _, tc := range tests {
		cl := classify(c, tc.text)
		if cl.Topic != tc.want {
			t.Errorf("%q: topic %s, want %s (explanation %v)", tc.text, cl.Topic, tc.want, cl.Explanation["topic"])
		}
	}
}
