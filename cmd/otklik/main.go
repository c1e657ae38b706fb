// Command otklik is the Otklik daemon and its tools in one binary.
//
//	otklik [run]     start the daemon (the default): collect, classify, index, serve HTTP
//	otklik classify  classify JSON Lines from stdin to stdout
//	otklik eval      evaluate the classifier on the labelled sets in ../shared/data
//	otklik train     train the classifier's topic model from labelled JSON Lines
//	otklik sla       working-time deadlines (sla add --from … --duration 9h)
//	otklik migrate   create Kafka topics and search-engine index templates
//	otklik bench     measure the production pipeline against the raw bulk rate
//	otklik hash      make a cases user's token_sha256 or password_hash
//	otklik version   print the version
//
// Every subcommand takes --help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// cli is what a subcommand reads and writes: the standard streams and the environment,
// injected so that tests run subcommands in-process.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
}

func commands() []command {
	return []command{
		{"run", "start the daemon (default): collect, classify, index, serve HTTP", runCmd},
		{"classify", "classify JSON Lines from stdin, one JSON line out per line in", classifyCmd},
		{"eval", "evaluate the classifier on the labelled data sets", evalCmd},
		{"train", "train the topic model from labelled JSON Lines", trainCmd},
		{"sla", "compute working-time deadlines", slaCmd},
		{"migrate", "create Kafka topics and search-engine index templates", migrateCmd},
		{"bench", "benchmark the production pipeline on real servers", benchCmd},
		{"hash", "make a cases user's token_sha256 or password_hash", hashCmd},
		{"version", "print the version", versionCmd},
	}
}

// errUsage marks a usage error: exit code 2 instead of 1.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// dispatch runs the subcommand named by args[0] (run when there is none, or when the first
// argument is a flag) and returns the process exit code.
func dispatch(ctx context.Context, c *cli, args []string) int {
	name := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		usage(c.stdout)
		return 0
	}
	if name == "help" {
		usage(c.stdout)
		return 0
	}
	for _, cmd := range commands() {
		if cmd.name != name {
			continue
		}
		err := cmd.run(ctx, c, args)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(c.stderr, "otklik %s: %v\n", name, err)
			return 2
		default:
			fmt.Fprintf(c.stderr, "otklik %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(c.stderr, "otklik: unknown command %q\n\n", name)
	usage(c.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Otklik finds residents' publications in social networks and helps answer each on time.")
	fmt.Fprintln(w, "\nUsage: otklik [command] [flags]   (command defaults to run)\n\nCommands:")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintln(w, "\nRun 'otklik COMMAND --help' for a command's flags.")
}

// newFlags returns a flag set that prints its usage to c.stderr and returns errors.
func newFlags(c *cli, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("otklik "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: otklik %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning a parse error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

func versionCmd(_ context.Context, c *cli, args []string) error {
	fs := newFlags(c, "version", "version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "otklik %s\n", version)
	return nil
}
