package classifier

import (
	"fmt"
	"strings"

	"github.com/otklik/otklik"
)

// priorityLevels are the levels of data/priority.tsv; "mass" marks many people affected
// («весь дом», «тысячи людей»): with a service cue of «high» it makes the text critical.
var priorityLevels = []string{"critical", "high", "low", "mass"}

// Reach thresholds: a publication with any of these is of unusual reach (high at least).
const (
	reachReposts   = 30
	reachViews     = 7500
	reachComments  = 75
	reachLikes     = 500
	reachFollowers = 20000
)

// priorityRules is the parsed data/priority.tsv.
type priorityRules struct {
	dict *termDict
}

func parsePriority(data string) (*priorityRules, error) {
	d, err := parseTerms("priority.tsv", data, priorityLevels)
	if err != nil {
		return nil, err
	}
	d.negation = true
	return &priorityRules{dict: d}, nil
}

// questionStarts are words that open a question.
var questionStarts = map[string]bool{
	"подскажите": true, "когда": true, "где": true, "как": true, "почему": true, "кто": true,
	"можно": true, "будет": true, "сколько": true, "куда": true, "а": true, "во": true, "есть": true,
}

// decide returns the priority and the cues that decided it.
func (r *priorityRules) decide(a *analysis, text string, kind otklik.Kind, eng otklik.Engagement, followers int64) (otklik.Priority, []otklik.Evidence) {
	sc := make([]float64, len(priorityLevels))
	matched := r.dict.scores(a, hasPrio, func(wi *wordInfo) ([]termHit, []int32) { return wi.hits.prio, wi.hits.prioPhr }, sc)
	crit, high, low, mass := sc[0], sc[1], sc[2], sc[3]
	var ev []otklik.Evidence
	cue := func(level string) {
		for _, i := range matched {
			t := &r.dict.terms[i]
			if r.dict.labels[t.topic] == level {
				ev = append(ev, otklik.Evidence{Term: t.text, Weight: t.weight})
			}
		}
	}
	// Many people without a basic service: an emergency (the contract's «critical»).
	if mass >= 1 && high >= 1 {
		crit += 2
		cue("mass")
	}
	// Shouting adds urgency.
	if strings.Contains(text, "!!!") {
		crit += 0.5
		ev = append(ev, otklik.Evidence{Term: "!!!", Weight: 0.5})
	}
	// A short question is a question.
	trim := strings.TrimSpace(text)
	if strings.HasSuffix(trim, "?") && len(a.words) > 0 && questionStarts[a.words[0]] {
		low++
		ev = append(ev, otklik.Evidence{Term: "вопрос", Weight: 1})
	}
	reach := eng.Reposts >= reachReposts || eng.Views >= reachViews || eng.Comments >= reachComments ||
		eng.Likes >= reachLikes || followers >= reachFollowers
	if reach {
		ev = append(ev, otklik.Evidence{Term: "охват", Text: fmt.Sprintf("лайки %d, комментарии %d, репосты %d, просмотры %d, подписчики %d",
			eng.Likes, eng.Comments, eng.Reposts, eng.Views, followers)})
	}
	switch {
	case low >= 1.5 && crit < 2 && high < 1:
		// thanks, nothing broken
		cue("low")
		return otklik.Low, ev
	case crit >= 2 && !(low >= 1.5 && high < 1):
		cue("critical")
		return otklik.Critical, ev
	case low >= 1 && crit < 1 && high < 1:
		cue("low")
		return otklik.Low, ev
	case high >= 2, reach, crit >= 1 && high >= 1:
		cue("high")
		cue("critical")
		return otklik.High, ev
	case low >= 1 && high < 2 && crit < 1:
		cue("low")
		return otklik.Low, ev
	}
	cue("high")
	return otklik.Medium, ev
}
