package relay

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"strings"
)

// API keys of the native relay: "ost_" and the base64url form of 32 random
// bytes followed by a CRC-32 of them. The checksum lets a malformed or
// mistyped key be refused without a lookup; the 256 random bits make a
// key unguessable. Only a key's SHA-256 and its prefix are ever stored.

const (
	keyPrefix    = "ost_"
	keyRandBytes = 32
	// keyLen is the length of a key: the prefix and 36 bytes in base64url.
	keyLen = len(keyPrefix) + (keyRandBytes+4)*4/3
	// shownPrefixLen is how much of a key identifies it in listings.
	shownPrefixLen = len(keyPrefix) + 8
)

// ErrMalformedKey is a key that cannot be one of ours.
var ErrMalformedKey = errors.New("malformed api key")

// NewKey makes a fresh key. It returns the key, to be shown once, and its
// record: the hash and the prefix that identify it from then on.
func NewKey() (key string, hash string, prefix string, err error) {
	buf := make([]byte, keyRandBytes+4)
	if _, err := rand.Read(buf[:keyRandBytes]); err != nil {
		return "", "", "", err
	}
	binary.BigEndian.PutUint32(buf[keyRandBytes:], crc32.ChecksumIEEE(buf[:keyRandBytes]))
	key = keyPrefix + base64.RawURLEncoding.EncodeToString(buf)
	return key, HashKey(key), key[:shownPrefixLen], nil
}

// CheckKeyFormat reports whether key has our form and a good checksum.
func CheckKeyFormat(key string) error {
	if len(key) != keyLen || !strings.HasPrefix(key, keyPrefix) {
		return ErrMalformedKey
	}
	buf, err := base64.RawURLEncoding.DecodeString(key[len(keyPrefix):])
	if err != nil || len(buf) != keyRandBytes+4 {
		return ErrMalformedKey
	}
	if crc32.ChecksumIEEE(buf[:keyRandBytes]) != binary.BigEndian.Uint32(buf[keyRandBytes:]) {
		return ErrMalformedKey
	}
	return nil
}

// HashKey is the hex SHA-256 of a key, as stored and as declared with
// key_sha256.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// SameHash compares two hex hashes in constant time.
func SameHash(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
