package cases

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Actor is who performs an action, as recorded in the audit trail.
type Actor struct {
	// User is the login ("system" for the service itself).
	User string `json:"user"`
	// Role is the user's role.
	Role Role `json:"role"`
	// Agency is the agency of an agency-bound role.
	Agency string `json:"agency,omitempty"`
}

// System is the actor of what the service does by itself: opening cases, linking repeats,
// recording breaches.
var system = Actor{User: "system", Role: Admin}

// HashToken returns the hex SHA-256 of an API token, the value of User.TokenSHA256.
// Tokens are expected to be long random strings, so a fast hash is enough.
func HashToken(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// passwordIterations is the PBKDF2-SHA256 work factor of HashPassword (OWASP 2023).
const passwordIterations = 600_000

// HashPassword returns a PBKDF2-SHA256 hash of password for User.PasswordHash, in the form
// "pbkdf2-sha256$<iterations>$<salt, base64>$<key, base64>".
func HashPassword(password string) (string, error) {
	return hashPassword(password, passwordIterations)
}

func hashPassword(password string, iter int) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iter, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

func parsePasswordHash(h string) (iter int, salt, key []byte, ok bool) {
	parts := strings.Split(h, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return 0, nil, nil, false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1000 {
		return 0, nil, nil, false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	key, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return 0, nil, nil, false
	}
	return iter, salt, key, true
}

func validPasswordHash(h string) bool { _, _, _, ok := parsePasswordHash(h); return ok }

func validTokenHash(h string) bool {
	b, err := hex.DecodeString(h)
	return err == nil && len(b) == sha256.Size
}

func checkPassword(hash, password string) bool {
	iter, salt, key, ok := parsePasswordHash(hash)
	if !ok {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(key))
	return err == nil && subtle.ConstantTimeCompare(got, key) == 1
}

// authenticate finds the user of a request: a bearer token or HTTP Basic credentials.
func (s *Service) authenticate(r *http.Request) (Actor, bool) {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		sum := HashToken(strings.TrimSpace(strings.TrimPrefix(h, "Bearer ")))
		for _, u := range s.cfg.Users {
			if u.TokenSHA256 != "" && subtle.ConstantTimeCompare([]byte(strings.ToLower(u.TokenSHA256)), []byte(sum)) == 1 {
				return Actor{User: u.Name, Role: u.Role, Agency: u.Agency}, true
			}
		}
		return Actor{}, false
	}
	name, pw, ok := r.BasicAuth()
	if !ok {
		return Actor{}, false
	}
	for _, u := range s.cfg.Users {
		if u.Name == name && u.PasswordHash != "" && s.passwords.check(u.PasswordHash, pw, s.now()) {
			return Actor{User: u.Name, Role: u.Role, Agency: u.Agency}, true
		}
	}
	return Actor{}, false
}

// passwordCache remembers successful password checks for a while, so that a client using
// HTTP Basic authentication does not pay the PBKDF2 work factor on every request. Keys are
// a SHA-256 of the stored hash and the password; failures are never cached.
type passwordCache struct {
	mu  sync.Mutex
	ok  map[[32]byte]time.Time // → expiry
	ttl time.Duration
}

func (c *passwordCache) check(hash, password string, now time.Time) bool {
	key := sha256.Sum256([]byte(hash + "\x00" + password))
	c.mu.Lock()
	exp, hit := c.ok[key]
	c.mu.Unlock()
	if hit && now.Before(exp) {
		return true
	}
	if !checkPassword(hash, password) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok == nil || len(c.ok) >= 10_000 {
		c.ok = map[[32]byte]time.Time{}
	}
	c.ok[key] = now.Add(c.ttl)
	return true
}
