package outstatic

import (
	"strconv"

	"github.com/caddy-outstatic/caddy-outstatic/internal/suggest"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"

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
//	    operators <github-login-or-email>...   # may use the Projects page
//	    audit_retention <duration>       # default 90d
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
	subs := subdirectives{
		"upstream":         readWord(d, &rl.Upstream, checkServiceURL),
		"api_key":          readAppend(d, &rl.APIKeys, parseSecret),
		"callback_origin":  readList(d, &rl.CallbackOrigins, checkOrigin),
		"strict_callbacks": readFlag(d, &rl.StrictCallbacks),
		"dev_login":        thenCheck(d, readFlag(d, &rl.DevLogin), rl.checkDevLoginURL),
		"app_origin":       readList(d, &rl.AppOrigins, checkAppOrigin),
		"response_timeout": readDuration(d, &rl.ResponseTimeout),
		"session_ttl":      readDuration(d, &rl.SessionTTL),
		"refresh_ttl":      readDuration(d, &rl.RefreshTTL),
		"key_recheck":      readDuration(d, &rl.KeyRecheck),
		"start_limit":      readWith(d, &rl.StartLimit, parseStartLimit),
		"public_url":       thenCheck(d, readWord(d, &rl.PublicURL, nil), rl.checkPublicURL),
		"secret":           readSecret(d, &rl.Secret),
		"project":          readAppend(d, &rl.Projects, parseRelayProject),
		"operators":        readList(d, &rl.Operators, checkOperator),
		"audit_retention":  readDuration(d, &rl.AuditRetention),
		"ai":               readWith(d, &rl.AI, parseRelayAI),
		"github":           readWith(d, &rl.GitHub, parseRelayGitHub),
		"oidc":             readWith(d, &rl.OIDC, parseRelayOIDC),
		"email":            readWith(d, &rl.Email, parseRelayEmail),
		"github_app":       readWith(d, &rl.GitHubApp, parseRelayGitHubApp),
		"token_store":      readTokenStore(d, &rl.TokenStore),
		"storage":          readWith(d, &rl.Redis, parseStoreRedis),
	}
	rl.KeyCheck.addSubdirectives(d, subs)
	// api_key repeats, one per site, unlike the guard's.
	if err := readBlock(d, "outstatic_relay", subs, "api_key", "callback_origin", "app_origin", "project"); err != nil {
		return err
	}
	// What a whole block lacks is reported at its directive's line.
	if err := rl.Validate(); err != nil {
		return blockErr(file, line, err.Error())
	}
	return nil
}

// checkOperator judges one name of the operators line by the roster's
// rule.
func checkOperator(who string) error {
	_, err := roster.KeyOperators([]string{who})
	return err
}

// checkPublicURL checks public_url as it is read, and dev_login's need of
// a loopback one if dev_login came first.
func (rl *Relay) checkPublicURL() error {
	if _, err := rl.publicURL(); err != nil {
		return err
	}
	return rl.checkDevLoginURL()
}

// parseRelayGitHub reads the github block of native mode.
func parseRelayGitHub(d *caddyfile.Dispenser) (*RelayGitHub, error) {
	gh := new(RelayGitHub)
	file, line := d.File(), d.Line()
	err := readArglessBlock(d, "github", subdirectives{
		"client_id":     readWord(d, &gh.ClientID, nil),
		"client_secret": readSecret(d, &gh.ClientSecret),
		"base_url":      readWord(d, &gh.BaseURL, checkServiceURL),
		"api_url":       readWord(d, &gh.APIURL, checkServiceURL),
		"graphql_url":   readWord(d, &gh.GraphQLURL, checkServiceURL),
	})
	if err != nil {
		return nil, err
	}
	// What the block lacks is reported at its first line.
	if err := gh.check(); err != nil {
		return nil, blockErr(file, line, err.Error())
	}
	return gh, nil
}

// parseRelayGitHubApp reads the github_app block of native mode.
func parseRelayGitHubApp(d *caddyfile.Dispenser) (*RelayGitHubApp, error) {
	app := new(RelayGitHubApp)
	file, line := d.File(), d.Line()
	err := readArglessBlock(d, "github_app", subdirectives{
		"app_id":          readPositiveInt(d, &app.AppID),
		"installation_id": readPositiveInt(d, &app.InstallationID),
		"private_key":     readSecret(d, &app.PrivateKey),
	})
	if err != nil {
		return nil, err
	}
	if err := app.check(); err != nil {
		return nil, blockErr(file, line, err.Error())
	}
	return app, nil
}

// readPositiveInt reads the one argument of a subdirective, a number
// above zero, into *to.
func readPositiveInt(d *caddyfile.Dispenser, to *int64) func() error {
	return func() error {
		name := d.Val()
		v, err := oneArg(d)
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return d.Errf("%s %q is not a positive number", name, v)
		}
		*to = n
		return nil
	}
}

// parseStartLimit reads "start_limit <burst> <every>" or "start_limit off".
func parseStartLimit(d *caddyfile.Dispenser) (*RelayStartLimit, error) {
	args := d.RemainingArgs()
	if len(args) == 1 && args[0] == "off" {
		return &RelayStartLimit{Off: true}, nil
	}
	if len(args) != 2 {
		hint := ""
		if len(args) == 1 {
			hint = suggest.DidYouMean(args[0], "off")
		}
		return nil, d.Errf("start_limit: want <burst> <every> (e.g. start_limit 30 2s) or off%s", hint)
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
