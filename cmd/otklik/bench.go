package main

import (
	"context"
	"errors"
)

// benchCmd is a placeholder until the bench subcommand lands.
func benchCmd(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not implemented yet")
}
