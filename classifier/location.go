package classifier

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/otklik/otklik"
)

// gazEntry is one name of data/gazetteer.txt.
type gazEntry struct {
	mun       int // index into gazetteer.muns; -1 for an ambiguous name
	name      string
	stems     []string
	capital   bool // must be capitalised in the text
	weak      bool // a street or landmark: only when nothing stronger is named
	prominent bool // the best-known place of that name
	local     bool // a city neighbourhood (not in OKTMO)
	noun      bool // a one-word noun ending in a consonant: adjective forms do not match
	city      bool // the bare name of Saratov: yields to any other place named
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

func stemsOf(s string) []string {
	var out []string
	for _, t := range Tokenize(s, nil) {
		if t.Kind == Word || t.Kind == Number {
			out = append(out, Stem(t.Text))
		}
	}
	return out
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
		g.byStem[e.stems[0]] = append(g.byStem[e.stems[0]], len(g.entries)-1)
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
			if strings.HasSuffix(head, " район") {
				add(gazEntry{mun: mun, name: head, stems: stemsOf(head)})
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
		for _, ei := range a.winfo[i].gaz {
			e := &g.entries[ei]
			if i+len(e.stems) > len(a.stems) {
				continue
			}
			ok := true
			for k := 1; k < len(e.stems); k++ {
				if a.stems[i+k] != e.stems[k] {
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
		if m.strength > best.strength || (m.strength == best.strength && m.pos < best.pos) {
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
