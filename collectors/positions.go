package collectors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var positionsBucket = []byte("positions")

// BoltPositions is the Positions store of the daemon: one bbolt file in the data
// directory (conventionally <data>/collectors.db) mapping a source key to its cursor.
// Every Save is a committed, fsynced transaction, so a cursor read after a crash is one
// whose publications were delivered.
type BoltPositions struct {
	db *bolt.DB
}

// OpenPositions opens (creating if needed) the positions file at path. It fails, rather
// than blocks, when another process holds the file.
func OpenPositions(path string) (*BoltPositions, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open collector positions %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(positionsBucket)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init collector positions %s: %w", path, err)
	}
	return &BoltPositions{db: db}, nil
}

// Load returns the cursor saved for key, "" when none is.
func (p *BoltPositions) Load(_ context.Context, key string) (string, error) {
	var cur string
	err := p.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(positionsBucket).Get([]byte(key)); v != nil {
			cur = string(v)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("load position %q: %w", key, err)
	}
	return cur, nil
}

// Save stores cursor for key durably.
func (p *BoltPositions) Save(_ context.Context, key, cursor string) error {
	if key == "" {
		return errors.New("save position: empty key")
	}
	err := p.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(positionsBucket).Put([]byte(key), []byte(cursor))
	})
	if err != nil {
		return fmt.Errorf("save position %q: %w", key, err)
	}
	return nil
}

// Close closes the file.
func (p *BoltPositions) Close() error { return p.db.Close() }

// MemPositions is an in-memory Positions for tests and for the demo mode, where nothing
// is to survive a restart.
type MemPositions struct {
	mu sync.Mutex
	m  map[string]string
}

// NewMemPositions returns an empty in-memory store.
func NewMemPositions() *MemPositions { return &MemPositions{m: map[string]string{}} }

// Load returns the cursor for key.
func (p *MemPositions) Load(_ context.Context, key string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[key], nil
}

// Save stores the cursor for key.
func (p *MemPositions) Save(_ context.Context, key, cursor string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[key] = cursor
	return nil
}
