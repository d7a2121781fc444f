package forward

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// keySet holds the API keys a relay accepts, as SHA-256 digests: digests
// have one length, so comparing them takes the same time whatever the
// length of the key presented, and the set holds no key in the clear.
type keySet [][sha256.Size]byte

// newKeySet refuses an empty list and keys a header cannot carry.
func newKeySet(keys []string) (keySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("forward mode needs at least one api key to accept")
	}
	set := make(keySet, 0, len(keys))
	for i, k := range keys {
		if k == "" {
			return nil, fmt.Errorf("api key %d is empty", i+1)
		}
		for j := 0; j < len(k); j++ {
			if k[j] <= ' ' || k[j] >= 0x7f {
				// The key is not quoted: it is a secret.
				return nil, fmt.Errorf("api key %d has a character a header cannot carry", i+1)
			}
		}
		set = append(set, sha256.Sum256([]byte(k)))
	}
	return set, nil
}

// match returns the key in h's Authorization header if it is one of the
// set. Every configured key is compared, in constant time, whatever
// matches: the time taken says nothing about which key came close. Two
// Authorization headers are refused, so the service cannot be shown a
// key other than the one checked here.
func (s keySet) match(h http.Header) (string, bool) {
	values := h.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	key, ok := relay.BearerToken(values[0])
	if !ok {
		return "", false
	}
	sum := sha256.Sum256([]byte(key))
	found := 0
	for i := range s {
		found |= subtle.ConstantTimeCompare(sum[:], s[i][:])
	}
	return key, found == 1
}
