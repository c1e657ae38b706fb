package classifier

import (
	"testing"

	"github.com/otklik/otklik"
)

func TestThreads(t *testing.T) {
	post := func(owner, id, text string) *otklik.Publication {
		return &otklik.Publication{Network: otklik.VK, Owner: owner, PostID: id, Kind: otklik.Post, Text: text}
	}
	comment := func(owner, parent, id, text string) *otklik.Publication {
		return &otklik.Publication{Network: otklik.VK, Owner: owner, PostID: id, ParentID: parent, Kind: otklik.Comment, Text: text}
	}
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		p         *otklik.Publication
		topic     string
		inherited bool
	}{
		{comment("-1", "10", "11", "у нас тоже так, уже неделю"), "other", false}, // its post is not known yet
		{post("-1", "10", "Третий день нет горячей воды в доме на Московской, управляющая компания молчит"), "housing", false},
		{comment("-1", "10", "12", "у нас тоже так, уже неделю"), "housing", true},
		{comment("-1", "10", "13", "а на Чапаева яма на дороге, колесо пробил"), "roads", false}, // a subject of its own
		{comment("-2", "10", "14", "у нас тоже так, уже неделю"), "other", false},                // another owner's post 10
		{post("-1", "20", "Спасибо всем, кто пришёл!"), "other", false},
		{comment("-1", "20", "21", "у нас тоже так, уже неделю"), "other", false}, // the post had no topic to give
	}
	for i, st := range steps {
		c.Classify(st.p)
		if st.p.Class.Topic != st.topic {
			t.Errorf("step %d %q: topic %s, want %s", i, st.p.Text, st.p.Class.Topic, st.topic)
		}
		ev := st.p.Class.Explanation["topic"]
		got := len(ev) == 1 && ev[0].Term == termThreadTopic
		if got != st.inherited {
			t.Errorf("step %d %q: inherited %v (explanation %v), want %v", i, st.p.Text, got, ev, st.inherited)
		}
		if st.inherited && st.p.Class.Agency != DefaultRouting()[st.topic] {
			t.Errorf("step %d: agency %q, want the topic's", i, st.p.Class.Agency)
		}
	}

	off, err := New(Config{NoThreads: true})
	if err != nil {
		t.Fatal(err)
	}
	if off.Threads() != nil {
		t.Fatal("NoThreads: Threads() is not nil")
	}
	off.Classify(post("-1", "10", "Третий день нет горячей воды в доме на Московской"))
	p := comment("-1", "10", "12", "у нас тоже так, уже неделю")
	off.Classify(p)
	if p.Class.Topic != "other" {
		t.Errorf("NoThreads: comment topic %s, want other", p.Class.Topic)
	}
}
