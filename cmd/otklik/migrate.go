package main

import (
	"context"
	"errors"
)

// migrateCmd is a placeholder until the migrate subcommand lands.
func migrateCmd(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not implemented yet")
}
