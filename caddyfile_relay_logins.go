package outstatic

import (
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
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := onceSet{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.check(d); err != nil {
			return nil, err
		}
		switch name := d.Val(); name {
		case "issuer":
			if !d.AllArgs(&o.Issuer) {
				return nil, d.ArgErr()
			}
			if err := checkServiceURL(o.Issuer); err != nil {
				return nil, d.Errf("issuer: %v", err)
			}
		case "client_id":
			if !d.AllArgs(&o.ClientID) {
				return nil, d.ArgErr()
			}
		case "client_secret":
			s, err := parseSecret(d)
			if err != nil {
				return nil, err
			}
			o.ClientSecret = s
		default:
			return nil, d.Errf("unknown subdirective %q of oidc", name)
		}
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
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := onceSet{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.check(d); err != nil {
			return nil, err
		}
		switch name := d.Val(); name {
		case "smtp", "username", "from":
			var v string
			if !d.AllArgs(&v) {
				return nil, d.ArgErr()
			}
			*map[string]*string{"smtp": &e.SMTP, "username": &e.Username, "from": &e.From}[name] = v
		case "password":
			s, err := parseSecret(d)
			if err != nil {
				return nil, err
			}
			e.Password = s
		case "tls":
			if !d.AllArgs(&e.TLS) {
				return nil, d.ArgErr()
			}
			if e.TLS != "starttls" && e.TLS != "implicit" && e.TLS != "none" {
				return nil, d.Errf("tls %q: want starttls, implicit or none", e.TLS)
			}
		case "link_ttl":
			dur, err := parseDuration(d)
			if err != nil {
				return nil, err
			}
			if err := (login.Email{LinkTTL: time.Duration(dur)}).Check(); err != nil {
				return nil, d.Errf("%v", err)
			}
			e.LinkTTL = dur
		default:
			return nil, d.Errf("unknown subdirective %q of email", name)
		}
	}
	if err := e.check(); err != nil {
		return nil, blockErr(file, line, err.Error())
	}
	return e, nil
}
