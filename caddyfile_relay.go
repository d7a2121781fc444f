package outstatic

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func parseRelay(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	rl := new(Relay)
	err := rl.UnmarshalCaddyfile(h.Dispenser)
	return rl, err
}

// UnmarshalCaddyfile sets up the relay from Caddyfile tokens. Syntax:
//
//	outstatic_relay {
//	    # forward mode
//	    upstream <url>
//	    api_key <secret>                 # repeatable, one per site
//	    callback_origin <url>...
//	    strict_callbacks
//	    response_timeout <duration>
//	    cache_ttl <duration>
//	    negative_ttl <duration>
//	    stale_grace <duration>
//	    check_timeout <duration>
//
//	    # native mode (no upstream)
//	    public_url <url>
//	    project <slug> {
//	        callback_origin <url>...
//	        strict_callbacks
//	        repo <owner>/<name>
//	        plan pro|free
//	        member <github-login-or-email> <role>
//	        key_sha256 <hex>
//	        id <project_id>
//	        account <account_slug>
//	        monorepo_path <path>
//	        ai { ... }                   # replaces the relay's for this project
//	    }
//	    ai {
//	        base_url <url>               # any OpenAI-compatible API; default https://api.openai.com/v1
//	        api_key <secret>
//	        model <name>
//	        rate <n>/<duration>          # per project; default 30/1m
//	    }
//	    oidc <name> {                    # answers google-exchange
//	        issuer <url>
//	        client_id <id>
//	        client_secret <secret>
//	    }
//	    email {                          # answers request-magic-link
//	        smtp <host:port>
//	        username <name>
//	        password <secret>
//	        from <address>
//	        tls starttls|implicit|none
//	        link_ttl <duration>
//	    }
//	    github {
//	        client_id <id>
//	        client_secret <secret>
//	        base_url <url>
//	        api_url <url>
//	        graphql_url <url>
//	    }
//	    github_app {                     # repository access for sessions with no GitHub token
//	        app_id <id>
//	        private_key <secret>
//	        installation_id <id>         # default: found from each project's repository
//	    }
//	    secret <secret>
//	    storage caddy|redis <address>... { ... }   # the redis block: see parseStoreRedis
//	    session_ttl <duration>
//	    refresh_ttl <duration>
//	    dev_login                        # development login; loopback only
//	    key_recheck <duration>
//	    start_limit <burst> <every> | off
//
//	    # both
//	    app_origin <url>...
//	    token_store caddy|redis <address>... { ... }   # shared with guards in other instances
//	}
//
// Serve it where the browser can reach it, e.g. on the site's host:
//
//	handle_path /relay/* {
//	    outstatic_relay { ... }
//	}
//
// and set the site's OUTSTATIC_API_URL to https://<site>/relay.
func (rl *Relay) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	file, line := d.File(), d.Line()
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := onceSet{}
	for d.NextBlock(0) {
		// api_key repeats, one per site, unlike the guard's.
		if err := seen.check(d, "api_key", "callback_origin", "app_origin", "project"); err != nil {
			return err
		}
		switch d.Val() {
		case "upstream":
			if !d.NextArg() {
				return d.ArgErr()
			}
			if err := checkServiceURL(d.Val()); err != nil {
				return d.Errf("upstream: %v", err)
			}
			rl.Upstream = d.Val()
			if d.NextArg() {
				return d.ArgErr()
			}
		case "api_key":
			s, err := parseSecret(d)
			if err != nil {
				return err
			}
			rl.APIKeys = append(rl.APIKeys, s)
		case "callback_origin":
			list, err := parseURLList(d, checkOrigin)
			if err != nil {
				return err
			}
			rl.CallbackOrigins = append(rl.CallbackOrigins, list...)
		case "strict_callbacks":
			if d.NextArg() {
				return d.ArgErr()
			}
			rl.StrictCallbacks = true
		case "dev_login":
			if d.NextArg() {
				return d.ArgErr()
			}
			rl.DevLogin = true
			if err := rl.checkDevLoginURL(); err != nil {
				return d.Errf("%v", err)
			}
		case "app_origin":
			list, err := parseURLList(d, checkAppOrigin)
			if err != nil {
				return err
			}
			rl.AppOrigins = append(rl.AppOrigins, list...)
		case "response_timeout", "session_ttl", "refresh_ttl", "key_recheck":
			field := map[string]*caddy.Duration{"response_timeout": &rl.ResponseTimeout,
				"session_ttl": &rl.SessionTTL, "refresh_ttl": &rl.RefreshTTL, "key_recheck": &rl.KeyRecheck}[d.Val()]
			dur, err := parseDuration(d)
			if err != nil {
				return err
			}
			*field = dur
		case "start_limit":
			lim, err := parseStartLimit(d)
			if err != nil {
				return err
			}
			rl.StartLimit = lim
		case "public_url":
			if !d.AllArgs(&rl.PublicURL) {
				return d.ArgErr()
			}
			if _, err := rl.publicURL(); err != nil {
				return d.Errf("%v", err)
			}
			if err := rl.checkDevLoginURL(); err != nil {
				return d.Errf("%v", err)
			}
		case "secret":
			s, err := parseSecret(d)
			if err != nil {
				return err
			}
			rl.Secret = s
		case "project":
			p, err := parseRelayProject(d)
			if err != nil {
				return err
			}
			rl.Projects = append(rl.Projects, p)
		case "ai":
			a, err := parseRelayAI(d)
			if err != nil {
				return err
			}
			rl.AI = a
		case "github":
			gh, err := parseRelayGitHub(d)
			if err != nil {
				return err
			}
			rl.GitHub = gh
		case "oidc":
			o, err := parseRelayOIDC(d)
			if err != nil {
				return err
			}
			rl.OIDC = o
		case "email":
			e, err := parseRelayEmail(d)
			if err != nil {
				return err
			}
			rl.Email = e
		case "github_app":
			app, err := parseRelayGitHubApp(d)
			if err != nil {
				return err
			}
			rl.GitHubApp = app
		case "token_store":
			r, err := parseStoreRedis(d)
			if err != nil {
				return err
			}
			rl.TokenStore = &SharedStore{Redis: r}
		case "storage":
			r, err := parseStoreRedis(d)
			if err != nil {
				return err
			}
			rl.Redis = r
		default:
			if ok, err := rl.KeyCheck.unmarshalSubdirective(d); ok {
				if err != nil {
					return err
				}
				continue
			}
			return d.Errf("unknown subdirective %q of outstatic_relay", d.Val())
		}
	}
	// What a whole block lacks is reported at its directive's line.
	if err := rl.Validate(); err != nil {
		return blockErr(file, line, err.Error())
	}
	return nil
}

