// Package cases turns classified publications into cases that move between the curator
// and the agencies under the Saratov regulation (points 7–14), with every deadline counted
// in working time (package cases/worktime), watched, and reported.
//
// A case is opened, idempotently, for every classified publication that is not dropped
// (Service.Run consumes the "otklik.classified" topic). The curator routes it (topic,
// location, importance, one or several agencies in order); an executor may return it
// within 30 minutes; the agencies contribute in turn and the last one drafts the answer
// (or an interim answer, or a question to the author), which reaches the curator 4 working
// hours before the answer deadline; the curator approves or sends it back; the approved
// answer is published. An interim answer opens a final-answer deadline of 7 working days.
// A repeated publication is linked to its earlier case and its answer must report the
// measures taken; the same problem posted several times can be merged into one case.
//
// Every action is an Event (who, when, why, and the case as it became) produced to the
// "otklik.cases" topic and then projected into a Store (BoltStore in the embedded mode),
// which serves search and history and can be rebuilt from the topic (Service.Rebuild).
// Users act through the JSON API of Service.Handler with optimistic versions; the monitor
// (Service.RunMonitor) exports otklik_cases_* metrics, notifies before deadlines and on
// breaches, and records breaches for the monthly report.
//
// Every duration of the regulation is counted in working time, including the 30-minute
// ones: a publication detected at 22:00 is due to be routed at 09:30 the next working day.
package cases
