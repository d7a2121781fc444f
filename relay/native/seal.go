package native

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// Sealing. Everything the native relay hands out that it must read back
// (login state, sessions, the payload of an exchange token) is sealed with
// an AEAD keyed from the relay secret: any instance that shares the secret
// can open it, nobody else can read or forge it, and nothing needs to be
// stored for it. Each purpose has its own key, so a value sealed for one
// use never opens as another.

// Purposes of sealed values.
const (
	purposeStart   = "start"   // the relay's login start route
	purposeState   = "state"   // GitHub's OAuth state
	purposeAccess  = "access"  // session access token
	purposeRefresh = "refresh" // session refresh token
	purposeToken   = "token"   // an exchange token's payload, in the store
	purposeVerify  = "pkce"    // deriving PKCE verifiers
	purposeGitHub  = "github"  // a renewed GitHub token, in the store
	purposeLink    = "link"    // an e-mail link's payload, in the store
	purposeCSRF    = "csrf"    // deriving the e-mail link form's CSRF tokens
	purposeDevCode = "dev"     // the development login's code
	purposeTicket  = "ticket"  // a sign-in to the relay's pages, on its way back
	purposePage    = "page"    // the relay's pages' own session
)

var (
	errSealed  = errors.New("sealed value does not open")
	errExpired = errors.New("sealed value expired")
)

// sealer seals and opens values with keys derived from one secret.
type sealer struct {
	keys map[string][]byte
	now  func() time.Time
}

func newSealer(secret []byte, now func() time.Time) (*sealer, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("the relay secret must have at least 32 bytes, has %d", len(secret))
	}
	s := &sealer{keys: map[string][]byte{}, now: now}
	for _, p := range []string{purposeStart, purposeState, purposeAccess, purposeRefresh, purposeToken, purposeVerify, purposeGitHub, purposeLink, purposeCSRF, purposeTicket, purposePage, purposeDevCode} {
		k, err := hkdf.Key(sha256.New, secret, []byte("caddy-outstatic relay v1"), p, chacha20poly1305.KeySize)
		if err != nil {
			return nil, err
		}
		s.keys[p] = k
	}
	return s, nil
}

// envelope carries a sealed value's expiry beside its payload.
type envelope struct {
	Exp int64           `json:"exp"`
	V   json.RawMessage `json:"v"`
}

// seal encrypts v for purpose, valid for ttl, as URL-safe text.
func (s *sealer) seal(purpose string, v any, ttl time.Duration) (string, time.Time, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := s.now().Add(ttl)
	plain, err := json.Marshal(envelope{Exp: exp.Unix(), V: payload})
	if err != nil {
		return "", time.Time{}, err
	}
	aead, err := chacha20poly1305.NewX(s.keys[purpose])
	if err != nil {
		return "", time.Time{}, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", time.Time{}, err
	}
	out := aead.Seal(nonce, nonce, plain, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out), exp, nil
}

// open decrypts a value sealed for purpose into v. It reports errSealed
// for anything forged, tampered or sealed for another purpose, and
// errExpired (with v filled) for an authentic value past its expiry.
func (s *sealer) open(purpose, text string, v any) error {
	if len(text) > 16<<10 {
		return errSealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return errSealed
	}
	aead, err := chacha20poly1305.NewX(s.keys[purpose])
	if err != nil {
		return err
	}
	if len(raw) < aead.NonceSize()+aead.Overhead() {
		return errSealed
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(purpose))
	if err != nil {
		return errSealed
	}
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil {
		return errSealed
	}
	if err := json.Unmarshal(env.V, v); err != nil {
		return errSealed
	}
	if s.now().Unix() >= env.Exp {
		return errExpired
	}
	return nil
}

// derive returns a keyed digest of data for purpose: used to recompute a
// PKCE verifier from the nonce in a login's state, so it need not be kept.
func (s *sealer) derive(purpose string, data []byte) []byte {
	k := s.keys[purpose]
	h, _ := hkdf.Key(sha256.New, k, data, "derive", 32)
	return h
}
