package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
	threshold := fs.Float64("threshold", 0.5, "decision threshold stored in the toxic model")
	strong := fs.Float64("strong", 0, "toxic model: weight one word must reach to drop a text (stored in the model)")
	civic := fs.Float64("civic", 0, "toxic model: log-odds shift per word of the topic dictionaries, at most two (stored in the model)")
	nb := fs.Float64("nb", 0, "toxic model: NB-weighted features with this smoothing (0: plain)")
	residual := fs.Bool("residual", false, "toxic model: train only on texts the lexicon finds clean")
	minWords := fs.Int("min-words", 0, "toxic model: distinct model words a text needs to be dropped by the model (stored in the model)")
	cvMinWords := fs.String("cv-min-words", "", "toxic cross-validation: min-words values to report (default: --min-words)")
	cvCivic := fs.String("cv-civic", "", "toxic cross-validation: civic shifts to report (default: --civic)")
	bits := fs.Uint("bits", 0, "toxic model: log2 of the number of hashed weight buckets (default 19)")
	norm := fs.Float64("norm", -1, "toxic model: divide the feature sum by n^NORM (default 0.5)")
	epochs := fs.Int("epochs", 0, "toxic model: training epochs (default 6)")
	rate := fs.Float64("rate", 0, "toxic model: AdaGrad learning rate (default 0.3)")
	l2 := fs.Float64("l2", 0, "toxic model: L2 regularisation (default 1e-5)")
	interp := fs.Float64("interp", 0, "toxic model: NBSVM interpolation beta in (0,1) (0: none)")
	mix := fs.Float64("mix", 0, "toxic model (with --nb): add MIX times the NB log-count ratios to the weights (NB+LR ensemble)")
	balance := fs.Bool("balance", false, "toxic model: class-balanced loss")
	average := fs.Int("average", 0, "toxic model: store the mean of the weights after each of the last N epochs (0: the last weights)")
	hidden := fs.Int("hidden", 0, "toxic model: also train a network over the same features with an embedding bag of this many dimensions (0: linear only)")
	hidden2 := fs.Int("hidden2", 0, "toxic model (with --hidden): units of a second hidden layer (0: none)")
	mlpMode := fs.String("mlp-mode", "joint", "toxic model (with --hidden): alone (the network's logit replaces the linear one), joint (the sum, trained together), residual (the sum, the network trained after the linear model) or mean (the mean of the two logits, trained apart)")
	mlpBits := fs.Uint("mlp-bits", 0, "toxic model (with --hidden): log2 of the number of embedding rows (default 16, at most --bits)")
	mlpEpochs := fs.Int("mlp-epochs", 0, "toxic model (with --hidden, alone or residual): epochs of the network (default --epochs)")
	mlpRate := fs.Float64("mlp-rate", 0, "toxic model (with --hidden): AdaGrad rate of the network (default 0.1)")
	mlpL2 := fs.Float64("mlp-l2", 0, "toxic model (with --hidden): L2 on the embeddings (default 0)")
	mlpNorm := fs.Float64("mlp-norm", 0.5, "toxic model (with --hidden): divide the embedding sum by n^MLP-NORM")
	mlpAct := fs.String("mlp-act", "relu", "toxic model (with --hidden): relu or tanh")
	mlpInit := fs.Float64("mlp-init", 0, "toxic model (with --hidden): embeddings start uniform in ±MLP-INIT (default 0.1)")
	mlpNB := fs.Bool("mlp-nb", false, "toxic model (with --hidden and --nb): scale each feature's vector by its naive Bayes log-count ratio")
	mlpStack := fs.Int("mlp-stack", 0, "toxic model (with --mlp-mode residual): offsets from linear models trained on the other STACK-1 of STACK parts (0: the final linear model's own logits)")
	cvThresholds := fs.String("cv-thresholds", "0,0.4,0.45,0.5,0.55,0.6,0.7", "toxic cross-validation: thresholds to report (0 = lexicon only)")
	cvStrong := fs.String("cv-strong", "", "toxic cross-validation: strong weights to report (default: --strong)")
	cvNoLexicon := fs.Bool("cv-no-lexicon", false, "toxic cross-validation: the model alone (lexicon findings as features only, no lexicon decision, no guards)")
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
		opt := classifier.ToxicTrainOptions{Threshold: *threshold, Strong: *strong, Civic: *civic, MinWords: *minWords, NB: *nb, Residual: *residual, Bits: *bits, Norm: *norm,
			Epochs: *epochs, Rate: *rate, L2: *l2, Average: *average, Balance: *balance, Interp: *interp, Mix: *mix,
			Hidden: *hidden, Hidden2: *hidden2, MLPMode: *mlpMode, MLPBits: *mlpBits, MLPEpochs: *mlpEpochs, MLPRate: *mlpRate, MLPL2: *mlpL2,
			MLPNorm: *mlpNorm, MLPAct: *mlpAct, MLPInit: *mlpInit, MLPNB: *mlpNB, MLPStack: *mlpStack}
		if *norm < 0 {
			opt.Norm = 0.5
		}
		ths, err := floatList(*cvThresholds)
		if err != nil {
			return fmt.Errorf("%w: --cv-thresholds: %v", errUsage, err)
		}
		sts := []float64{*strong}
		if *cvStrong != "" {
			if sts, err = floatList(*cvStrong); err != nil {
				return fmt.Errorf("%w: --cv-strong: %v", errUsage, err)
			}
		}
		cvs := []float64{*civic}
		if *cvCivic != "" {
			if cvs, err = floatList(*cvCivic); err != nil {
				return fmt.Errorf("%w: --cv-civic: %v", errUsage, err)
			}
		}
		mws := []int{*minWords}
		if *cvMinWords != "" {
			fl, err := floatList(*cvMinWords)
			if err != nil {
				return fmt.Errorf("%w: --cv-min-words: %v", errUsage, err)
			}
			mws = nil
			for _, x := range fl {
				mws = append(mws, int(x))
			}
		}
		return trainToxic(c, train, dir, root, *testSets, *cv, *out, opt, ths, sts, cvs, mws, *cvNoLexicon)
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
func trainToxic(c *cli, train []*eval.Set, dir, root, testSets string, cv int, out string, opt classifier.ToxicTrainOptions, ths, strongs, civics []float64, minWords []int, modelAlone bool) error {
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
		var res []eval.ToxicCV
		var err error
		what := "point-16 decision (any reason = toxic"
		if modelAlone {
			res, err = eval.CrossValidateToxicModel(train, test, cv, ths, opt, c.stderr)
			what = "toxic model alone (no lexicon decision, no guards"
		} else {
			res, err = eval.CrossValidateToxic(train, test, cv, ths, strongs, civics, minWords, opt, c.stderr)
			what += "; threshold 0 = lexicon only"
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%d-fold cross-validated %s; folds by sha1(text) %% %d)\n", cv, what, cv)
		for _, r := range res {
			for _, s := range test {
				p := r.Sets[s.Name]
				fmt.Fprintf(c.stdout, "  threshold %.2f strong %.2f civic %.2f min-words %d  %-8s P %.3f R %.3f F1 %.3f (tp %d fp %d fn %d)\n", r.Threshold, r.Strong, r.Civic, r.MinWords, s.Name, p.Precision(), p.Recall(), p.F1(), p.TP, p.FP, p.FN)
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

// floatList parses "0.4,0.5".
func floatList(s string) ([]float64, error) {
	var out []float64
	for _, x := range trainList(s) {
		v, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
