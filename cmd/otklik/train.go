package main

import (
	"context"
	"errors"
)

// trainCmd is a placeholder until the train subcommand lands.
func trainCmd(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not implemented yet")
}
