package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/classifier"
	"github.com/otklik/otklik/cmd/otklik/internal/config"
)

// classifyIn is one input line of otklik classify. Either the flat fields of the
// evaluation sets (likes, comments, …) or the nested ones of otklik.Publication
// (engagement, author) are accepted.
type classifyIn struct {
	ID              json.RawMessage    `json:"id"`
	PostID          json.RawMessage    `json:"post_id"`
	Owner           json.RawMessage    `json:"owner"`
	ParentID        json.RawMessage    `json:"parent_id"`
	Text            *string            `json:"text"`
	Network         string             `json:"network"`
	Kind            otklik.Kind        `json:"kind"`
	Likes           int64              `json:"likes"`
	Comments        int64              `json:"comments"`
	Reposts         int64              `json:"reposts"`
	Views           int64              `json:"views"`
	AuthorFollowers int64              `json:"author_followers"`
	Engagement      *otklik.Engagement `json:"engagement"`
	Author          *otklik.Author     `json:"author"`
}

// classifyOut is one output line.
type classifyOut struct {
	ID          json.RawMessage              `json:"id"`
	Topic       string                       `json:"topic"`
	Location    string                       `json:"location"`
	Priority    otklik.Priority              `json:"priority"`
	Drop        []otklik.DropReason          `json:"drop"`
	Agency      string                       `json:"agency"`
	Explanation map[string][]otklik.Evidence `json:"explanation"`
	Model       string                       `json:"model"`
}

// classifyBatch is a run of input lines handled by one worker. Batches are recycled, so
// their buffers are allocated once per run, not per line.
type classifyBatch struct {
	seq   int
	first int // line number of lines[0]
	lines [][]byte
	buf   []byte // the bytes of lines
	ends  []int  // end of each line in buf
	out   []byte
	errs  []string
	// segs marks, in input order, the lines the writer must see for the thread memory
	// (classifier.Threads): posts to remember and comments to finish before encoding.
	segs []threadSeg
}

// threadSeg is a line of a batch that the thread memory concerns. Its output, if any,
// ends at offset at of the batch's out; a deferred comment's output is not there yet: the
// writer encodes it after applying the memory.
type threadSeg struct {
	at       int
	id       json.RawMessage
	p        *otklik.Publication
	deferred bool
}

// writeBatch writes a batch's output, applying the thread memory in input order.
func writeBatch(w io.Writer, b *classifyBatch, threads *classifier.Threads, scratch *[]byte) error {
	prev := 0
	for _, sg := range b.segs {
		if _, err := w.Write(b.out[prev:sg.at]); err != nil {
			return err
		}
		prev = sg.at
		threads.Apply(sg.p)
		if sg.deferred {
			*scratch = append(appendClassifyOut((*scratch)[:0], sg.id, sg.p.Class), '\n')
			if _, err := w.Write(*scratch); err != nil {
				return err
			}
		}
	}
	_, err := w.Write(b.out[prev:])
	return err
}

// rawID is an id given as a JSON string or number, as a string ("" for null or absent).
func rawID(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	return string(raw)
}

// add appends one input line to the batch.
func (b *classifyBatch) add(line []byte) {
	b.buf = append(b.buf, line...)
	b.ends = append(b.ends, len(b.buf))
}

// seal makes lines point into buf (which no longer moves).
func (b *classifyBatch) seal() {
	b.lines = b.lines[:0]
	start := 0
	for _, e := range b.ends {
		b.lines = append(b.lines, b.buf[start:e:e])
		start = e
	}
}

// reset empties the batch for reuse, keeping its buffers.
func (b *classifyBatch) reset(first int) {
	b.seq, b.first = 0, first
	b.lines, b.buf, b.ends, b.out, b.errs, b.segs = b.lines[:0], b.buf[:0], b.ends[:0], b.out[:0], nil, b.segs[:0]
}

const classifyBatchLines = 256

