package cases

import (
	"context"
	"slices"
	"time"
)

// AgencyReport is one agency's line of the monthly report: the timeliness of its answers
// to the publications detected in the month.
type AgencyReport struct {
	Agency string `json:"agency"`
	Name   string `json:"name,omitempty"`
	// Cases detected in the month that the agency answered or holds ("none": never routed).
	Cases int `json:"cases"`
	// Answered with a first answer (final, or interim) published; OnTime within the answer
	// deadline; Open still waiting; ClosedWithoutAnswer closed by the curator or merged.
	Answered            int `json:"answered"`
	OnTime              int `json:"on_time"`
	Open                int `json:"open"`
	ClosedWithoutAnswer int `json:"closed_without_answer"`
	// Breaches the agency is responsible for, of every stage.
	Breaches int `json:"breaches"`
	// AvgAnswerMinutes is the mean working time from detection to the first answer.
	AvgAnswerMinutes float64 `json:"avg_answer_minutes"`
}

// Report is the monthly report of point 18: per agency timeliness, and the breaches, which
// go to Config.Officials.
type Report struct {
	Month     string         `json:"month"`
	Officials []string       `json:"officials"`
	Agencies  []AgencyReport `json:"agencies"`
	Breaches  []BreachEntry  `json:"breaches"`
}

// MonthlyReport builds the report of month ("2026-11") over the cases detected in it
// (month boundaries in the clock's zone).
func (s *Service) MonthlyReport(ctx context.Context, month string) (Report, error) {
	start, err := time.ParseInLocation("2006-01", month, s.m.clock.Location())
	if err != nil {
		return Report{}, refuse(ErrInvalid, "Месяц отчёта указывается как ГГГГ-ММ, например 2026-11")
	}
	end := start.AddDate(0, 1, 0)
	cs, _, err := s.store.Search(ctx, Query{DetectedAfter: start})
	if err != nil {
		return Report{}, err
	}
	rows := map[string]*AgencyReport{}
	minutes := map[string]time.Duration{}
	row := func(a string) *AgencyReport {
		if a == "" {
			a = "none"
		}
		if rows[a] == nil {
			rows[a] = &AgencyReport{Agency: a, Name: s.m.agencies[a].Name}
		}
		return rows[a]
	}
	r := Report{Month: month, Officials: slices.Clone(s.cfg.Officials), Agencies: []AgencyReport{}, Breaches: []BreachEntry{}}
	for _, c := range cs {
		if !c.DetectedAt.Before(end) {
			continue
		}
		first := c.Interim
		if first == nil {
			first = c.Answer
		}
		agency := c.Agency
		switch {
		case first != nil:
			agency = first.Agency
		case agency == "" && len(c.Agencies) > 0:
			agency = c.Agencies[len(c.Agencies)-1]
		}
		ar := row(agency)
		ar.Cases++
		switch {
		case first != nil:
			ar.Answered++
			if !first.PublishedAt.After(c.AnswerDue) {
				ar.OnTime++
			}
			minutes[ar.Agency] += s.m.clock.Between(c.DetectedAt, first.PublishedAt)
		case c.Stage.Open():
			ar.Open++
		default:
			ar.ClosedWithoutAnswer++
		}
		for _, b := range c.Breaches {
			row(b.Agency).Breaches++
			r.Breaches = append(r.Breaches, BreachEntry{CaseID: c.ID, BreachRecord: b})
		}
	}
	for a, ar := range rows {
		if ar.Answered > 0 {
			ar.AvgAnswerMinutes = float64(minutes[a]/time.Minute) / float64(ar.Answered)
		}
		r.Agencies = append(r.Agencies, *ar)
	}
	slices.SortFunc(r.Agencies, func(a, b AgencyReport) int {
		if a.Agency < b.Agency {
			return -1
		}
		if a.Agency > b.Agency {
			return 1
		}
		return 0
	})
	slices.SortFunc(r.Breaches, func(a, b BreachEntry) int { return a.At.Compare(b.At) })
	return r, nil
}
