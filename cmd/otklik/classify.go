package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/classifier"
)

// classifyIn is one input line of otklik classify. Either the flat fields of the
// evaluation sets (likes, comments, …) or the nested ones of otklik.Publication
// (engagement, author) are accepted.
type classifyIn struct {
	ID              json.RawMessage    `json:"id"`
	PostID          json.RawMessage    `json:"post_id"`
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

// classifyBatch is a run of input lines handled by one worker.
type classifyBatch struct {
	seq   int
	first int // line number of lines[0]
	lines [][]byte
	out   []byte
	errs  []string
}

const classifyBatchLines = 256

// classifyCmd reads JSON Lines publications from stdin and writes one JSON line per input
// line to stdout, in input order. A bad line is reported on stderr with its line number and
// skipped; the run goes on, and the command exits with status 1 at the end if any line
// failed.
func classifyCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "classify", "classify [--routing FILE] [--model FILE | --no-model] [--workers N] < in.jsonl > out.jsonl")
	routing := fs.String("routing", "", "YAML or JSON file mapping topic ids to agencies (overrides the default routing)")
	model := fs.String("model", "", "topic model written by otklik train (default: the embedded one, if any)")
	noModel := fs.Bool("no-model", false, "dictionaries only, no topic model")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parallel workers")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	cfg := classifier.DefaultConfig()
	cfg.ModelPath, cfg.NoModel = *model, *noModel
	if *routing != "" {
		b, err := os.ReadFile(*routing)
		if err != nil {
			return fmt.Errorf("routing: %w", err)
		}
		if err := yaml.Unmarshal(b, &cfg.Routing); err != nil {
			return fmt.Errorf("routing %s: %w", *routing, err)
		}
	}
	cl, err := classifier.New(cfg)
	if err != nil {
		return err
	}
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
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				classifyLines(cl, b)
				done <- b
			}
		}()
	}
	failed := 0
	writeErr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(c.stdout, 256<<10)
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
					_, err = w.Write(nb.out)
				}
				for _, e := range nb.errs {
					fmt.Fprintln(c.stderr, e)
					failed++
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
	b := &classifyBatch{first: 1}
	var readErr error
	for sc.Scan() {
		line++
		b.lines = append(b.lines, append([]byte(nil), sc.Bytes()...))
		if len(b.lines) == classifyBatchLines {
			b.seq = seq
			seq++
			jobs <- b
			b = &classifyBatch{first: line + 1}
		}
		if ctx.Err() != nil {
			readErr = ctx.Err()
			break
		}
	}
	if err := sc.Err(); err != nil && readErr == nil {
		readErr = fmt.Errorf("reading stdin at line %d: %w", line+1, err)
	}
	if len(b.lines) > 0 {
		b.seq = seq
		jobs <- b
	}
	close(jobs)
	wg.Wait()
	close(done)
	if err := <-writeErr; err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if readErr != nil {
		return readErr
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lines failed (see the messages above)", failed, line)
	}
	return nil
}

// classifyLines classifies one batch into b.out.
func classifyLines(cl *classifier.Classifier, b *classifyBatch) {
	out := b.out[:0]
	for i, raw := range b.lines {
		n := b.first + i
		if len(raw) == 0 || allSpace(raw) {
			continue
		}
		var in classifyIn
		if err := json.Unmarshal(raw, &in); err != nil {
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
		cl.Classify(&p)
		out = appendClassifyOut(out, in.ID, p.Class)
		out = append(out, '\n')
	}
	b.out = out
	b.lines = nil
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
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

func allSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
