package classifier

import (
	"slices"
	"strings"
	"testing"

	"github.com/otklik/otklik"
)

func publication(text string) *otklik.Publication {
	return &otklik.Publication{Text: text, Kind: otklik.Post}
}

func newTestClassifier(t testing.TB) *Classifier {
	t.Helper()
	c, err := New(Config{NoModel: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPoint16(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct {
		text string
		want []otklik.DropReason
	}{
		// obscene, plain and masked
		{"это просто пиздец", []otklik.DropReason{otklik.Obscene}},
		{"п*здец просто", []otklik.DropReason{otklik.Obscene}},
		{"Пи*дец какое качество", []otklik.DropReason{otklik.Obscene}},
		{"е*аный стыд", []otklik.DropReason{otklik.Obscene}},
		{"Е**ные порядки", []otklik.DropReason{otklik.Obscene}},
		{"х**ли вы там сидите", []otklik.DropReason{otklik.Obscene}},
		{"куда деньги идут нах**?", []otklik.DropReason{otklik.Obscene}},
		{"бл**ь, себе в убыток", []otklik.DropReason{otklik.Obscene}},
		{"ни**я не сделали", []otklik.DropReason{otklik.Obscene}},
		{"не выё**вайтесь", []otklik.DropReason{otklik.Obscene}},
		{"гремит под окнами, 6ля", []otklik.DropReason{otklik.Obscene}},
		{"oхуeть просто", []otklik.DropReason{otklik.Obscene}},
		{"х.у.й вам", []otklik.DropReason{otklik.Obscene}},
		{"б л я, опять", []otklik.DropReason{otklik.Obscene}},
		{"бляяяя опять", []otklik.DropReason{otklik.Obscene}},
		{"заебали уже", []otklik.DropReason{otklik.Obscene}},
		{"нахуй такие дороги", []otklik.DropReason{otklik.Obscene}},
		{"похуй им всем", []otklik.DropReason{otklik.Obscene}},
		{"это было ох*енно", []otklik.DropReason{otklik.Obscene}},
		{"Я в ах*е", []otklik.DropReason{otklik.Obscene}},
		{"blyat опять", []otklik.DropReason{otklik.Obscene}},
		// insults
		{"В администрации сидят одни дебилы", []otklik.DropReason{otklik.Insult}},
		{"Быдло за рулём", []otklik.DropReason{otklik.Insult}},
		{"Эти свиньи из соседнего дома", []otklik.DropReason{otklik.Insult}},
		{"Торгаши на Крытом — крысы", []otklik.DropReason{otklik.Insult}},
		{"Сама тупая курица", []otklik.DropReason{otklik.Insult}},
		{"Этим сволочам плевать", []otklik.DropReason{otklik.Insult}},
		{"твари конченые, х**ли", []otklik.DropReason{otklik.Obscene, otklik.Insult}},
		// threats
		{"я его офис сожгу", []otklik.DropReason{otklik.Threat}},
		{"найду и придушу", []otklik.DropReason{otklik.Threat}},
		{"я ей лицо разобью", []otklik.DropReason{otklik.Threat}},
		{"зубы ей пересчитаю", []otklik.DropReason{otklik.Threat}},
		{"мы с мужиками их закопаем", []otklik.DropReason{otklik.Threat}},
		{"ноги тебе переломаю", []otklik.DropReason{otklik.Threat}},
		{"вам конец, чиновники", []otklik.DropReason{otklik.Threat}},
		{"я знаю где он живёт", []otklik.DropReason{otklik.Threat}},
		// hard negatives
		{"Не надо оскорблять людей", nil},
		{"мы её почти не потребляем", nil},
		{"прекратите употреблять алкоголь", nil},
		{"цена 40 рублей, один рубль сдачи", nil},
		{"модели корабля и штурвал", nil},
		{"старинная сабля в музее", nil},
		{"хлебать щи", nil},
		{"страхуй меня, я полезу", nil},
		{"застрахуйте машину", nil},
		{"не надо колебаться", nil},
		{"Саратов, ул. Хуторская", nil},
		{"спасибо хирургу Бляхеру", nil},
		{"мазь с дёгтем и скипидаром", nil},
		{"погреба затоплены", nil},
		{"направляют в психушку", nil},
		{"бляха-муха, ремень", nil},
		{"хулиганы во дворе", nil},
		{"тихую сухую глухую погоду", nil},
		{"себе и тебе хлеба", nil},
		{"учеба и требования", nil},
		{"мудрый мандарин", nil},
		{"Ждём чуда, блин", nil},
		{"Совсем охренели", nil},
		{"спалю его машину нахрен", []otklik.DropReason{otklik.Threat}},
		{"Задолбали уже", nil},
		{"скотину пасти негде", nil},
		{"у соседей двух коз загрызли", nil},
		{"урожай уродился", nil},
		{"жидких бытовых отходов", nil},
		{"повесить объявление надо", nil},
		{"мусор не вывозят", nil},
		{"самовольно размещённые кондиционеры уродуют фасад", nil},
		{"ларьки уродливые, это уродство", nil},
		{"семья с малолетними детьми осталась без воды", nil},
		{"ответ вызывает недоумение", nil},
		{"жители недоумевают", nil},
		{"салон педикюра", nil},
		{"это мракобесие какое-то", nil},
		{"вы уроды", []otklik.DropReason{otklik.Insult}},
		{"эти малолетки опять шумят", []otklik.DropReason{otklik.Insult}},
		{"сосед недоумок", []otklik.DropReason{otklik.Insult}},
		{"куда жалобу подавать? @tanya_bird_64 знаешь?", nil},
		{"Саратов, как вам новый логотип города, который показали сегодня? Пишите в комментариях", nil},
	}
	for _, tc := range tests {
		p := publication(tc.text)
		c.Classify(p)
		got := p.Class.Drop
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%q: drop = %v, want %v (explanation %v)", tc.text, got, tc.want, p.Class.Explanation)
		}
		for _, r := range got {
			if len(p.Class.Explanation[string(r)]) == 0 {
				t.Errorf("%q: %s without matched words", tc.text, r)
			}
		}
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		w, s string
		want bool
	}{
		{"п*здец", "пизд", true},
		{"п*ц", "пиздец", true}, // two visible letters of the whole word
		{"п*", "пиздец", false},
		{"х*й", "хуй", true},
		{"**", "хуй", false},
		{"к*рабль", "хуй", false},
	}
	for _, tc := range tests {
		if got := globMatch([]rune(tc.w), []rune(tc.s), 0, 0, 0); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.w, tc.s, got, tc.want)
		}
	}
}

