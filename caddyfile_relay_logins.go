package outstatic

import (
	"fmt"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/relay/login"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseRelayOIDC reads an oidc block of native mode:
//
//	oidc <name> {
//	    issuer <url>
//	    client_id <id>
//	    client_secret <secret>
//	}
func parseRelayOIDC(d *caddyfile.Dispenser) (*RelayOIDC, error) {
	o := new(RelayOIDC)
	file, line := d.File(), d.Line()
	if !d.NextArg() {
		return nil, d.Errf("oidc needs a name, e.g. oidc google")
	}
	o.Name = d.Val()
	err := readArglessBlock(d, "oidc", subdirectives{
		"issuer":        readWord(d, &o.Issuer, checkServiceURL),
		"client_id":     readWord(d, &o.ClientID, nil),
		"client_secret": readSecret(d, &o.ClientSecret),
	})
	if err != nil {
		return nil, err
	}
	// What the block lacks is reported at its first line.
	if err := o.check(); err != nil {
		return nil, blockErr(file, line, err.Error())
	}
	return o, nil
}

// parseRelayEmail reads the email block of native mode:
//
//	email {
//	    smtp <host:port>
//	    username <name>
//	    password <secret>
//	    from <address>
//	    tls starttls|implicit|none
//	    link_ttl <duration>
//	}
func parseRelayEmail(d *caddyfile.Dispenser) (*RelayEmail, error) {
	e := new(RelayEmail)
	file, line := d.File(), d.Line()
	err := readArglessBlock(d, "email", subdirectives{
		"smtp":     readWord(d, &e.SMTP, nil),
		"username": readWord(d, &e.Username, nil),
		"from":     readWord(d, &e.From, nil),
		"password": readSecret(d, &e.Password),
		"tls":      readWord(d, &e.TLS, checkEmailTLS),
		"link_ttl": thenCheck(d, readDuration(d, &e.LinkTTL), func() error {
			return login.Email{LinkTTL: time.Duration(e.LinkTTL)}.Check()
		}),
	})
	if err != nil {
		return nil, err
	}
	if err := e.check(); err != nil {
		return nil, blockErr(file, line, err.Error())
	}
	return e, nil
}

// checkEmailTLS judges the email block's tls.
func checkEmailTLS(v string) error {
	if v != "starttls" && v != "implicit" && v != "none" {
		return fmt.Errorf("tls %q: want starttls, implicit or none%s", v, didYouMean(v, "starttls", "implicit", "none"))
	}
	return nil
}