// parseRelayGitHub reads the github block of native mode.
func parseRelayGitHub(d *caddyfile.Dispenser) (*RelayGitHub, error) {
	gh := new(RelayGitHub)
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := onceSet{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.check(d); err != nil {
			return nil, err
		}
		switch name := d.Val(); name {
		case "client_id":
			if !d.AllArgs(&gh.ClientID) {
				return nil, d.ArgErr()
			}
		case "client_secret":
			s, err := parseSecret(d)
			if err != nil {
				return nil, err
			}
			gh.ClientSecret = s
		case "base_url", "api_url", "graphql_url":
			var v string
			if !d.AllArgs(&v) {
				return nil, d.ArgErr()
			}
			if err := checkServiceURL(v); err != nil {
				return nil, d.Errf("%s: %v", name, err)
			}
			*map[string]*string{"base_url": &gh.BaseURL, "api_url": &gh.APIURL, "graphql_url": &gh.GraphQLURL}[name] = v
		default:
			return nil, d.Errf("unknown subdirective %q of github", name)
		}
	}
	if err := gh.check(); err != nil {
		return nil, d.Errf("%v", err)
	}
	return gh, nil
}

// parseRelayGitHubApp reads the github_app block of native mode.
func parseRelayGitHubApp(d *caddyfile.Dispenser) (*RelayGitHubApp, error) {
	app := new(RelayGitHubApp)
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	seen := onceSet{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := seen.check(d); err != nil {
			return nil, err
		}
		switch name := d.Val(); name {
		case "app_id", "installation_id":
			var v string
			if !d.AllArgs(&v) {
				return nil, d.ArgErr()
			}
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				return nil, d.Errf("%s %q is not a positive number", name, v)
			}
			*map[string]*int64{"app_id": &app.AppID, "installation_id": &app.InstallationID}[name] = id
		case "private_key":
			s, err := parseSecret(d)
			if err != nil {
				return nil, err
			}
			app.PrivateKey = s
		default:
			return nil, d.Errf("unknown subdirective %q of github_app", name)
		}
	}
	if err := app.check(); err != nil {
		return nil, d.Errf("%v", err)
	}
	return app, nil
}

// parseStartLimit reads "start_limit <burst> <every>" or "start_limit off".
func parseStartLimit(d *caddyfile.Dispenser) (*RelayStartLimit, error) {
	args := d.RemainingArgs()
	if len(args) == 1 && args[0] == "off" {
		return &RelayStartLimit{Off: true}, nil
	}
	if len(args) != 2 {
		return nil, d.Err("start_limit: want <burst> <every> (e.g. start_limit 30 2s) or off")
	}
	burst, err := strconv.Atoi(args[0])
	if err != nil {
		return nil, d.Errf("start_limit: burst %q is not a number", args[0])
	}
	every, err := caddy.ParseDuration(args[1])
	if err != nil {
		return nil, d.Errf("start_limit: every %q is not a duration", args[1])
	}
	lim := &RelayStartLimit{Burst: burst, Every: caddy.Duration(every)}
	if err := lim.check(); err != nil {
		return nil, d.Errf("%v", err)
	}
	return lim, nil
}
