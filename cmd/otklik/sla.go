package main

import (
	"context"
	"errors"
)

// slaCmd is a placeholder until the sla subcommand lands.
func slaCmd(_ context.Context, _ *cli, _ []string) error {
	return errors.New("not implemented yet")
}
