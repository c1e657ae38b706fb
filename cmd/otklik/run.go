package main

import (
	"context"
	"errors"
)

// runCmd is a placeholder until the run subcommand lands.
func runCmd(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not implemented yet")
}
