// Package store keeps the relay's native-mode state: API key hashes,
// one-time exchange tokens, spent markers and the sealing secret.
//
// A relay may run as several Caddy instances, so the state cannot live in
// process memory: single use must hold across instances (a token taken on
// one instance is gone on every other). Two implementations share one
// interface: NewStorage puts the state in Caddy's configured storage (a
// certmagic.Storage; by default files under Caddy's data directory, which
// serves one machine or a shared file system), and NewRedis puts it in Redis
// for clusters.
//
// The package does not import Caddy, so it can be tested and fuzzed alone.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound reports that a key is absent. An expired entry is absent.
var ErrNotFound = errors.New("store: not found")

// ErrExists reports that PutNew found the key already present.
var ErrExists = errors.New("store: exists")

// Store is a small key-value store shared by every relay instance that is
// configured with the same backend. All methods are safe for concurrent use.
//
// Keys are ASCII paths such as "keys/blog", "tokens/<hex>" or "secret"; see
// ValidateKey for the rules. A method given an invalid key returns an error
// that wraps ErrInvalidKey and touches nothing.
type Store interface {
	// Put stores value under key, replacing it; ttl 0 means no expiry.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// PutNew stores value only if key is absent (or expired); else
	// ErrExists. Atomic across instances.
	PutNew(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns the value, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Take returns the value and deletes it, atomically: of any number of
	// concurrent Takes of one key, across instances sharing the backend,
	// exactly one gets the value; the others get ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Batch runs ops, each as its method would (an Op holds its result),
	// but not as one: each is atomic on its own, as its method is, and
	// another instance may act between two of them. Ops of one key run in
	// the order given; ops of different keys may run in any order. A
	// store may send them at once: Redis sends them in one pipeline, one
	// round trip.
	Batch(ctx context.Context, ops ...*Op)
	// List returns the (unexpired) keys that start with prefix, sorted.
	// The prefix is a plain string prefix, not a path component: "keys/b"
	// matches "keys/blog". An empty prefix lists every key.
	List(ctx context.Context, prefix string) ([]string, error)
}

// NameLister is implemented by stores that can list keys without reading
// what they hold: on the file store, List reads every entry to leave the
// expired ones out. A caller that judges expiry itself (the audit log's
// records carry their time in their names) lists with ListNames.
type NameLister interface {
	// ListNames returns the keys that start with prefix, sorted, as List
	// does, except that entries expired but not removed yet may be among
	// them.
	ListNames(ctx context.Context, prefix string) ([]string, error)
}

// Sweeper is implemented by stores whose backend does not expire entries on
// its own. Such a store hides expired entries and removes each one it meets,
// but markers that are never read again would stay on disk forever: call
// Sweep now and then (say, every few minutes) to remove them all. Redis
// expires keys itself, so its store does not implement Sweeper.
type Sweeper interface {
	// Sweep removes every expired entry and reports how many it removed.
	Sweep(ctx context.Context) (int, error)
}

// ErrInvalidKey is wrapped by the error returned for a key, list prefix or
// store prefix that breaks the rules of ValidateKey.
var ErrInvalidKey = errors.New("store: invalid key")

// MaxKeyLen is the longest key accepted, in bytes.
const MaxKeyLen = 200

// ValidateKey reports whether key may be used with a Store.
//
// A key is 1 to MaxKeyLen bytes of printable ASCII without spaces, made of
// segments separated by single slashes: no leading or trailing slash, no
// empty, "." or ".." segment. Keys become file names in the storage
// implementation, so the characters that some file systems refuse or read
// as separators (\ : * ? " < > |) are refused too, as are [ and ], which
// Redis would read as a pattern in List.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if err := validateChars(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: %q has an empty segment or a leading or trailing slash", ErrInvalidKey, key)
		case ".", "..":
			return fmt.Errorf("%w: %q has a %q segment", ErrInvalidKey, key, seg)
		}
	}
	return nil
}

// validateListPrefix checks a List prefix: the key characters, any length up
// to MaxKeyLen, and no "." or ".." segment. It may be empty and may end with
// a slash or in the middle of a segment.
func validateListPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := validateChars(prefix); err != nil {
		return err
	}
	if strings.HasPrefix(prefix, "/") || strings.Contains(prefix, "//") {
		return fmt.Errorf("%w: list prefix %q has an empty segment or a leading slash", ErrInvalidKey, prefix)
	}
	segs := strings.Split(prefix, "/")
	// The last segment may be cut short: "tokens/." is a fine start of
	// "tokens/.x", but "tokens/../" is not.
	for _, seg := range segs[:len(segs)-1] {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%w: list prefix %q has a %q segment", ErrInvalidKey, prefix, seg)
		}
	}
	return nil
}

func validateChars(s string) error {
	if len(s) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidKey, len(s), MaxKeyLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' {
			return fmt.Errorf("%w: %q has a byte 0x%02x that is not printable ASCII", ErrInvalidKey, s, c)
		}
		if strings.IndexByte(`\:*?"<>|[]`, c) >= 0 {
			return fmt.Errorf("%w: %q has the character %q", ErrInvalidKey, s, c)
		}
	}
	return nil
}

// checkTTL refuses a negative ttl, which would otherwise mean "already
// expired" in one implementation and an error in the other.
func checkTTL(ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("store: negative ttl %v", ttl)
	}
	return nil
}
