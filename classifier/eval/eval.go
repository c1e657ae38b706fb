// Package eval measures the classifier on the labelled sets in ../shared/data (and the
// project's own demo corpus): accuracy per field and precision, recall and F1 per label.
// It also holds the team's mapping of the Kursk and St Petersburg complaint categories to
// the topic ids of the contract (mapping.go).
package eval

import (
	"bufio"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/classifier"
)

// Row is one labelled text. A field that the set does not label is empty and Has* false.
type Row struct {
	ID   string
	Text string
	Kind otklik.Kind
	// Network, Owner, PostID and ParentID place a row in its thread (the demo corpus), so
	// that a comment can take its post's topic (classifier.Threads).
	Network                 otklik.Network
	Owner, PostID, ParentID string
	Eng                     otklik.Engagement
	Followers               int64

	Topic    string
	Location string
	Priority string
	Drop     []string
	Toxic    bool

	HasTopic, HasLocation, HasPriority, HasDrop, HasToxic bool
}

// Set is a loaded evaluation set.
type Set struct {
	Name string
	Rows []Row
	// Total counts every row of the file; Rows holds those with at least one usable label.
	Total int
	// Note describes the mapping coverage, for sets whose labels were mapped.
	Note string
}

// SetNames lists the sets Load knows, in report order.
var SetNames = []string{"saratov", "toxic", "kursk", "spb", "demo"}

// ErrNoData is returned when a set's file is absent.
var ErrNoData = errors.New("evaluation data not found")

// FindShared locates the shared directory: $OTKLIK_SHARED if set, else ../shared next to
// the repository root found by walking up from dir to go.mod.
func FindShared(dir string, getenv func(string) string) (string, error) {
	if getenv != nil {
		if s := getenv("OTKLIK_SHARED"); s != "" {
			return s, nil
		}
	}
	root, err := RepoRoot(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(root), "shared"), nil
}

// RepoRoot walks up from dir to the directory holding go.mod.
func RepoRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		d = parent
	}
}

// DemoPath is the bundled demo corpus, relative to the repository root.
const DemoPath = "collectors/replay/demo/publications.jsonl"

