package classifier

import (
	"bufio"
	"fmt"
	"slices"
	"strings"

	"github.com/otklik/otklik"
)

// gazEntry is one name of data/gazetteer.txt.
type gazEntry struct {
	mun       int // index into gazetteer.muns; -1 for an ambiguous name
	name      string
	stems     [][]string // per word of the name, the stems of its case forms
	capital   bool       // must be capitalised in the text
	weak      bool       // a street or landmark: only when nothing stronger is named
	prominent bool       // the best-known place of that name
	local     bool       // a city neighbourhood (not in OKTMO)
	noun      bool       // a one-word noun ending in a consonant: adjective forms do not match
	city      bool       // the bare name of Saratov: yields to any other place named
	// institution: a district adjective that is also a street's name counts only before an
	// institution's noun («Пугачёвская соцзащита», «Петровская больница»).
	institution bool
}

// gazetteer is the parsed data/gazetteer.txt.
type gazetteer struct {
	muns    []string
	entries []gazEntry
	byStem  map[string][]int
}

// GazetteerName is one name of the gazetteer, exported for tests against the reference.
type GazetteerName struct {
	Municipality string // "" for a name listed as ambiguous
	Name         string
	Weak, Local  bool
	Prominent    bool
}

// GazetteerNames lists the names of the embedded gazetteer.
func GazetteerNames() ([]GazetteerName, error) {
	b, err := dataFS.ReadFile("data/gazetteer.txt")
	if err != nil {
		return nil, err
	}
	g, err := parseGazetteer(string(b))
	if err != nil {
		return nil, err
	}
	var out []GazetteerName
	for _, e := range g.entries {
		n := GazetteerName{Name: e.name, Weak: e.weak, Local: e.local, Prominent: e.prominent}
		if e.mun >= 0 {
			n.Municipality = g.muns[e.mun]
		}
		out = append(out, n)
	}
	return out, nil
}

// Municipalities lists the municipalities the gazetteer knows, in file order.
func Municipalities() ([]string, error) {
	b, err := dataFS.ReadFile("data/gazetteer.txt")
	if err != nil {
		return nil, err
	}
	g, err := parseGazetteer(string(b))
	if err != nil {
		return nil, err
	}
	return g.muns, nil
}

var adjEndings = []string{"ая", "яя", "ой", "ей", "ую", "юю", "ий", "ый", "ого", "его", "ому", "ему", "ые", "ие", "ых", "их", "ыми", "ими", "ым", "им", "ое", "ее"}

func adjectival(w string) bool {
	for _, e := range adjEndings {
		if strings.HasSuffix(w, e) {
			return true
		}
	}
	return false
}

// stemsOf returns, for each word of a place name, the stems of its case forms: Snowball
// does not stem a name's cases alike («балашов» → «балаш», «балашове» → «балашов»).
func stemsOf(s string) [][]string {
	var out [][]string
	for _, t := range Tokenize(s, nil) {
		if t.Kind != Word && t.Kind != Number {
			continue
		}
		var st []string
		for _, f := range caseForms(t.Text) {
			if x := Stem(f); !slices.Contains(st, x) {
				st = append(st, x)
			}
		}
		out = append(out, st)
	}
	return out
}

// caseForms returns a word of a place name in its six cases (singular, or plural for
// plural names), by its ending.
func caseForms(w string) []string {
	rs := []rune(w)
	n := len(rs)
	if n < 3 {
		return []string{w}
	}
	end2, base2 := string(rs[n-2:]), string(rs[:n-2])
	end1, base1 := string(rs[n-1:]), string(rs[:n-1])
	with := func(base string, ends ...string) []string {
		out := []string{w}
		for _, e := range ends {
			out = append(out, base+e)
		}
		return out
	}
	switch {
	case end2 == "ый" || end2 == "ий" || end2 == "ой":
		return with(base2, "ый", "ий", "ой", "ого", "его", "ому", "ему", "ым", "им", "ом", "ем")
	case end2 == "ая" || end2 == "яя":
		return with(base2, "ая", "яя", "ой", "ей", "ую", "юю")
	case end2 == "ое" || end2 == "ее":
		return with(base2, "ое", "ее", "ого", "его", "ому", "ему", "ым", "им", "ом", "ем")
	case end2 == "ые" || end2 == "ие":
		return with(base2, "ые", "ие", "ых", "их", "ым", "им", "ыми", "ими")
	}
	switch end1 {
	case "а":
		return with(base1, "ы", "и", "е", "у", "ой")
	case "я":
		return with(base1, "и", "е", "ю", "ей")
	case "о", "е":
		return with(base1, "а", "у", "ом", "е")
	case "ы", "и":
		return with(base1, "ах", "ам", "ов", "ей", "ами")
	case "ь":
		return with(base1, "и", "ью", "е")
	case "й":
		return with(base1, "я", "ю", "ем", "е")
	}
	if strings.ContainsRune("бвгджзклмнпрстфхцчшщ", rs[n-1]) {
		return with(w, "а", "у", "ом", "е", "ым")
	}
	return []string{w}
}

