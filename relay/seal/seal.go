// Package seal seals and opens what the native relay hands out and must
// read back: login states, sessions and refresh tokens, the payloads of
// exchange tokens and e-mail links. Everything is sealed with an AEAD
// (XChaCha20-Poly1305) keyed from the relay secret: any instance that
// shares the secret can open it, nobody else can read or forge it, and
// nothing needs to be stored for it. Each purpose has its own key, so a
// value sealed for one use never opens as another.
package seal

import (
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"golang.org/x/crypto/chacha20poly1305"
)

// Purpose is what a sealed value is for; each has its own key.
type Purpose string

// The purposes of sealed values.
const (
	Start   Purpose = "start"   // the relay's login start route
	State   Purpose = "state"   // a login provider's OAuth state
	Access  Purpose = "access"  // session access token
	Refresh Purpose = "refresh" // session refresh token
	Token   Purpose = "token"   // an exchange token's payload, in the store
	Verify  Purpose = "pkce"    // deriving PKCE verifiers
	GitHub  Purpose = "github"  // a renewed GitHub token, in the store
	Link    Purpose = "link"    // an e-mail link's payload, in the store
	CSRF    Purpose = "csrf"    // deriving the e-mail link form's CSRF tokens
	DevCode Purpose = "dev"     // the development login's code
	Ticket  Purpose = "ticket"  // a sign-in to the relay's pages, on its way back
	Page    Purpose = "page"    // the relay's pages' own session
)

// purposes are every Purpose, each keyed when a Sealer is made.
var purposes = []Purpose{Start, State, Access, Refresh, Token, Verify, GitHub, Link, CSRF, Ticket, Page, DevCode}

var (
	// ErrSealed is anything forged, tampered with or sealed for another
	// purpose.
	ErrSealed = errors.New("sealed value does not open")
	// ErrExpired is an authentic value past its expiry.
	ErrExpired = errors.New("sealed value expired")
)

// Sealer seals and opens values with keys derived from one secret. It is
// safe for concurrent use.
type Sealer struct {
	keys map[Purpose][]byte
	// aeads are each purpose's cipher, made once: an AEAD holds its key
	// and no other state, so one serves every call.
	aeads map[Purpose]cipher.AEAD
	now   func() time.Time
}

// New derives a Sealer's keys from secret (32 bytes or more); now is the
// clock expiries are judged by.
func New(secret []byte, now func() time.Time) (*Sealer, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("the relay secret must have at least 32 bytes, has %d", len(secret))
	}
	s := &Sealer{keys: map[Purpose][]byte{}, aeads: map[Purpose]cipher.AEAD{}, now: now}
	for _, p := range purposes {
		k, err := hkdf.Key(sha256.New, secret, []byte("caddy-outstatic relay v1"), string(p), chacha20poly1305.KeySize)
		if err != nil {
			return nil, err
		}
		aead, err := chacha20poly1305.NewX(k)
		if err != nil {
			return nil, err
		}
		s.keys[p], s.aeads[p] = k, aead
	}
	return s, nil
}

// The plaintext of a sealed value is the JSON object
// {"exp":<Unix seconds>,"v":<the value's JSON>}, exactly as encoding/json
// writes it: envelopeHead, the expiry, envelopeMid, the value, "}".
const (
	envelopeHead = `{"exp":`
	envelopeMid  = `,"v":`
)

// envelope splits the plaintext of a sealed value into its expiry and the
// value's JSON; ok is false for any other text.
func envelope(plain []byte) (exp int64, value []byte, ok bool) {
	rest, ok := bytes.CutPrefix(plain, []byte(envelopeHead))
	if !ok {
		return 0, nil, false
	}
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return 0, nil, false
	}
	exp, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return 0, nil, false
	}
	rest, ok = bytes.CutPrefix(rest[end:], []byte(envelopeMid))
	if !ok {
		return 0, nil, false
	}
	value, ok = bytes.CutSuffix(rest, []byte("}"))
	return exp, value, ok
}

// aead is purpose's cipher; an unknown purpose has none.
func (s *Sealer) aead(purpose Purpose) (cipher.AEAD, error) {
	aead, ok := s.aeads[purpose]
	if !ok {
		return nil, fmt.Errorf("seal: unknown purpose %q", purpose)
	}
	return aead, nil
}

// Seal encrypts v for purpose, valid for ttl, as URL-safe text; it
// returns the text and its expiry.
func (s *Sealer) Seal(purpose Purpose, v any, ttl time.Duration) (string, time.Time, error) {
	aead, err := s.aead(purpose)
	if err != nil {
		return "", time.Time{}, err
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := s.now().Add(ttl)
	// The nonce, then the plaintext, sealed in place: one buffer.
	ns := aead.NonceSize()
	buf := make([]byte, ns, ns+len(envelopeHead)+20+len(envelopeMid)+len(payload)+1+aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", time.Time{}, err
	}
	buf = append(buf, envelopeHead...)
	buf = strconv.AppendInt(buf, exp.Unix(), 10)
	buf = append(append(append(buf, envelopeMid...), payload...), '}')
	out := aead.Seal(buf[:ns], buf[:ns], buf[ns:], []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out), exp, nil
}

// Open decrypts a value sealed for purpose into v. It reports ErrSealed
// for anything forged, tampered or sealed for another purpose, and
// ErrExpired (with v filled) for an authentic value past its expiry.
func (s *Sealer) Open(purpose Purpose, text string, v any) error {
	if len(text) > 16<<10 {
		return ErrSealed
	}
	aead, err := s.aead(purpose)
	if err != nil {
		return err
	}
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("seal: opening into %T, not a pointer", v)
	}
	raw, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return ErrSealed
	}
	ns := aead.NonceSize()
	if len(raw) < ns+aead.Overhead() {
		return ErrSealed
	}
	plain, err := aead.Open(raw[ns:ns], raw[:ns], raw[ns:], []byte(purpose))
	if err != nil {
		return ErrSealed
	}
	exp, value, ok := envelope(plain)
	// The value is JSON that Seal's encoding/json wrote; the v2 decoder
	// reads it exactly, about three times faster.
	if !ok || jsonv2.Unmarshal(value, v) != nil {
		return ErrSealed
	}
	if s.now().Unix() >= exp {
		return ErrExpired
	}
	return nil
}

// Derive returns a keyed digest of data for purpose: used to recompute a
// PKCE verifier from the nonce in a login's state, so it need not be kept.
func (s *Sealer) Derive(purpose Purpose, data []byte) []byte {
	k := s.keys[purpose]
	h, _ := hkdf.Key(sha256.New, k, data, "derive", 32)
	return h
}