// classifyCmd reads JSON Lines publications from stdin and writes one JSON line per input
// line to stdout, in input order. A bad line is reported on stderr with its line number and
// skipped; the run goes on, and the command exits with status 1 at the end if any line
// failed.
func classifyCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "classify", "classify [--config FILE] [--routing FILE] [--model FILE | --no-model] [--workers N] < in.jsonl > out.jsonl")
	cfgPath := fs.String("config", c.getenv("OTKLIK_CONFIG"), "the daemon's YAML configuration `file` (env OTKLIK_CONFIG): its classifier section (routing, models) is used; the flags below override it")
	routing := fs.String("routing", "", "YAML or JSON file mapping topic ids to agencies (overrides the default routing)")
	model := fs.String("model", "", "topic model written by otklik train (default: the embedded one, if any)")
	noModel := fs.Bool("no-model", false, "dictionaries only, no topic model")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parallel workers")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to FILE (for performance work)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	cfg, err := classifierConfig(c, *cfgPath, *model, *noModel)
	if err != nil {
		return err
	}
	if *routing != "" {
		b, err := os.ReadFile(*routing)
		if err != nil {
			return fmt.Errorf("routing: %w", err)
		}
		cfg.Routing = nil
		if err := yaml.Unmarshal(b, &cfg.Routing); err != nil {
			return fmt.Errorf("routing %s: %w", *routing, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("classifier config: %w", err)
	}
	// The classifier loads its dictionaries and models while the first batches are read.
	var cl *classifier.Classifier
	var clErr error
	ready := make(chan struct{})
	go func() {
		defer close(ready)
		cl, clErr = classifier.New(cfg)
	}()
	if *workers < 1 {
		*workers = 1
	}
	if c.getenv("GOGC") == "" && c.getenv("GOMEMLIMIT") == "" {
		// A batch run: collect garbage rarely, but stay within the 200 MiB budget (the
		// caches are most of the live heap, and they are bounded).
		defer debug.SetGCPercent(debug.SetGCPercent(400))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(150 << 20))
	}

	jobs := make(chan *classifyBatch, *workers*2)
	done := make(chan *classifyBatch, *workers*2)
	// Written batches come back through free; at most cap(free) are kept.
	free := make(chan *classifyBatch, *workers*4+2)
	newBatch := func(first int) *classifyBatch {
		select {
		case b := <-free:
			b.reset(first)
			return b
		default:
			return &classifyBatch{first: first}
		}
	}
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			for b := range jobs {
				if clErr != nil {
					continue // drain: the error is returned below
				}
				classifyLines(cl, b)
				done <- b
			}
		}()
	}
	failed := 0
	writeErr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(c.stdout, 256<<10)
		var scratch []byte
		pending := map[int]*classifyBatch{}
		next := 0
		var err error
		for b := range done {
			pending[b.seq] = b
			for {
				nb, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				if err == nil {
					err = writeBatch(w, nb, cl.Threads(), &scratch)
				}
				for _, e := range nb.errs {
					fmt.Fprintln(c.stderr, e)
					failed++
				}
				select {
				case free <- nb:
				default:
				}
			}
		}
		if err == nil {
			err = w.Flush()
		}
		writeErr <- err
	}()

	sc := bufio.NewScanner(c.stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	seq, line := 0, 0
	b := newBatch(1)
	var readErr error
	for sc.Scan() {
		line++
		b.add(sc.Bytes())
		if len(b.ends) == classifyBatchLines {
			b.seq = seq
			seq++
			b.seal()
			jobs <- b
			b = newBatch(line + 1)
		}
		if ctx.Err() != nil {
			readErr = ctx.Err()
			break
		}
		if line%classifyBatchLines == 0 && failedToLoad(ready, &clErr) {
			break
		}
	}
	if err := sc.Err(); err != nil && readErr == nil {
		readErr = fmt.Errorf("reading stdin at line %d: %w", line+1, err)
	}
	if len(b.ends) > 0 {
		b.seq = seq
		b.seal()
		jobs <- b
	}
	close(jobs)
	wg.Wait()
	close(done)
	werr := <-writeErr
	if <-ready; clErr != nil {
		return clErr
	}
	if werr != nil {
		return fmt.Errorf("writing output: %w", werr)
	}
	if readErr != nil {
		return readErr
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lines failed (see the messages above)", failed, line)
	}
	return nil
}

// classifierConfig is the classifier section of the daemon's configuration file (defaults
// when path is ""), with the topic-model flags of classify and eval applied.
func classifierConfig(c *cli, path, model string, noModel bool) (classifier.Config, error) {
	dcfg, err := config.Load(path, c.getenv)
	if err != nil {
		return classifier.Config{}, err
	}
	cfg := dcfg.Classifier
	if model != "" {
		cfg.ModelPath = model
	}
	if noModel {
		cfg.NoModel = true
	}
	return cfg, nil
}

// failedToLoad reports whether the classifier has finished loading with an error.
func failedToLoad(ready <-chan struct{}, err *error) bool {
	select {
	case <-ready:
		return *err != nil
	default:
		return false
	}
}

