// Package replay is the collector of JSON Lines files: the bundled demo corpus of
// residents' publications from Saratov region (demo/publications.jsonl), or any file an
// operator points it at, such as an export from another monitoring system.
//
// Each line is an otklik.Publication in JSON (extra fields such as "labels" are ignored).
// The position is the number of lines consumed together with a fingerprint of the file,
// so a restart continues where the last delivered page ended, and a file replaced by
// different content is read from its start again (ids are stable, so nothing doubles).
// A line that is not a valid publication goes to the dead letters with its line number
// and error.
package replay

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
)

//go:embed demo/publications.jsonl
var demoCorpus []byte

// DemoName is the file name under which the bundled corpus is configured.
const DemoName = "demo"

// Demo returns the bundled demo corpus.
func Demo() []byte { return demoCorpus }

// DeadLetters receives lines that are not valid publications.
type DeadLetters interface {
	Reject(ctx context.Context, source string, line []byte, cause error) error
}

// Config configures one replayed file.
type Config struct {
	// Path is the JSON Lines file, or "demo" for the bundled corpus.
	Path string `yaml:"path"`
	// PageSize is how many lines one fetch returns.
	PageSize int `yaml:"page_size"`
	// Interval is how often the file is checked for new lines.
	Interval time.Duration `yaml:"interval"`
}

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() {
	if c.PageSize == 0 {
		c.PageSize = 100
	}
	if c.Interval == 0 {
		c.Interval = 10 * time.Second
	}
}

// Validate checks the settings; it does not open the file.
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return errors.New("replay: path is empty (use \"demo\" for the bundled corpus)")
	case c.PageSize < 1 || c.PageSize > 10000:
		return fmt.Errorf("replay %s: page_size %d must be between 1 and 10000", c.Path, c.PageSize)
	case c.Interval <= 0:
		return fmt.Errorf("replay %s: interval must be positive", c.Path)
	}
	return nil
}

// Replay replays one JSON Lines file.
type Replay struct {
	cfg  Config
	dead DeadLetters
	now  func() time.Time
	read func() ([]byte, error)
}

// New returns the collector of cfg.Path. Dead letters go to dead; now stamps FetchedAt.
func New(cfg Config, dead DeadLetters, now func() time.Time) (*Replay, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	r := &Replay{cfg: cfg, dead: dead, now: now}
	if cfg.Path == DemoName {
		r.read = func() ([]byte, error) { return demoCorpus, nil }
	} else {
		r.read = func() ([]byte, error) { return os.ReadFile(cfg.Path) }
	}
	return r, nil
}

// Target is the poller's target for this file.
func (r *Replay) Target() collectors.Target {
	return collectors.Target{
		Source: collectors.Source{Network: otklik.Demo, Kind: "file", Key: "replay:" + r.cfg.Path, Interval: r.cfg.Interval},
		Fetch:  r.Fetch,
	}
}

// Fetch returns the next page of publications after cursor.
func (r *Replay) Fetch(ctx context.Context, cursor string) (collectors.Page, error) {
	data, err := r.read()
	if err != nil {
		return collectors.Page{}, fmt.Errorf("replay: read %s: %w", r.cfg.Path, err)
	}
	lines := splitLines(data)
	done := 0
	if cursor != "" {
		f, n, ok := strings.Cut(cursor, ":")
		if !ok {
			return collectors.Page{}, fmt.Errorf("replay: bad position %q", cursor)
		}
		if done, err = strconv.Atoi(n); err != nil || done < 0 {
			return collectors.Page{}, fmt.Errorf("replay: bad position %q", cursor)
		}
		// Same content so far: continue. Otherwise the file was replaced: start again.
		if done > len(lines) || f != fingerprintPrefix(data, lines, done) {
			done = 0
		}
	}
	end := min(done+r.cfg.PageSize, len(lines))
	page := collectors.Page{More: end < len(lines)}
	now := r.now()
	for i := done; i < end; i++ {
		line := bytes.TrimSpace(lines[i])
		if len(line) == 0 {
			continue
		}
		p, err := Parse(line)
		if err != nil {
			if r.dead == nil {
				return collectors.Page{}, fmt.Errorf("replay %s line %d: %w", r.cfg.Path, i+1, err)
			}
			if derr := r.dead.Reject(ctx, r.cfg.Path, line, fmt.Errorf("line %d: %w", i+1, err)); derr != nil {
				return collectors.Page{}, fmt.Errorf("replay: dead letter of line %d: %w", i+1, derr)
			}
			continue
		}
		p.FetchedAt = now
		if p.Source == "" {
			p.Source = r.cfg.Path
		}
		page.Publications = append(page.Publications, p)
	}
	page.Cursor = fingerprintPrefix(data, lines, end) + ":" + strconv.Itoa(end)
	return page, nil
}

// Parse decodes one line into a valid publication. A line with "id" but no "post_id" (the
// input format of otklik classify) uses the id as the post id.
func Parse(line []byte) (otklik.Publication, error) {
	var p struct {
		otklik.Publication
		LegacyID json.RawMessage `json:"id"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&p); err != nil {
		return otklik.Publication{}, fmt.Errorf("not a JSON publication: %w", err)
	}
	pub := p.Publication
	pub.ID = ""
	if pub.PostID == "" && len(p.LegacyID) > 0 {
		var s string
		if json.Unmarshal(p.LegacyID, &s) != nil {
			s = string(p.LegacyID)
		}
		pub.PostID = s
	}
	if pub.Network == "" {
		pub.Network = otklik.Demo
	}
	if err := pub.Validate(); err != nil {
		return otklik.Publication{}, err
	}
	return pub, nil
}

func splitLines(data []byte) [][]byte {
	lines := bytes.SplitAfter(data, []byte("\n"))
	// A last line without a newline may still be being written: leave it for later.
	if n := len(lines); n > 0 && !bytes.HasSuffix(lines[n-1], []byte("\n")) {
		lines = lines[:n-1]
	}
	return lines
}

// fingerprintPrefix fingerprints the first n lines: an append keeps it, a rewrite changes it.
func fingerprintPrefix(data []byte, lines [][]byte, n int) string {
	size := 0
	for _, l := range lines[:n] {
		size += len(l)
	}
	sum := sha256.Sum256(data[:size])
	return hex.EncodeToString(sum[:8])
}
