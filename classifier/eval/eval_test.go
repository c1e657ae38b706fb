package eval

import (
	"os"
	"testing"

	"github.com/otklik/otklik/classifier"
)

func TestKurskMapping(t *testing.T) {
	g := func(i int) *int { return &i }
	tests := []struct {
		category string
		group    *int
		want     string
	}{
		{"Нарушение дорожного покрытия (ямы)  на дорогах в границах городских округов и сельских поселений", g(0), "roads"},
		{"Неработающее наружное освещение", g(3), "roads"},
		{"Аварийные деревья", g(3), "landscaping"},
		{"Несанкционированные свалки твёрдых бытовых отходов", g(16), "waste"},
		{"Нарушение теплоснабжения многоквартирного дома", g(3), "housing"},
		{"Неприятные запахи", g(16), "ecology"},
		{"Безнадзорные животные", g(1), "animals"},
		{"Сертификат переболевшего", g(4), "health"},
		{"Остановки общественного транспорта на дорогах в границах городских округов и сельских поселений", g(0), "transport"},
		{"Несанкционированная вырубка зелёных насаждений в лесопарковых зонах", g(16), "ecology"},
		{"Неудовлетворительное санитарное состояние и благоустройство памятников", g(5), "culture"},
		{"Отсутствие в населённом пункте сотовой связи", nil, "other"},
	}
	for _, tc := range tests {
		got, ok := kurskTopic(tc.category, tc.group)
		if !ok || got != tc.want {
			t.Errorf("%q → %q (%v), want %q", tc.category, got, ok, tc.want)
		}
	}
	if _, ok := kurskTopic("«Замороженная» стройка", g(11)); ok {
		t.Error("construction categories are deliberately unmapped")
	}
}

func TestSPbMapping(t *testing.T) {
	tests := []struct{ category, reason, want string }{
		{"Благоустройство", "Мусор на внутридворовой территории", "waste"},
		{"Благоустройство", "Несанкционированные надписи / объявления на стенах дома", "landscaping"},
		{"Благоустройство", "Повреждения дорожного покрытия  проезжей части", "roads"},
		{"Содержание МКД", "Неисправный лифт", "housing"},
		{"Водоснабжение", "Плохое качество горячей воды", "housing"},
	}
	for _, tc := range tests {
		if got, _ := spbTopic(tc.category, tc.reason); got != tc.want {
			t.Errorf("%s / %s → %q, want %q", tc.category, tc.reason, got, tc.want)
		}
	}
}

func TestFold(t *testing.T) {
	// int(sha1("a").hexdigest(), 16) % 5, computed with Python.
	if got := Fold("a", 5); got != 2 {
		t.Errorf("Fold(a) = %d, want 2", got)
	}
}

// TestLoadAndRun evaluates the Saratov dev set and checks the report is complete.
func TestLoadAndRun(t *testing.T) {
	shared, err := FindShared(".", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(shared, "", "saratov")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("%v; skipping", err)
	}
	c, err := classifier.New(classifier.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(c, s)
	for _, f := range []string{"topic", "location", "priority", "drop"} {
		if rep.Field(f) == nil || rep.Field(f).N != len(s.Rows) {
			t.Errorf("field %s missing or incomplete", f)
		}
	}
}
