package native

import (
	"testing"
	"time"
)

// expires_at is told a little before the access token really ends (a
// minute, or a tenth of a short lifetime), so the stock site refreshes
// before the relay refuses it: at the reported expires_at the token still
// works, and it ends at its real expiry. The refresh token's end is exact.
func TestNativeExpiresAtMargin(t *testing.T) {
	for _, tc := range []struct {
		ttl, margin time.Duration
	}{{0, time.Minute}, {5 * time.Minute, 30 * time.Second}} {
		env := newNativeEnv(t, func(_ int, c *NativeConfig) { c.SessionTTL = tc.ttl })
		ttl := env.relays[0].cfg.SessionTTL
		if got := expiryMargin(ttl); got != tc.margin {
			t.Fatalf("margin for %v: %v, want %v", ttl, got, tc.margin)
		}
		issued := time.Unix(0, env.now.Load())
		s := env.sessionOn(t, 0)
		if got, want := int64(s["expires_at"].(float64)), issued.Add(ttl-tc.margin).Unix(); got != want {
			t.Fatalf("ttl %v: expires_at %d, want %d", ttl, got, want)
		}
		if got, want := int64(s["refresh_token_expires_at"].(float64)), issued.Add(env.relays[0].cfg.RefreshTTL).Unix(); got != want {
			t.Fatalf("refresh_token_expires_at %d, want %d (exact)", got, want)
		}
		env.advance(ttl - tc.margin)
		if status, body := env.parser(t, 0, str(s, "access_token")); status != 200 {
			t.Fatalf("ttl %v: at the reported expires_at the relay refused: %d %s", ttl, status, body)
		}
		env.advance(tc.margin + time.Second)
		if status, _ := env.parser(t, 0, str(s, "access_token")); status != 401 {
			t.Fatalf("ttl %v: after the real expiry: %d", ttl, status)
		}
	}
}