// classifyLines classifies one batch into b.out.
func classifyLines(cl *classifier.Classifier, b *classifyBatch) {
	out := b.out[:0]
	threads := cl.Threads()
	for i, raw := range b.lines {
		n := b.first + i
		if len(raw) == 0 || allSpace(raw) {
			continue
		}
		var in classifyIn
		if err := decodeClassifyIn(raw, &in); err != nil {
			b.errs = append(b.errs, fmt.Sprintf("otklik classify: line %d: not a JSON object: %v", n, err))
			continue
		}
		if in.Text == nil {
			b.errs = append(b.errs, fmt.Sprintf("otklik classify: line %d: no \"text\" field", n))
			continue
		}
		if len(in.ID) == 0 || string(in.ID) == "null" {
			// An otklik.Publication without its id (e.g. the demo corpus): its post id.
			in.ID = in.PostID
		}
		if len(in.ID) == 0 || string(in.ID) == "null" {
			b.errs = append(b.errs, fmt.Sprintf("otklik classify: line %d: no \"id\" (or \"post_id\") field", n))
			continue
		}
		p := otklik.Publication{Text: *in.Text, Kind: in.Kind, Network: otklik.Network(in.Network),
			Engagement: otklik.Engagement{Likes: in.Likes, Comments: in.Comments, Reposts: in.Reposts, Views: in.Views},
			Author:     otklik.Author{Followers: in.AuthorFollowers}}
		if in.Engagement != nil {
			p.Engagement = *in.Engagement
		}
		if in.Author != nil {
			p.Author = *in.Author
		}
		p.Owner, p.PostID, p.ParentID = rawID(in.Owner), rawID(in.PostID), rawID(in.ParentID)
		cl.ClassifyOne(&p)
		if threads.Needs(&p) {
			// Encoded by the writer once the comment's post, if any, has been seen.
			q := p
			b.segs = append(b.segs, threadSeg{at: len(out), id: in.ID, p: &q, deferred: true})
			continue
		}
		out = appendClassifyOut(out, in.ID, p.Class)
		out = append(out, '\n')
		if threads.Remembers(&p) {
			q := p
			b.segs = append(b.segs, threadSeg{at: len(out), p: &q})
		}
	}
	b.out = out
}

// explanationOrder is the order of the explanation's fields in the output.
var explanationOrder = []string{"topic", "location", "priority", "obscene", "insult", "threat"}

// appendClassifyOut appends the JSON of one output line (the fields of classifyOut, in
// its order) without reflection: the encoder is a large part of the cost per line.
func appendClassifyOut(b []byte, id json.RawMessage, cl *otklik.Classification) []byte {
	b = append(b, `{"id":`...)
	b = append(b, id...)
	b = append(b, `,"topic":`...)
	b = appendJSONString(b, cl.Topic)
	b = append(b, `,"location":`...)
	b = appendJSONString(b, cl.Location)
	b = append(b, `,"priority":`...)
	b = appendJSONString(b, string(cl.Priority))
	b = append(b, `,"drop":[`...)
	for i, d := range cl.Drop {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, string(d))
	}
	b = append(b, `],"agency":`...)
	b = appendJSONString(b, cl.Agency)
	b = append(b, `,"explanation":{`...)
	first := true
	field := func(k string, ev []otklik.Evidence) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k)
		b = append(b, ":["...)
		for i, e := range ev {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"term":`...)
			b = appendJSONString(b, e.Term)
			if e.Text != "" {
				b = append(b, `,"text":`...)
				b = appendJSONString(b, e.Text)
			}
			if e.Weight != 0 {
				b = append(b, `,"weight":`...)
				b = strconv.AppendFloat(b, e.Weight, 'g', -1, 64)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	for _, k := range explanationOrder {
		if ev, ok := cl.Explanation[k]; ok {
			field(k, ev)
		}
	}
	if len(cl.Explanation) > len(explanationOrder) || !onlyKnown(cl.Explanation) {
		var extra []string
		for k := range cl.Explanation {
			if !slices.Contains(explanationOrder, k) {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		for _, k := range extra {
			field(k, cl.Explanation[k])
		}
	}
	b = append(b, `},"model":`...)
	b = appendJSONString(b, cl.Model)
	return append(b, '}')
}

func onlyKnown(m map[string][]otklik.Evidence) bool {
	for k := range m {
		if !slices.Contains(explanationOrder, k) {
			return false
		}
	}
	return true
}

// appendJSONString appends s as a JSON string (UTF-8 kept as is; invalid bytes become
// U+FFFD, as encoding/json does).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	// Runs of bytes that need no escape are copied at once; start is where the current run
	// began.
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			default: // control characters and <, >, &
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		if c >= 0xC2 && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			// A valid two-byte sequence (Cyrillic among them): never escaped.
			i += 2
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + n
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			start = i + n
		}
		i += n
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonPlain marks the ASCII bytes appendJSONString copies as they are (encoding/json's
// HTML-safe set: no control characters, quote, backslash, <, > or &).
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\\<>&` {
		t[c] = false
	}
	return t
}()

func allSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// decodeClassifyIn decodes one input line into in. The common shape (a flat object whose
// values are strings, integers, null or ignored fields) is decoded by hand, which is several
// times faster than encoding/json; anything else (nested engagement/author objects, keys
// written in another case, escapes in keys, numbers that are not plain integers, invalid
// JSON) goes to json.Unmarshal, so results and error messages are exactly its own.
func decodeClassifyIn(raw []byte, in *classifyIn) error {
	if fastDecodeClassifyIn(raw, in) {
		return nil
	}
	*in = classifyIn{}
	return json.Unmarshal(raw, in)
}

// classifyInKeys are the JSON names of classifyIn's fields.
var classifyInKeys = [...]string{"id", "post_id", "owner", "parent_id", "text", "network", "kind", "likes", "comments",
	"reposts", "views", "author_followers", "engagement", "author"}

// fastDecodeClassifyIn is the hand-written decoder of decodeClassifyIn; false means "not
// sure, use encoding/json" (in may then hold partial results).
func fastDecodeClassifyIn(raw []byte, in *classifyIn) bool {
	*in = classifyIn{}
	d := jsonScan{b: raw}
	d.space()
	if !d.byte('{') {
		return false
	}
	d.space()
	if d.byte('}') {
		d.space()
		return d.i == len(d.b)
	}
	for {
		d.space()
		ks, ke, esc, ok := d.str()
		if !ok || esc {
			return false
		}
		key := raw[ks:ke]
		d.space()
		if !d.byte(':') {
			return false
		}
		d.space()
		if d.i >= len(d.b) {
			return false
		}
		switch string(key) {
		case "id", "post_id", "owner", "parent_id":
			vs := d.i
			switch c := d.b[d.i]; {
			case c == '"':
				if _, _, _, ok := d.str(); !ok {
					return false
				}
			case c == '-' || c >= '0' && c <= '9':
				if !d.number() {
					return false
				}
			case c == 'n' || c == 't' || c == 'f':
				if !d.literal() {
					return false
				}
			default:
				return false
			}
			switch string(key) {
			case "id":
				in.ID = raw[vs:d.i]
			case "post_id":
				in.PostID = raw[vs:d.i]
			case "owner":
				in.Owner = raw[vs:d.i]
			default:
				in.ParentID = raw[vs:d.i]
			}
		case "text", "network", "kind":
			if d.b[d.i] == 'n' {
				if !d.lit("null") {
					return false
				}
				if string(key) == "text" {
					in.Text = nil
				}
				break
			}
			s, ok := d.strValue()
			if !ok {
				return false
			}
			switch string(key) {
			case "text":
				in.Text = &s
			case "network":
				in.Network = s
			default:
				in.Kind = otklik.Kind(s)
			}
		case "likes", "comments", "reposts", "views", "author_followers":
			if d.b[d.i] == 'n' {
				if !d.lit("null") {
					return false
				}
				break
			}
			n, ok := d.int64()
			if !ok {
				return false
			}
			switch string(key) {
			case "likes":
				in.Likes = n
			case "comments":
				in.Comments = n
			case "reposts":
				in.Reposts = n
			case "views":
				in.Views = n
			default:
				in.AuthorFollowers = n
			}
		default:
			// encoding/json matches keys case-insensitively (with Unicode folding): leave
			// every key that might match a field to it.
			for _, c := range key {
				if c >= utf8.RuneSelf {
					return false
				}
			}
			for _, k := range classifyInKeys {
				// Both are ASCII here, so only keys of the same length can fold together.
				if len(k) == len(key) && strings.EqualFold(k, string(key)) {
					return false
				}
			}
			if !d.skip(0) {
				return false
			}
		}
		d.space()
		if d.byte(',') {
			continue
		}
		if !d.byte('}') {
			return false
		}
		d.space()
		return d.i == len(d.b)
	}
}

// jsonScan is the cursor of the hand-written decoder; its methods report false on anything
// they do not accept (which may be valid JSON: the caller then falls back).
type jsonScan struct {
	b []byte
	i int
	// other is set by str when the string has bytes beyond ASCII and two-byte Cyrillic
	// letters: only then does its UTF-8 need checking.
	other bool
}