// Load reads a set by name. shared is the shared directory; root the repository root (for
// the demo corpus).
func Load(shared, root, name string) (*Set, error) {
	var path string
	switch name {
	case "saratov":
		path = filepath.Join(shared, "data/saratov/dev.jsonl")
	case "toxic":
		path = filepath.Join(shared, "data/toxic-2ch-pikabu/dev.jsonl")
	case "kursk":
		path = filepath.Join(shared, "data/complaints-kursk/dev.jsonl")
	case "spb":
		path = filepath.Join(shared, "data/complaints-spb-nashspb/dev.jsonl")
	case "demo":
		path = filepath.Join(root, DemoPath)
	default:
		return nil, fmt.Errorf("unknown set %q (want one of %s)", name, strings.Join(SetNames, ", "))
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoData, path)
		}
		return nil, err
	}
	defer f.Close()
	s := &Set{Name: name}
	err = readLines(f, func(n int, line []byte) error {
		s.Total++
		r, ok, err := parseRow(name, line)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if ok {
			s.Rows = append(s.Rows, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if name == "kursk" || name == "spb" {
		s.Note = fmt.Sprintf("category → topic mapping covers %d of %d rows (%.1f%%)", len(s.Rows), s.Total, 100*float64(len(s.Rows))/float64(max(1, s.Total)))
	}
	return s, nil
}

func readLines(r io.Reader, f func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if err := f(n, sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

type rawRow struct {
	ID              any             `json:"id"`
	PostID          string          `json:"post_id"`
	Text            string          `json:"text"`
	Kind            string          `json:"kind"`
	Likes           int64           `json:"likes"`
	Comments        int64           `json:"comments"`
	Reposts         int64           `json:"reposts"`
	Views           int64           `json:"views"`
	AuthorFollowers int64           `json:"author_followers"`
	Topic           *string         `json:"topic"`
	Location        *string         `json:"location"`
	Priority        *string         `json:"priority"`
	Drop            []string        `json:"drop"`
	Category        string          `json:"category"`
	Subcategory     string          `json:"subcategory"`
	Group           *int            `json:"group"`
	RawLabels       json.RawMessage `json:"labels"`
	// demo corpus: an otklik.Publication plus labels
	Network    string             `json:"network"`
	Owner      any                `json:"owner"`
	ParentID   any                `json:"parent_id"`
	Engagement *otklik.Engagement `json:"engagement"`
	Author     *otklik.Author     `json:"author"`
}

// idString formats an id that may be a JSON string or number; "" when absent.
func idString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

type demoLabels struct {
	Topic    *string  `json:"topic"`
	Location *string  `json:"location"`
	Priority *string  `json:"priority"`
	Drop     []string `json:"drop"`
}

func parseRow(set string, line []byte) (Row, bool, error) {
	var x rawRow
	if err := json.Unmarshal(line, &x); err != nil {
		return Row{}, false, err
	}
	id := fmt.Sprint(x.ID)
	if x.ID == nil {
		id = x.PostID
	}
	r := Row{ID: id, Text: x.Text, Kind: otklik.Kind(x.Kind),
		Network: otklik.Network(x.Network), Owner: idString(x.Owner), PostID: x.PostID, ParentID: idString(x.ParentID),
		Eng:       otklik.Engagement{Likes: x.Likes, Comments: x.Comments, Reposts: x.Reposts, Views: x.Views},
		Followers: x.AuthorFollowers}
	switch set {
	case "saratov":
		r.Topic, r.HasTopic = deref(x.Topic)
		r.Location, r.HasLocation = deref(x.Location)
		r.Priority, r.HasPriority = deref(x.Priority)
		r.Drop, r.HasDrop = x.Drop, x.Drop != nil
		return r, true, nil
	case "toxic":
		var labels []string
		if err := json.Unmarshal(x.RawLabels, &labels); err != nil {
			return r, false, fmt.Errorf("labels: %w", err)
		}
		r.Toxic, r.HasToxic = slices.Contains(labels, "toxic"), true
		return r, true, nil
	case "kursk":
		t, ok := kurskTopic(x.Category, x.Group)
		r.Topic, r.HasTopic = t, ok
		return r, ok, nil
	case "spb":
		t, ok := spbTopic(x.Category, x.Subcategory)
		r.Topic, r.HasTopic = t, ok
		return r, ok, nil
	case "demo":
		var l demoLabels
		if len(x.RawLabels) == 0 {
			return r, false, nil
		}
		if err := json.Unmarshal(x.RawLabels, &l); err != nil {
			return r, false, fmt.Errorf("labels: %w", err)
		}
		if x.Engagement != nil {
			r.Eng = *x.Engagement
		}
		if x.Author != nil {
			r.Followers = x.Author.Followers
		}
		r.Topic, r.HasTopic = deref(l.Topic)
		r.Location, r.HasLocation = deref(l.Location)
		r.Priority, r.HasPriority = deref(l.Priority)
		r.Drop, r.HasDrop = l.Drop, l.Drop != nil
		if r.Drop == nil && (r.HasTopic || r.HasPriority) {
			r.Drop, r.HasDrop = []string{}, true
		}
		return r, r.HasTopic || r.HasLocation || r.HasPriority || r.HasDrop, nil
	}
	return r, false, fmt.Errorf("unknown set %q", set)
}

func deref(p *string) (string, bool) {
	if p == nil {
		return "", false
	}
	return *p, true
}

// Fold returns the cross-validation fold (0..k-1) of a text, by sha1 of its UTF-8 bytes as
// the data READMEs split: int(sha1 hex, 16) % k.
func Fold(text string, k int) int {
	sum := sha1.Sum([]byte(text))
	n := new(big.Int).SetBytes(sum[:])
	return int(new(big.Int).Mod(n, big.NewInt(int64(k))).Int64())
}

// PRF counts one label's outcomes.
type PRF struct{ TP, FP, FN int }

// Count adds one decision: got is the prediction, want the label.
func (p *PRF) Count(got, want bool) {
	switch {
	case got && want:
		p.TP++
	case got:
		p.FP++
	case want:
		p.FN++
	}
}

// Precision is TP / (TP + FP).
func (p PRF) Precision() float64 { return ratio(p.TP, p.TP+p.FP) }

// Recall is TP / (TP + FN).
func (p PRF) Recall() float64 { return ratio(p.TP, p.TP+p.FN) }

// F1 is the harmonic mean of precision and recall.
func (p PRF) F1() float64 {
	pr, rc := p.Precision(), p.Recall()
	if pr+rc == 0 {
		return 0
	}
	return 2 * pr * rc / (pr + rc)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Field is the outcome on one field of a set.
type Field struct {
	Name    string
	N, Hits int
	Labels  map[string]*PRF
	// Errors holds a few misclassified rows: id, want, got.
	Errors [][3]string
}

// Accuracy is Hits / N.
func (f *Field) Accuracy() float64 { return ratio(f.Hits, f.N) }

func (f *Field) label(l string) *PRF {
	p := f.Labels[l]
	if p == nil {
		p = &PRF{}
		f.Labels[l] = p
	}
	return p
}

// single records a single-label decision.
func (f *Field) single(id, want, got string) {
	f.N++
	if want == got {
		f.Hits++
		f.label(want).TP++
		return
	}
	f.label(want).FN++
	f.label(got).FP++
	if len(f.Errors) < 2000 {
		f.Errors = append(f.Errors, [3]string{id, want, got})
	}
}

// multi records a multi-label decision (exact-set accuracy, per-label counts).
func (f *Field) multi(id string, want, got []string) {
	f.N++
	ws, gs := slices.Clone(want), slices.Clone(got)
	sort.Strings(ws)
	sort.Strings(gs)
	if slices.Equal(ws, gs) {
		f.Hits++
	} else if len(f.Errors) < 2000 {
		f.Errors = append(f.Errors, [3]string{id, strings.Join(ws, "+"), strings.Join(gs, "+")})
	}
	for _, l := range []string{"obscene", "insult", "threat"} {
		w, g := slices.Contains(ws, l), slices.Contains(gs, l)
		switch {
		case w && g:
			f.label(l).TP++
		case w:
			f.label(l).FN++
		case g:
			f.label(l).FP++
		}
	}
	// "any" is the binary drop decision.
	w, g := len(ws) > 0, len(gs) > 0
	switch {
	case w && g:
		f.label("any").TP++
	case w:
		f.label("any").FN++
	case g:
		f.label("any").FP++
	}
}

// Report is the outcome on one set.
type Report struct {
	Set    *Set
	Fields []*Field
	// Dropped counts the rows given a non-empty drop list (point 16), whatever the set
	// labels: on the complaint sets, which hold no offensive texts, it is the false-drop
	// count.
	Dropped int
}

// Field returns the named field's outcome, or nil.
func (r *Report) Field(name string) *Field {
	for _, f := range r.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Run classifies every row of s.
func Run(c *classifier.Classifier, s *Set) *Report {
	fields := map[string]*Field{}
	order := []string{"topic", "location", "priority", "drop", "toxic"}
	get := func(n string) *Field {
		f := fields[n]
		if f == nil {
			f = &Field{Name: n, Labels: map[string]*PRF{}}
			fields[n] = f
		}
		return f
	}
	dropped := 0
	for _, r := range s.Rows {
		p := &otklik.Publication{ID: r.ID, Text: r.Text, Kind: r.Kind, Engagement: r.Eng, Author: otklik.Author{Followers: r.Followers},
			Network: r.Network, Owner: r.Owner, PostID: r.PostID, ParentID: r.ParentID}
		c.Classify(p)
		cl := p.Class
		if r.HasTopic {
			get("topic").single(r.ID, r.Topic, cl.Topic)
		}
		if r.HasLocation {
			want, got := r.Location, cl.Location
			if want == "" {
				want = "(none)"
			}
			if got == "" {
				got = "(none)"
			}
			get("location").single(r.ID, want, got)
		}
		if r.HasPriority {
			get("priority").single(r.ID, r.Priority, string(cl.Priority))
		}
		var got []string
		for _, d := range cl.Drop {
			got = append(got, string(d))
		}
		if len(got) > 0 {
			dropped++
		}
		if r.HasDrop {
			get("drop").multi(r.ID, r.Drop, got)
		}
		if r.HasToxic {
			want, g := "normal", "normal"
			if r.Toxic {
				want = "toxic"
			}
			if len(got) > 0 {
				g = "toxic"
			}
			get("toxic").single(r.ID, want, g)
		}
	}
	rep := &Report{Set: s, Dropped: dropped}
	for _, n := range order {
		if f := fields[n]; f != nil {
			rep.Fields = append(rep.Fields, f)
		}
	}
	return rep
}

// Write prints the report as a plain-text table.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "== %s: %d rows evaluated (%d in file)\n", r.Set.Name, len(r.Set.Rows), r.Set.Total)
	if r.Set.Note != "" {
		fmt.Fprintf(w, "   %s\n", r.Set.Note)
	}
	fmt.Fprintf(w, "   dropped (point 16) %d of %d rows (%.2f%%)\n", r.Dropped, len(r.Set.Rows), 100*ratio(r.Dropped, len(r.Set.Rows)))
	for _, f := range r.Fields {
		fmt.Fprintf(w, "   %-9s accuracy %.3f (%d/%d)\n", f.Name, f.Accuracy(), f.Hits, f.N)
		labels := make([]string, 0, len(f.Labels))
		for l := range f.Labels {
			labels = append(labels, l)
		}
		sort.Strings(labels)
		if len(labels) > 45 {
			continue
		}
		for _, l := range labels {
			p := f.Labels[l]
			fmt.Fprintf(w, "     %-28s P %.3f  R %.3f  F1 %.3f  (tp %d fp %d fn %d)\n", l, p.Precision(), p.Recall(), p.F1(), p.TP, p.FP, p.FN)
		}
	}
}
