package login

import (
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
)

// A development login's code is good only for the login it was minted for.
func TestDevCodeBoundToItsLogin(t *testing.T) {
	l := testLogins(t, func(c *Config) { c.DevLogin = true })
	d := l.bySlot[SlotGitHub].(*devLogin)
	code, _, err := l.cfg.Seal.Seal(seal.DevCode, devCode{Who: "ada", Challenge: s256("verifier-a")}, devCodeTTL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Redeem(t.Context(), code, "verifier-b"); err == nil {
		t.Error("a code redeemed with another login's verifier")
	}
	if m, err := d.Redeem(t.Context(), code, "verifier-a"); err != nil || m.Login != "ada" {
		t.Errorf("Redeem = %v, %v", m, err)
	}

}