// TestFirstTwo checks that the first-letter index returns, for any word, every entry whose
// key is a prefix of the word, in the list's order (array-indexed Cyrillic, map-indexed
// other first bytes, and no index when a key is shorter than two bytes).
func TestFirstTwo(t *testing.T) {
	keys := []string{"бля", "блят", "еб", "ёб", "ёж", "яй", "Ху", "пизд", "mu", "m*", "*ба", "х", "z"}
	words := []string{"блять", "бля", "еба", "ёбаный", "ёж", "яйцо", "Хутор", "пиздец", "mudak", "m*dak", "*бать", "хер", "zzz", "а", "я", "", "ж"}
	for _, list := range [][]string{keys[:len(keys)-1], keys} { // indexed; not (a one-byte key)
		x := newFirstTwo(list, same)
		for _, w := range words {
			var want []string
			for _, k := range list {
				if strings.HasPrefix(w, k) {
					want = append(want, k)
				}
			}
			got := x.of(w)
			var gotPrefixes []string
			for _, k := range got {
				if strings.HasPrefix(w, k) {
					gotPrefixes = append(gotPrefixes, k)
				}
			}
			if !slices.Equal(gotPrefixes, want) {
				t.Errorf("index of %d keys, %q: prefixes %q among %q, want %q", len(list), w, gotPrefixes, got, want)
			}
		}
	}
}
