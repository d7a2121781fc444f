package outstatic

import (
	"fmt"

	"github.com/caddy-outstatic/caddy-outstatic/guard"

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
		if err := checkOrigin(d.Val()); err != nil {
			return argError(d, "callback_origin", err)
		}
		g.CallbackOrigins = append(g.CallbackOrigins, d.Val())
	}
	subs := subdirectives{
		"callback_origin":   readList(d, &g.CallbackOrigins, checkOrigin),
		"strict_callbacks":  readFlag(d, &g.StrictCallbacks),
		"app_origin":        readList(d, &g.AppOrigins, checkAppOrigin),
		"bind_login":        readOnOff(d, &g.BindLogin),
		"bind_magic_link":   readOnOff(d, &g.BindMagicLink),
		"binding_ttl":       readDuration(d, &g.BindingTTL),
		"binding_secret":    readSecret(d, &g.BindingSecret),
		"api_key":           readSecret(d, &g.APIKey),
		"service":           readWord(d, &g.Service, checkServiceURL),
		"pro_header":        g.readHeaderName(d, func(h *guard.HeaderNames) *string { return &h.Pro }),
		"features_header":   g.readHeaderName(d, func(h *guard.HeaderNames) *string { return &h.Features }),
		"project_header":    g.readHeaderName(d, func(h *guard.HeaderNames) *string { return &h.Project }),
		"keep_app_routes":   readList(d, &g.KeepAppRoutes, checkKeepAppRoute),
		"token_store":       readTokenStore(d, &g.TokenStore),
		"refuse_pro_routes": readOnOff(d, &g.RefuseProRoutes),
	}
	g.KeyCheck.addSubdirectives(d, subs)
	if err := readBlock(d, "outstatic", subs, "callback_origin", "app_origin", "keep_app_routes"); err != nil {
		return err
	}
	if err := g.checkOrigins(); err != nil {
		return blockErr(file, line, err.Error())
	}
	return nil
}

// readHeaderName reads one of the header name subdirectives into the
// field of g.Headers that pick names.
func (g *Guard) readHeaderName(d *caddyfile.Dispenser, pick func(*guard.HeaderNames) *string) func() error {
	var v string
	read := readWord(d, &v, checkHeaderName)
	return func() error {
		if err := read(); err != nil {
			return err
		}
		if g.Headers == nil {
			g.Headers = new(guard.HeaderNames)
		}
		*pick(g.Headers) = v
		return nil
	}
}

// checkHeaderName accepts an HTTP token made of letters, digits and "-".
func checkHeaderName(v string) error {
	ok := v != ""
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok = ok && ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-')
	}
	if !ok {
		return fmt.Errorf("%q is not a header name", v)
	}
	return nil
}
