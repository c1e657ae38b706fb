package main

import (
	"context"
	"errors"
)

// classifyCmd is a placeholder until the classify subcommand lands.
func classifyCmd(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not implemented yet")
}
