package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/otklik/otklik/cases"
)

// hashCmd makes the credentials of a cases user: a new API token with the token_sha256 to
// put in the configuration, or the password_hash of a password read from stdin. The
// configuration holds only hashes; the token or password is handed to the user.
func hashCmd(_ context.Context, c *cli, args []string) error {
	fs := newFlags(c, "hash", "hash (--token | --password)   (the password is read from stdin)")
	token := fs.Bool("token", false, "generate a new API token and print it with its token_sha256")
	password := fs.Bool("password", false, "read a password from stdin and print its password_hash")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *token == *password:
		return fmt.Errorf("%w: give exactly one of --token and --password", errUsage)
	case *token:
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		t := base64.RawURLEncoding.EncodeToString(b)
		fmt.Fprintf(c.stdout, "token: %s\ntoken_sha256: %s\n", t, cases.HashToken(t))
		return nil
	default:
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if err != nil {
				return fmt.Errorf("%w: no password on stdin", errUsage)
			}
			return fmt.Errorf("%w: empty password", errUsage)
		}
		h, herr := cases.HashPassword(line)
		if herr != nil {
			return herr
		}
		fmt.Fprintf(c.stdout, "password_hash: %s\n", h)
		return nil
	}
}
