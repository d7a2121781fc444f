package outstatic

import (
	"errors"
	"fmt"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/mail"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"

	"github.com/caddyserver/caddy/v2"
)

// RelayOIDC is an OpenID Connect login of native mode, Google's or any
// issuer's: it answers google-exchange, the stock site's "Sign in with
// Google". Register <public_url>/outstatic/auth/oidc/callback as the
// client's redirect URI at the issuer.
type RelayOIDC struct {
	// Name names the login in logs, e.g. google. Required (the Caddyfile
	// takes it from `oidc <name>`); not github.
	Name string `json:"name"`
	// Issuer is the issuer URL, whose /.well-known/openid-configuration
	// says the rest, e.g. https://accounts.google.com. Required.
	Issuer string `json:"issuer"`
	// ClientID is the relay's client at the issuer. Required.
	ClientID string `json:"client_id"`
	// ClientSecret as an {env.*} or {file.*} placeholder. Required.
	ClientSecret string `json:"client_secret"`
}

// config is the native relay's configuration for o; secret is the
// expanded client secret.
func (o *RelayOIDC) config(secret string) login.OIDC {
	return login.OIDC{Name: o.Name, Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: secret}
}

// check is the one check of an OIDC block: the login's own rule, and the
// issuer's URL.
func (o *RelayOIDC) check() error {
	if err := o.config(o.ClientSecret).Check(); err != nil {
		return err
	}
	if err := checkServiceURL(o.Issuer); err != nil {
		return fmt.Errorf("oidc issuer: %v", err)
	}
	return nil
}

// RelayEmail is e-mail (magic link) logins of native mode: it answers
// request-magic-link, the stock site's e-mail sign-in.
type RelayEmail struct {
	// SMTP is the mail relay, host:port. Required.
	SMTP string `json:"smtp"`
	// Username for AUTH PLAIN. Default: none (no authentication).
	Username string `json:"username,omitempty"`
	// Password as an {env.*} or {file.*} placeholder. Default: none.
	Password string `json:"password,omitempty"`
	// From is the sender, e.g. "Blog <login@example.com>". Required.
	From string `json:"from"`
	// TLS is starttls, implicit or none (none only towards a loopback
	// relay when a password is sent). Default: starttls.
	TLS string `json:"tls,omitempty"`
	// LinkTTL is how long a login link works, at most 24h. Default: 15m.
	LinkTTL caddy.Duration `json:"link_ttl,omitempty"`
}

// config is the native relay's configuration for e; password is the
// expanded one.
func (e *RelayEmail) config(password string) login.Email {
	return login.Email{
		Mail:    mail.Config{Addr: e.SMTP, Username: e.Username, Password: password, From: e.From, TLS: e.TLS},
		LinkTTL: time.Duration(e.LinkTTL),
	}
}

// check is the one check of an e-mail block: the mail package's own
// checks of the SMTP settings, and the link's lifetime.
func (e *RelayEmail) check() error {
	if e.SMTP == "" || e.From == "" {
		return errors.New("email needs smtp <host:port> and from <address>")
	}
	cfg := e.config("")
	if e.Password != "" {
		cfg.Mail.Password = "placeholder" // expanded only in Provision
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	if _, err := mail.NewSender(cfg.Mail); err != nil {
		return fmt.Errorf("email: %v", err)
	}
	return nil
}

// nativeLogins adds the configured OIDC and e-mail logins to cfg,
// expanding their secrets. The e-mail block's SMTP sender also sends the
// invitations ('caddy outstatic member invite'), so that they are mailed
// rather than handed back.
func (rl *Relay) nativeLogins(cfg *native.NativeConfig, repl *caddy.Replacer) error {
	if o := rl.OIDC; o != nil {
		secret, err := expandSecret(repl, "oidc client_secret", o.ClientSecret)
		if err != nil {
			return err
		}
		c := o.config(secret)
		cfg.OIDC = &c
	}
	if e := rl.Email; e != nil {
		password, err := expandSecret(repl, "email password", e.Password)
		if err != nil {
			return err
		}
		c := e.config(password)
		cfg.Email = &c
		sender, err := mail.NewSender(c.Mail)
		if err != nil {
			return fmt.Errorf("email: %v", err)
		}
		cfg.Mailer = sender
	}
	return nil
}
