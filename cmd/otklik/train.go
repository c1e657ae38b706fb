package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/otklik/otklik/classifier"
	"github.com/otklik/otklik/classifier/eval"
)

// trainCmd trains the topic model from labelled JSON Lines and writes it to a file the
// classifier loads (--model, or classifier/data/model.tsv to embed it).
func trainCmd(_ context.Context, c *cli, args []string) error {
	fs := newFlags(c, "train", "train [--set kursk,spb] [--in FILE.jsonl …] [--out FILE] [--cv K [--test saratov,kursk,spb]]")
	shared := fs.String("shared", "", "shared directory (default: $OTKLIK_SHARED, then ../shared next to the repository root)")
	sets := fs.String("set", "", "labelled sets of the shared data to train on, with the topic mappings of classifier/eval: "+strings.Join(eval.SetNames, ", "))
	var ins multiFlag
	fs.Var(&ins, "in", "JSON Lines file with \"text\" and \"topic\" (or \"labels\":{\"topic\":…}); repeatable")
	out := fs.String("out", "", "write the model here")
	cv := fs.Int("cv", 0, "instead of (or before) writing, report K-fold cross-validated topic accuracy")
	testSets := fs.String("test", "", "sets to report in cross-validation (default: the training sets)")
	alpha := fs.Float64("alpha", 0, "additive smoothing (default 0.5)")
	minCount := fs.Int("min-count", 0, "drop stems seen fewer times (default 3)")
	maxFeat := fs.Int("max-features", 0, "keep at most this many stems (default 6000)")
	uniform := fs.Bool("uniform-prior", true, "equal class priors (the training sets over-represent housing)")
	weight := fs.Float64("weight", 0, "model weight against the dictionaries for cross-validation (default 2)")
	toxic := fs.Bool("toxic", false, "train the point-16 (toxic) model instead of the topic model, from sets labelled toxic or with drop lists")
	threshold := fs.Float64("threshold", 0.7, "decision threshold stored in the toxic model")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *sets == "" && len(ins) == 0 {
		return fmt.Errorf("%w: nothing to train on: give --set or --in", errUsage)
	}
	if *out == "" && *cv == 0 {
		return fmt.Errorf("%w: give --out FILE, --cv K, or both", errUsage)
	}
	wd, _ := os.Getwd()
	root, _ := eval.RepoRoot(wd)
	dir := *shared
	if dir == "" {
		dir = c.getenv("OTKLIK_SHARED")
	}
	if dir == "" && root != "" {
		dir = filepath.Join(filepath.Dir(root), "shared")
	}
	var train []*eval.Set
	for _, name := range trainList(*sets) {
		s, err := eval.Load(dir, root, name)
		if err != nil {
			return err
		}
		train = append(train, s)
	}
	for _, path := range ins {
		s, err := loadTopicFile(path)
		if err != nil {
			return err
		}
		train = append(train, s)
	}
	if *toxic {
		return trainToxic(c, train, dir, root, *testSets, *cv, *out, *threshold)
	}
	opt := classifier.TrainOptions{Alpha: *alpha, MinCount: *minCount, MaxFeatures: *maxFeat, UniformPrior: *uniform}
	if *cv > 1 {
		test := train
		if *testSets != "" {
			test = nil
			for _, name := range trainList(*testSets) {
				s, err := eval.Load(dir, root, name)
				if err != nil {
					return err
				}
				test = append(test, s)
			}
		}
		base := classifier.DefaultConfig()
		base.ModelWeight = *weight
		res, err := eval.CrossValidate(train, test, *cv, opt, base, c.stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%d-fold cross-validated topic accuracy (folds by sha1(text) %% %d)\n", *cv, *cv)
		for _, r := range res {
			fmt.Fprintf(c.stdout, "  %-8s n=%-6d dictionaries %.3f   dictionaries+model %.3f\n", r.Set, r.N,
				float64(r.DictHits)/float64(max(1, r.N)), float64(r.ModelHits)/float64(max(1, r.N)))
		}
	}
	if *out != "" {
		var ex []classifier.Example
		for _, s := range train {
			ex = append(ex, s.Examples(0, 0)...)
		}
		data, err := classifier.Train(ex, opt)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "wrote %s: %d examples, %d bytes\n", *out, len(ex), len(data))
	}
	return nil
}

// loadTopicFile reads JSON Lines with a text and a topic.
func loadTopicFile(path string) (*eval.Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &eval.Set{Name: filepath.Base(path)}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r struct {
			Text   string `json:"text"`
			Topic  string `json:"topic"`
			Labels *struct {
				Topic string `json:"topic"`
			} `json:"labels"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if r.Topic == "" && r.Labels != nil {
			r.Topic = r.Labels.Topic
		}
		s.Total++
		if r.Topic == "" {
			continue
		}
		s.Rows = append(s.Rows, eval.Row{Text: r.Text, Topic: r.Topic, HasTopic: true})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(s.Rows) == 0 {
		return nil, errors.New(path + ": no line has a topic")
	}
	return s, nil
}

func trainList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// trainToxic trains (and cross-validates) the point-16 model.
func trainToxic(c *cli, train []*eval.Set, dir, root, testSets string, cv int, out string, threshold float64) error {
	opt := classifier.ToxicTrainOptions{Threshold: threshold}
	if cv > 1 {
		test := train
		if testSets != "" {
			test = nil
			for _, name := range trainList(testSets) {
				s, err := eval.Load(dir, root, name)
				if err != nil {
					return err
				}
				test = append(test, s)
			}
		}
		ths := []float64{0, 0.5, 0.6, 0.7, 0.8, 0.9}
		res, err := eval.CrossValidateToxic(train, test, cv, ths, opt, c.stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%d-fold cross-validated point-16 decision (any reason = toxic; folds by sha1(text) %% %d; threshold 0 = lexicon only)\n", cv, cv)
		for _, r := range res {
			for _, s := range test {
				p := r.Sets[s.Name]
				fmt.Fprintf(c.stdout, "  threshold %.2f  %-8s P %.3f R %.3f F1 %.3f (tp %d fp %d fn %d)\n", r.Threshold, s.Name, p.Precision(), p.Recall(), p.F1(), p.TP, p.FP, p.FN)
			}
		}
	}
	if out == "" {
		return nil
	}
	var ex []classifier.ToxicExample
	for _, s := range train {
		ex = append(ex, s.ToxicExamples(0, 0)...)
	}
	lex, err := classifier.New(classifier.Config{NoModel: true, NoToxicModel: true})
	if err != nil {
		return err
	}
	data, err := lex.TrainToxic(ex, opt)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %s: %d examples, %d bytes\n", out, len(ex), len(data))
	return nil
}
