package outstatic

import (
	"fmt"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/guard"
	"github.com/caddy-outstatic/caddy-outstatic/validate"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("outstatic", parseGuard)
	// The guard must see a request before anything answers it or sends it
	// upstream, and after rewrite/uri so it checks the path the app gets.
	httpcaddyfile.RegisterDirectiveOrder("outstatic", httpcaddyfile.Before, "basic_auth")

	httpcaddyfile.RegisterHandlerDirective("outstatic_relay", parseRelay)
	// The relay answers every request it gets, like respond.
	httpcaddyfile.RegisterDirectiveOrder("outstatic_relay", httpcaddyfile.Before, "respond")
}

func parseGuard(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	g := new(Guard)
	err := g.UnmarshalCaddyfile(h.Dispenser)
	return g, err
}

// UnmarshalCaddyfile sets up the guard from Caddyfile tokens. Syntax:
//
//	outstatic [<callback_origin>...] {
//	    callback_origin <url>...
//	    strict_callbacks
//	    app_origin <url>...
//	    bind_login on|off
//	    bind_magic_link on|off
//	    binding_ttl <duration>
//	    binding_secret <secret>
//	    api_key <secret>
//	    service <url>
//	    cache_ttl <duration>
//	    negative_ttl <duration>
//	    stale_grace <duration>
//	    check_timeout <duration>
//	    pro_header <name>
//	    features_header <name>
//	    project_header <name>
//	    keep_app_routes login|google-login|magic-link...
//	    refuse_pro_routes on|off
//	    token_store caddy|redis <address>... {   # the redis block: see parseStoreRedis
//	        username <acl-user>
//	        password <secret>
//	        db <n>
//	        prefix <prefix>
//	        tls {
//	            ca_file <path>
//	            server_name <name>
//	        }
//	        sentinel <master-name> {
//	            password <secret>
//	        }
//	        cluster
//	    }
//	}
//
// callback_origin may repeat; every URL is checked when the Caddyfile is
// adapted. Secrets belong in {env.*} or {file.*} placeholders, which are
// expanded when the config loads and so never appear in adapted JSON.
func (g *Guard) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	file, line := d.File(), d.Line()
	for d.NextArg() {
		if err := g.addOrigin(d, d.Val()); err != nil {
			return err
		}
	}
	seen := onceSet{}
	for d.NextBlock(0) {
		if err := seen.check(d, "callback_origin", "app_origin", "keep_app_routes"); err != nil {
			return err
		}
		switch d.Val() {
		case "callback_origin":
			list, err := parseURLList(d, checkOrigin)
			if err != nil {
				return err
			}
			g.CallbackOrigins = append(g.CallbackOrigins, list...)
		case "strict_callbacks":
			if d.NextArg() {
				return d.ArgErr()
			}
			g.StrictCallbacks = true
		case "app_origin":
			list, err := parseURLList(d, checkAppOrigin)
			if err != nil {
				return err
			}
			g.AppOrigins = append(g.AppOrigins, list...)
		case "bind_login":
			b, err := parseOnOff(d)
			if err != nil {
				return err
			}
			g.BindLogin = &b
		case "bind_magic_link":
			b, err := parseOnOff(d)
			if err != nil {
				return err
			}
			g.BindMagicLink = &b
		case "binding_ttl":
			dur, err := parseDuration(d)
			if err != nil {
				return err
			}
			g.BindingTTL = dur
		case "binding_secret":
			s, err := parseSecret(d)
			if err != nil {
				return err
			}
			g.BindingSecret = s
		case "api_key":
			s, err := parseSecret(d)
			if err != nil {
				return err
			}
			g.APIKey = s
		case "service":
			if !d.NextArg() {
				return d.ArgErr()
			}
			if err := checkServiceURL(d.Val()); err != nil {
				return d.Errf("%v", err)
			}
			g.Service = d.Val()
			if d.NextArg() {
				return d.ArgErr()
			}
		case "pro_header", "features_header", "project_header":
			name := d.Val()
			if !d.NextArg() {
				return d.ArgErr()
			}
			v := d.Val()
			if d.NextArg() {
				return d.ArgErr()
			}
			if !validHeaderName(v) {
				return d.Errf("%s: %q is not a header name", name, v)
			}
			if g.Headers == nil {
				g.Headers = new(guard.HeaderNames)
			}
			*map[string]*string{
				"pro_header": &g.Headers.Pro, "features_header": &g.Headers.Features, "project_header": &g.Headers.Project,
			}[name] = v
		case "keep_app_routes":
			if !d.NextArg() {
				return d.ArgErr()
			}
			for {
				if err := checkKeepAppRoute(d.Val()); err != nil {
					return d.Errf("%v", err)
				}
				g.KeepAppRoutes = append(g.KeepAppRoutes, d.Val())
				if !d.NextArg() {
					break
				}
			}
		case "token_store":
			r, err := parseStoreRedis(d)
			if err != nil {
				return err
			}
			g.TokenStore = &SharedStore{Redis: r}
		case "refuse_pro_routes":
			b, err := parseOnOff(d)
			if err != nil {
				return err
			}
			g.RefuseProRoutes = &b
		default:
			if ok, err := g.KeyCheck.unmarshalSubdirective(d); ok {
				if err != nil {
					return err
				}
				continue
			}
			return d.Errf("unknown subdirective %q of outstatic", d.Val())
		}
	}
	if err := g.checkOrigins(); err != nil {
		return blockErr(file, line, err.Error())
	}
	return nil
}