func (d *jsonScan) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonScan) byte(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *jsonScan) lit(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

func (d *jsonScan) literal() bool { return d.lit("null") || d.lit("true") || d.lit("false") }

// str scans a string at the cursor and returns the bounds of its contents and whether it
// has escapes; it checks the JSON grammar (no control characters, valid escapes).
func (d *jsonScan) str() (start, end int, esc, ok bool) {
	if !d.byte('"') {
		return 0, 0, false, false
	}
	start = d.i
	d.other = false
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c >= 0x80:
			// A two-byte Cyrillic letter is valid UTF-8; anything else is checked later.
			if c-0xD0 <= 3 && d.i+1 < len(d.b) && d.b[d.i+1]&0xC0 == 0x80 {
				d.i += 2
			} else {
				d.other = true
				d.i++
			}
		case c == '"':
			end = d.i
			d.i++
			return start, end, esc, true
		case c == '\\':
			esc = true
			if d.i+1 >= len(d.b) {
				return 0, 0, false, false
			}
			switch d.b[d.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i += 2
			case 'u':
				if _, ok := hex4(d.b[d.i+2:]); !ok {
					return 0, 0, false, false
				}
				d.i += 6
			default:
				return 0, 0, false, false
			}
		case c < 0x20:
			return 0, 0, false, false
		default:
			d.i++
		}
	}
	return 0, 0, false, false
}

// strValue decodes a string value as encoding/json does (escapes and invalid UTF-8 are
// left to it).
func (d *jsonScan) strValue() (string, bool) {
	vs := d.i
	s, e, esc, ok := d.str()
	if !ok {
		return "", false
	}
	if d.other && !utf8.Valid(d.b[s:e]) {
		// Invalid UTF-8 is replaced the way encoding/json does it: let it.
		var v string
		if err := json.Unmarshal(d.b[vs:d.i], &v); err != nil {
			return "", false
		}
		return v, true
	}
	if !esc {
		return string(d.b[s:e]), true
	}
	if v, ok := unescapeJSON(d.b[s:e]); ok {
		return v, true
	}
	var v string
	if err := json.Unmarshal(d.b[vs:d.i], &v); err != nil {
		return "", false
	}
	return v, true
}

// unescapeJSON decodes the contents of a JSON string whose escapes str has checked and
// whose bytes are valid UTF-8, as encoding/json does (a lone or unpaired surrogate becomes
// U+FFFD).
func unescapeJSON(s []byte) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		j := bytes.IndexByte(s[i:], '\\')
		if j < 0 {
			b = append(b, s[i:]...)
			break
		}
		b = append(b, s[i:i+j]...)
		i += j
		if i+1 >= len(s) {
			return "", false
		}
		switch c := s[i+1]; c {
		case '"', '\\', '/':
			b = append(b, c)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
					r2, ok = hex4(s[i+8:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					b = utf8.AppendRune(b, dec)
					i += 12
					continue
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
			i += 6
			continue
		default:
			return "", false
		}
		i += 2
	}
	return string(b), true
}

// hex4 decodes the four hex digits at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number scans a JSON number.
func (d *jsonScan) number() bool {
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	d.byte('-')
	if d.byte('0') {
		if d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			return false
		}
	} else if digits() == 0 {
		return false
	}
	if d.byte('.') && digits() == 0 {
		return false
	}
	if d.byte('e') || d.byte('E') {
		if !d.byte('+') {
			d.byte('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// int64 decodes a plain integer (no fraction, no exponent, within int64).
func (d *jsonScan) int64() (int64, bool) {
	neg := d.byte('-')
	s := d.i
	var n uint64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		if d.i-s >= 18 {
			return 0, false // leave anything near the int64 limits to encoding/json
		}
		n = n*10 + uint64(d.b[d.i]-'0')
		d.i++
	}
	if d.i == s || (d.b[s] == '0' && d.i-s > 1) {
		return 0, false
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// skip scans any JSON value.
func (d *jsonScan) skip(depth int) bool {
	if d.i >= len(d.b) || depth > 64 {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, _, _, ok := d.str()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 'n' || c == 't' || c == 'f':
		return d.literal()
	case c == '[':
		d.i++
		d.space()
		if d.byte(']') {
			return true
		}
		for {
			d.space()
			if !d.skip(depth + 1) {
				return false
			}
			d.space()
			if d.byte(',') {
				continue
			}
			return d.byte(']')
		}
	case c == '{':
		d.i++
		d.space()
		if d.byte('}') {
			return true
		}
		for {
			d.space()
			if _, _, _, ok := d.str(); !ok {
				return false
			}
			d.space()
			if !d.byte(':') {
				return false
			}
			d.space()
			if !d.skip(depth + 1) {
				return false
			}
			d.space()
			if d.byte(',') {
				continue
			}
			return d.byte('}')
		}
	}
	return false
}
