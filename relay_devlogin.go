package outstatic

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// The development login (dev_login) logs anyone who reaches the relay in
// as any member: it must never be reachable from another machine. So it
// starts only when the relay's public URL and every listener of every
// HTTP server of the config are loopback addresses; a listener on all
// interfaces (Caddy's default, ":8080") is refused.

// isLoopbackHost reports whether host (no port) names this machine only.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkDevLoginURL is the one check of public_url under dev_login, for
// Validate and the Caddyfile.
func (rl *Relay) checkDevLoginURL() error {
	if !rl.DevLogin || rl.PublicURL == "" {
		return nil
	}
	u, err := url.Parse(rl.PublicURL)
	if err != nil || !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("dev_login needs a loopback public_url (localhost, 127.0.0.1 or [::1]), not %s", rl.PublicURL)
	}
	return nil
}

// checkDevLoginListeners refuses dev_login unless every listener of the
// HTTP app this relay is provisioned in is on a loopback address. The app
// is the relay's ancestor in ctx: its servers are configured (though not
// yet listening) when its handlers are provisioned.
func checkDevLoginListeners(ctx caddy.Context) error {
	var app *caddyhttp.App
	for _, m := range ctx.Modules() {
		if a, ok := m.(*caddyhttp.App); ok {
			app = a
		}
	}
	if app == nil {
		return errors.New("dev_login: the relay is not inside Caddy's HTTP app, so its listeners cannot be checked")
	}
	names := make([]string, 0, len(app.Servers))
	for name := range app.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, ln := range app.Servers[name].Listen {
			addr, err := caddy.ParseNetworkAddress(ln)
			if err != nil {
				return fmt.Errorf("dev_login: server %s: listener %q: %v", name, ln, err)
			}
			if addr.IsUnixNetwork() || addr.IsFdNetwork() {
				continue
			}
			if !isLoopbackHost(addr.Host) {
				return fmt.Errorf("dev_login: server %s listens on %s, which is not a loopback address: bind it to 127.0.0.1 (Caddyfile: bind 127.0.0.1 in the site block), or remove dev_login", name, ln)
			}
		}
	}
	return nil
}