func parseGazetteer(data string) (*gazetteer, error) {
	g := &gazetteer{byStem: map[string][]int{}}
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	add := func(e gazEntry) {
		if len(e.stems) == 0 {
			return
		}
		g.entries = append(g.entries, e)
		for _, s := range e.stems[0] {
			g.byStem[s] = append(g.byStem[s], len(g.entries)-1)
		}
	}
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		head, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("gazetteer.txt:%d: want MUNICIPALITY: names", n)
		}
		mun := -1
		if head != "?" {
			mun = len(g.muns)
			g.muns = append(g.muns, head)
			if adj, ok := strings.CutSuffix(head, " район"); ok {
				add(gazEntry{mun: mun, name: head, stems: stemsOf(head)})
				if !adjectiveDeny[adj] {
					add(gazEntry{mun: mun, name: adj, stems: stemsOf(adj), local: true})
				} else if adj != "Саратовский" && adj != "Питерский" {
					add(gazEntry{mun: mun, name: adj, stems: stemsOf(adj), local: true, institution: true})
				}
			}
		}
		for _, raw := range strings.Split(rest, ",") {
			name := strings.TrimSpace(raw)
			if name == "" {
				continue
			}
			e := gazEntry{mun: mun}
			for len(name) > 0 && strings.ContainsRune("~@!", rune(name[0])) {
				switch name[0] {
				case '~':
					e.weak = true
				case '@':
					e.local = true
				case '!':
					e.prominent = true
				}
				name = name[1:]
			}
			if strings.HasSuffix(name, "^") {
				e.capital = true
				name = strings.TrimSuffix(name, "^")
			}
			e.name = name
			e.stems = stemsOf(name)
			if len(e.stems) == 0 {
				return nil, fmt.Errorf("gazetteer.txt:%d: empty name %q", n, raw)
			}
			if len(e.stems) == 1 {
				lw := strings.ToLower(name)
				last := []rune(lw)[len([]rune(lw))-1]
				e.noun = !strings.ContainsRune("аеёиоуыэюяйь", last)
			}
			e.city = head == "Саратов" && e.name == "Саратов"
			add(e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(g.muns) != 42 {
		return nil, fmt.Errorf("gazetteer.txt: %d municipalities, want 42", len(g.muns))
	}
	return g, nil
}

// adjectiveDeny lists district adjectives that do not name the district on their own: they
// are also streets in many towns («Советская», «Красноармейская», «Вольская» in Saratov),
// the region («Саратовская»), or another city («Питерский»).
var adjectiveDeny = map[string]bool{
	"Саратовский": true, "Советский": true, "Красноармейский": true, "Вольский": true, "Пугачёвский": true,
	"Питерский": true, "Воскресенский": true, "Романовский": true, "Фёдоровский": true, "Лысогорский": true,
	"Калининский": true, "Петровский": true, "Екатериновский": true, "Ровенский": true,
}

// institutionStems are the stems of the nouns of district institutions: after them a
// district adjective names the district even when it is also a street's name.
var institutionStems = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{"соцзащита", "больница", "администрация", "поликлиника", "црб", "школа",
		"гимназия", "прокуратура", "полиция", "управа", "газета", "роддом", "котельная", "водоканал",
		"электросеть", "скорая", "амбулатория", "автостанция", "пожарная", "служба", "дума", "ук"} {
		m[Stem(w)] = true
	}
	return m
}()

// streetMarkers are words after which a place name is a street's name («ул. Энгельса»,
// «Карла Маркса»).
var streetMarkers = map[string]bool{
	"ул": true, "улица": true, "улице": true, "улицу": true, "улицы": true, "улицей": true,
	"пр": true, "просп": true, "проспект": true, "проспекте": true, "проспекту": true, "проспекта": true,
	"пер": true, "переулок": true, "переулке": true, "пл": true, "площадь": true, "площади": true,
	"бульвар": true, "бульваре": true, "карла": true, "им": true, "имени": true, "фридриха": true,
}

type locMatch struct {
	entry    int
	pos      int
	strength int
	text     string
}

// locate finds the municipality a text is about.
func (g *gazetteer) locate(a *analysis) (string, []otklik.Evidence) {
	var found []locMatch
	var ambiguous []otklik.Evidence
	for i := range a.stems {
		if a.winfo[i].has&hasGaz == 0 {
			continue
		}
		for _, ei := range a.winfo[i].hits.gaz {
			e := &g.entries[ei]
			if i+len(e.stems) > len(a.stems) {
				continue
			}
			ok := true
			for k := 1; k < len(e.stems); k++ {
				if !slices.Contains(e.stems[k], a.stems[i+k]) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			tok := a.toks[a.wpos[i]]
			if e.capital && !tok.Cap {
				continue
			}
			if e.noun && adjectival(a.words[i]) {
				continue
			}
			if e.institution && !(i+1 < len(a.stems) && institutionStems[a.stems[i+1]]) {
				continue
			}
			if !e.weak && i > 0 && streetMarkers[a.words[i-1]] {
				continue
			}
			text := strings.Join(a.words[i:i+len(e.stems)], " ")
			if e.mun < 0 {
				ambiguous = append(ambiguous, otklik.Evidence{Term: e.name + " (неоднозначно)", Text: text})
				continue
			}
			s := 2
			switch {
			case e.weak:
				s = 0
			case e.city:
				s = 1
			}
			found = append(found, locMatch{entry: ei, pos: i, strength: s, text: text})
		}
	}
	if len(found) == 0 {
		return "", ambiguous
	}
	best := found[0]
	for _, m := range found[1:] {
		longer := m.pos == best.pos && len(g.entries[m.entry].stems) > len(g.entries[best.entry].stems)
		if m.strength > best.strength || (m.strength == best.strength && (m.pos < best.pos || longer)) {
			best = m
		}
	}
	mun := g.entries[best.entry].mun
	var ev []otklik.Evidence
	for _, m := range found {
		e := &g.entries[m.entry]
		if e.mun != mun {
			continue
		}
		x := otklik.Evidence{Term: e.name, Weight: float64(m.strength)}
		if m.text != strings.ToLower(e.name) {
			x.Text = m.text
		}
		ev = append(ev, x)
	}
	return g.muns[mun], append(ev, ambiguous...)
}
