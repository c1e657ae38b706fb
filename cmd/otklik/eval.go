package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/otklik/otklik/classifier"
	"github.com/otklik/otklik/classifier/eval"
)

// evalCmd evaluates the classifier on the labelled sets and prints a table per set.
func evalCmd(_ context.Context, c *cli, args []string) error {
	fs := newFlags(c, "eval", "eval [--config FILE] [--shared DIR] [--set NAME[,NAME…]] [--model FILE | --no-model] [--no-toxic-model | --toxic-threshold P] [--errors N]")
	cfgPath := fs.String("config", c.getenv("OTKLIK_CONFIG"), "the daemon's YAML configuration `file` (env OTKLIK_CONFIG): its classifier section (routing, models, threshold) is evaluated; the flags below override it")
	shared := fs.String("shared", "", "shared directory (default: $OTKLIK_SHARED, ../shared from the working directory, then ../shared next to the repository root)")
	sets := fs.String("set", strings.Join(eval.SetNames, ","), "sets to evaluate: "+strings.Join(eval.SetNames, ", "))
	model := fs.String("model", "", "topic model written by otklik train (default: the embedded one, if any)")
	noModel := fs.Bool("no-model", false, "dictionaries only, no topic model")
	noToxic := fs.Bool("no-toxic-model", false, "point-16 lexicon only, no toxic model")
	toxicTh := fs.Float64("toxic-threshold", 0, "override the toxic model's threshold (0..1)")
	nerr := fs.Int("errors", 0, "print up to N misclassified rows per field")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, _ := eval.RepoRoot(wd)
	dir := *shared
	if dir == "" {
		dir = c.getenv("OTKLIK_SHARED")
	}
	if dir == "" {
		if st, err := os.Stat(filepath.Join(wd, "..", "shared")); err == nil && st.IsDir() {
			dir = filepath.Join(wd, "..", "shared")
		} else if root != "" {
			dir = filepath.Join(filepath.Dir(root), "shared")
		}
	}
	cfg, err := classifierConfig(c, *cfgPath, *model, *noModel)
	if err != nil {
		return err
	}
	if *noToxic {
		cfg.NoToxicModel = true
	}
	if *toxicTh != 0 {
		cfg.ToxicThreshold = *toxicTh
	}
	cl, err := classifier.New(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "classifier %s; shared data %s\n", cl.ModelID(), dir)
	var failed []string
	for _, name := range strings.Split(*sets, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		s, err := eval.Load(dir, root, name)
		if errors.Is(err, eval.ErrNoData) {
			fmt.Fprintf(c.stdout, "== %s: skipped (%v)\n", name, err)
			continue
		}
		if err != nil {
			failed = append(failed, name)
			fmt.Fprintf(c.stderr, "otklik eval: %s: %v\n", name, err)
			continue
		}
		rep := eval.Run(cl, s)
		rep.Write(c.stdout)
		if *nerr > 0 {
			for _, f := range rep.Fields {
				for i, e := range f.Errors {
					if i >= *nerr {
						break
					}
					fmt.Fprintf(c.stdout, "     ! %s %s: want %s, got %s\n", f.Name, e[0], e[1], e[2])
				}
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not evaluate: %s", strings.Join(failed, ", "))
	}
	return nil
}
