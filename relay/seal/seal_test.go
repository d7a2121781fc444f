package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

func newTestSealer(t *testing.T, now *time.Time) *Sealer {
	t.Helper()
	s, err := New(bytes.Repeat([]byte("s"), 32), func() time.Time { return *now })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A value opens for its own purpose until its expiry, and never for
// another purpose, another secret, or after a change of a single byte.
func TestSealOpen(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newTestSealer(t, &now)
	text, exp, err := s.Seal(Access, map[string]string{"p": "blog"}, time.Minute)
	if err != nil || !exp.Equal(now.Add(time.Minute)) {
		t.Fatalf("seal: %v, expiry %v", err, exp)
	}
	var v map[string]string
	if err := s.Open(Access, text, &v); err != nil || v["p"] != "blog" {
		t.Fatalf("open: %v %v", err, v)
	}
	if err := s.Open(Refresh, text, &v); !errors.Is(err, ErrSealed) {
		t.Errorf("opened for another purpose: %v", err)
	}
	other, err := New(bytes.Repeat([]byte("t"), 32), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Open(Access, text, &v); !errors.Is(err, ErrSealed) {
		t.Errorf("opened with another secret: %v", err)
	}
	mid := len(text) / 2
	flipped := text[:mid] + map[bool]string{true: "B", false: "A"}[text[mid] == 'A'] + text[mid+1:]
	if err := s.Open(Access, flipped, &v); !errors.Is(err, ErrSealed) {
		t.Errorf("opened after a change: %v", err)
	}
	if err := s.Open(Access, strings.Repeat("A", 17<<10), &v); !errors.Is(err, ErrSealed) {
		t.Errorf("opened an over-long text: %v", err)
	}
	now = now.Add(time.Minute)
	v = nil
	if err := s.Open(Access, text, &v); !errors.Is(err, ErrExpired) || v["p"] != "blog" {
		t.Errorf("at its expiry: %v, %v; want ErrExpired with the value", err, v)
	}
}

// A secret shorter than 32 bytes is refused; digests are keyed by purpose.
func TestNewAndDerive(t *testing.T) {
	if _, err := New(bytes.Repeat([]byte("s"), 31), time.Now); err == nil {
		t.Error("a 31-byte secret was accepted")
	}
	now := time.Now()
	s := newTestSealer(t, &now)
	a, b := s.Derive(Verify, []byte("nonce")), s.Derive(CSRF, []byte("nonce"))
	if len(a) != 32 || bytes.Equal(a, b) || !bytes.Equal(a, s.Derive(Verify, []byte("nonce"))) {
		t.Errorf("derive: %x %x", a, b)
	}
}

// sealedEarlier is a refresh token as an earlier relay sealed it (its
// plaintext written by encoding/json from a struct with a RawMessage),
// with the secret "s"×32, at 1,700,000,000 for an hour: tokens already in
// browsers and stores must keep opening.
const sealedEarlier = "DhS6foVquAaxQhXbUkJ0EELM9Q7UBHgWrYTuPFq28WVKY3RbcL3dA7fqmzF0D9N3sEvOshzrAx3gBCyvzs0IPmiLWjs04STxqIKa_cz2S_ppzuKA_ytD3iMmUUYv8bzG1k0d13C5vJ16451_UdX5PO20AOvEyeHM8Qqx3u1oAwcnRxUGewc7N5cm6wHqc9UxmWBgBELtSosKq6IbFYEFOP3k5_0N5T29rTaY-leaBnuFcnjmGpYT5tBEp_PUM80gUF_mqYZLr3S_9MLD4b8U1Q"

// A value sealed earlier opens, into a struct as into a map; and what Seal
// writes now is, byte for byte, the plaintext encoding/json writes for
// the envelope {"exp", "v": RawMessage}, so that an earlier relay sharing
// the store or the secret opens it too.
func TestSealedFormat(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newTestSealer(t, &now)
	var claims struct {
		Project string   `json:"p"`
		ID      string   `json:"i"`
		End     int64    `json:"x"`
		Emails  []string `json:"es"`
		GitHub  string   `json:"g"`
	}
	if err := s.Open(Refresh, sealedEarlier, &claims); err != nil || claims.Project != "blog" || claims.ID != "id1" ||
		claims.End != 1_700_086_400 || len(claims.Emails) != 1 || claims.GitHub != "gho_<&>" {
		t.Fatalf("an earlier token: %v %+v", err, claims)
	}
	var m map[string]any
	if err := s.Open(Refresh, sealedEarlier, &m); err != nil || m["l"] != "ada" {
		t.Fatalf("an earlier token into a map: %v %v", err, m)
	}
	if err := s.Open(Access, sealedEarlier, &m); !errors.Is(err, ErrSealed) {
		t.Errorf("an earlier refresh token opened as an access token: %v", err)
	}
	now = now.Add(time.Hour)
	if err := s.Open(Refresh, sealedEarlier, &claims); !errors.Is(err, ErrExpired) {
		t.Errorf("an earlier token at its expiry: %v", err)
	}

	value := map[string]any{"p": "blog", "g": "gho_<&>\u2028", "es": []string{"a@example.com"}}
	text, exp, err := s.Seal(Token, value, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(value)
	want, _ := json.Marshal(struct {
		Exp int64           `json:"exp"`
		V   json.RawMessage `json:"v"`
	}{exp.Unix(), payload})
	raw, _ := base64.RawURLEncoding.DecodeString(text)
	aead, _ := chacha20poly1305.NewX(s.keys[Token])
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(Token))
	if err != nil || !bytes.Equal(plain, want) {
		t.Errorf("plaintext %s (%v), want %s", plain, err, want)
	}
}

// Open refuses to fill anything but a pointer.
func TestOpenNeedsPointer(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newTestSealer(t, &now)
	text, _, _ := s.Seal(Access, map[string]string{"p": "blog"}, time.Minute)
	var m map[string]string
	if err := s.Open(Access, text, m); err == nil {
		t.Error("opened into a map value")
	}
	if err := s.Open(Access, text, (*map[string]string)(nil)); err == nil {
		t.Error("opened into a nil pointer")
	}
}

// A sealed value opens to exactly what encoding/json reads back from the
// JSON it wrote, for every shape the relay seals: embedded structs,
// pointers, lists, maps, times, bytes, numbers at their bounds, text
// encoding/json escapes.
func TestOpenReadsWhatSealWrote(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newTestSealer(t, &now)
	type Inner struct {
		Login  string   `json:"l"`
		Emails []string `json:"es,omitempty"`
	}
	type shape struct {
		Inner
		Name     string            `json:"nm,omitempty"`
		Big      int64             `json:"b"`
		Small    int64             `json:"s"`
		Float    float64           `json:"f"`
		Flag     bool              `json:"fl,omitempty"`
		Ptr      *Inner            `json:"pt,omitempty"`
		Nil      *Inner            `json:"n"`
		Map      map[string]string `json:"m"`
		Any      any               `json:"a"`
		Raw      []byte            `json:"r"`
		When     time.Time         `json:"w"`
		Untagged string
		hidden   string
	}
	value := shape{
		Inner: Inner{Login: "ada", Emails: []string{"ada@example.com", "a@ex.org"}},
		Name:  "Ada <&> \u2028 \u00e9 \U0001F600 \"q\" \\ \x01",
		Big:   1<<63 - 1, Small: -1 << 63, Float: 0.1,
		Ptr:      &Inner{Login: "x"},
		Map:      map[string]string{"k": "v", "": "empty"},
		Any:      map[string]any{"n": 1.5, "l": []any{"a", true, nil}},
		Raw:      []byte{0, 1, 2, 255},
		When:     time.Date(2026, 12, 8, 1, 2, 3, 456789, time.FixedZone("x", 3600)),
		Untagged: "u", hidden: "h",
	}
	text, _, err := s.Seal(Access, value, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got, want shape
	data, _ := json.Marshal(value)
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(Access, text, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || !got.When.Equal(value.When) {
		t.Errorf("opened\n%+v\nencoding/json reads\n%+v", got, want)
	}
}
