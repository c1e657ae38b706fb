package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/classifier"
)

// classifyIn is one input line of otklik classify. Either the flat fields of the
// evaluation sets (likes, comments, …) or the nested ones of otklik.Publication
// (engagement, author) are accepted.
type classifyIn struct {
	ID              json.RawMessage    `json:"id"`
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
			b.errs = append(b.errs, fmt.Sprintf("otklik classify: line %d: no \"id\" field", n))
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
		o := classifyOut{ID: in.ID, Topic: p.Class.Topic, Location: p.Class.Location, Priority: p.Class.Priority,
			Drop: p.Class.Drop, Agency: p.Class.Agency, Explanation: p.Class.Explanation, Model: p.Class.Model}
		js, err := json.Marshal(o)
		if err != nil {
			b.errs = append(b.errs, fmt.Sprintf("otklik classify: line %d: %v", n, err))
			continue
		}
		out = append(out, js...)
		out = append(out, '\n')
	}
	b.out = out
	b.lines = nil
}

func allSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
