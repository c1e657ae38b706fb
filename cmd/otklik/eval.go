package main

import (
	"context"
	"errors"
)

// evalCmd is a placeholder until the eval subcommand lands.
func evalCmd(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not implemented yet")
}