// onceSet refuses a single-valued subdirective given twice in one block:
// the second would silently replace the first. Subdirectives that fill a
// list (named in the singular, filling a plural JSON key, as is Caddy's
// convention) may repeat.
type onceSet map[string]bool

// check refuses d's current subdirective if it was seen before in the
// block, unless it is one of repeatable.
func (s onceSet) check(d *caddyfile.Dispenser, repeatable ...string) error {
	name := d.Val()
	for _, r := range repeatable {
		if name == r {
			return nil
		}
	}
	if s[name] {
		return d.Errf("%s is given twice; it takes one value", name)
	}
	s[name] = true
	return nil
}

// unmarshalSubdirective parses one of the KeyCheck subdirectives; it
// returns false for any other.
func (k *KeyCheck) unmarshalSubdirective(d *caddyfile.Dispenser) (bool, error) {
	var field *caddy.Duration
	switch d.Val() {
	case "cache_ttl":
		field = &k.CacheTTL
	case "negative_ttl":
		field = &k.NegativeTTL
	case "stale_grace":
		field = &k.StaleGrace
	case "check_timeout":
		field = &k.CheckTimeout
	default:
		return false, nil
	}
	dur, err := parseDuration(d)
	if err != nil {
		return true, err
	}
	*field = dur
	return true, nil
}

// parseURLList reads the one or more URL arguments of a subdirective,
// checking each, so that an error names the line and the rule broken.
func parseURLList(d *caddyfile.Dispenser, check func(string) error) ([]string, error) {
	name := d.Val()
	var list []string
	for d.NextArg() {
		if err := check(d.Val()); err != nil {
			return nil, d.Errf("%s: %v", name, err)
		}
		list = append(list, d.Val())
	}
	if len(list) == 0 {
		return nil, d.ArgErr()
	}
	return list, nil
}

func checkOrigin(raw string) error {
	_, err := validate.ParseOrigin(raw)
	return err
}

func checkAppOrigin(raw string) error {
	_, err := parseAppOrigin(raw)
	return err
}

func (g *Guard) addOrigin(d *caddyfile.Dispenser, raw string) error {
	if _, err := validate.ParseOrigin(raw); err != nil {
		return d.Errf("callback_origin: %v", err)
	}
	g.CallbackOrigins = append(g.CallbackOrigins, raw)
	return nil
}

// parseOnOff reads the single on|off argument of a switch.
func parseOnOff(d *caddyfile.Dispenser) (bool, error) {
	name := d.Val()
	var args []string
	for d.NextArg() {
		args = append(args, d.Val())
	}
	if len(args) != 1 {
		return false, d.Errf("%s takes one argument, on or off", name)
	}
	switch args[0] {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, d.Errf("%s: %q is neither on nor off", name, args[0])
}

func parseDuration(d *caddyfile.Dispenser) (caddy.Duration, error) {
	name := d.Val()
	if !d.NextArg() {
		return 0, d.ArgErr()
	}
	v := d.Val()
	if d.NextArg() {
		return 0, d.ArgErr()
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil || dur <= 0 {
		return 0, d.Errf("%s: %q is not a positive duration such as 10m", name, v)
	}
	return caddy.Duration(time.Duration(dur)), nil
}

// parseSecret reads a secret argument. A literal secret or a {$VAR}
// (expanded by the Caddyfile adapter) would land in the adapted JSON, so
// only runtime placeholders are taken.
func parseSecret(d *caddyfile.Dispenser) (string, error) {
	name := d.Val()
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	if !isRuntimePlaceholder(v) {
		return "", d.Errf("%s must be an {env.NAME} or {file.PATH} placeholder, so the secret stays out of the adapted config", name)
	}
	return v, nil
}

// isRuntimePlaceholder reports whether v is exactly one {env.*} or {file.*}
// placeholder (validate.SecretPlaceholder).
func isRuntimePlaceholder(v string) bool { return validate.SecretPlaceholder(v) }

// validHeaderName accepts an HTTP token made of letters, digits and "-".
func validHeaderName(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// blockErr reports what a whole block lacks at the line of its directive,
// in the form of the dispenser's own errors.
func blockErr(file string, line int, msg string) error {
	return fmt.Errorf("%s:%d - Error during parsing: %s", file, line, msg)
}
