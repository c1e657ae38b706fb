package collectors

import (
	"encoding/json"
	"log/slog"
)

// Secret is a token or app secret. It prints, logs and marshals as "[redacted]" so that a
// config struct holding it can be logged or dumped safely; Reveal returns the value for the
// one place that sends it to the network.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String redacts.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts (for %#v).
func (s Secret) GoString() string { return s.String() }

// LogValue redacts in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON redacts in JSON output.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText redacts in text encodings (YAML, flags).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
