package classifier

import (
	"testing"

	"github.com/otklik/otklik"
)

// TestPriorityCues covers the cues of the 2026-11-29 round: a service missing in either
// word order, duration and repetition, many people affected, emergencies named otherwise,
// advice and invitations, and negated forms.
func TestPriorityCues(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct {
		name string
		text string
		want otklik.Priority
	}{
		{"outage, other word order, how long", "Воды нет уже неделю, в УК обращались", otklik.High},
		{"outage and nothing broken", "Вода есть, спасибо", otklik.Low},
		{"negated outage is no outage", "Свет не отключили, спасибо электрикам", otklik.Low},
		{"repetition and duration", "Горячей воды нет до сих пор, звонили трижды", otklik.High},
		{"lift, second day", "Лифт не работает вторые сутки, на девятом этаже лежачая бабушка", otklik.High},
		{"one outage alone is an ordinary complaint", "В подъезде лифт стоит", otklik.Medium},
		{"many people without heat", "Третьи сутки весь дом без отопления, в квартирах +14", otklik.Critical},
		{"many people without water", "Третий день нет воды на трёх улицах, это тысячи людей", otklik.Critical},
		{"many people, nothing missing", "Весь дом вышел на субботник, спасибо всем", otklik.Low},
		{"fire named otherwise", "Возгорание на полигоне, дым над городом", otklik.Critical},
		{"boiling water", "Прорвало трубу, кипяток бьёт из-под асфальта", otklik.Critical},
		{"violence", "Сына побили у школы, сотрясение, мы в больнице", otklik.Critical},
		{"early is not wounded", "Одна из ранних моих вышивок", otklik.Medium},
		{"negated fire", "Ничего не горит, просто шумели", otklik.Medium},
		{"recommendation", "Рекомендую сходить на выставку в музей", otklik.Low},
		{"advice to others", "Пишите в прокуратуру, нам так помогли", otklik.Low},
		{"kittens", "Отдадим котят в добрые руки", otklik.Low},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(c, tc.text)
			if got.Priority != tc.want {
				t.Errorf("%q: priority %s, want %s (explanation %v)", tc.text, got.Priority, tc.want, got.Explanation["priority"])
			}
		})
	}
}
