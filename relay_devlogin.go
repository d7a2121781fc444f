package outstatic

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/identity"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// The development login (dev_login) logs anyone who reaches the relay in
// as any member: it must never be reachable from another machine. So it
// starts only when the relay's public URL and every listener of every
// HTTP server of the config are loopback addresses, as Caddy will listen
// on them (placeholders expanded): an IP network (tcp, udp and their 4
// and 6 forms) on a loopback IP, or on "localhost" when it resolves to
// loopback addresses only. A listener on all interfaces (Caddy's default,
// ":8080"), on any other address or name, a unix socket and a file
// descriptor (whoever listens on them is unknown: a proxy in front of a
// socket makes it public) are refused. The check cannot see a proxy that
// the machine runs in front of a loopback listener: docs/security.md says so.

// isLoopbackHost reports whether host (no port) names this machine only.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	// ASCII case only: strings.EqualFold would take "localhoſt" (long s)
	// for it.
	if identity.LowerASCII(host) == "localhost" {
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
// yet listening) when its handlers are provisioned, servers of its own
// making (automatic HTTPS's redirects) included.
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
			if err := checkDevLoginListener(ln, net.DefaultResolver.LookupIPAddr); err != nil {
				return fmt.Errorf("dev_login: server %s %v: bind it to 127.0.0.1 (Caddyfile: bind 127.0.0.1 in the site block), or remove dev_login", name, err)
			}
		}
	}
	return nil
}

// loopbackNetworks are the networks whose listeners have an IP address.
var loopbackNetworks = map[string]bool{"tcp": true, "tcp4": true, "tcp6": true, "udp": true, "udp4": true, "udp6": true}

// checkDevLoginListener refuses a listener address that is not loopback,
// read as Caddy reads it: its placeholders expanded (Caddy does that when
// it provisions the server, which may come after this relay), then
// parsed; lookup resolves "localhost" (net.DefaultResolver's, as Caddy's
// listen will).
func checkDevLoginListener(ln string, lookup func(context.Context, string) ([]net.IPAddr, error)) error {
	expanded, err := caddy.NewReplacer().ReplaceOrErr(ln, true, true)
	if err != nil {
		return fmt.Errorf("listener %q: %v", ln, err)
	}
	addr, err := caddy.ParseNetworkAddress(expanded)
	if err != nil {
		return fmt.Errorf("listener %q: %v", ln, err)
	}
	switch {
	case addr.IsUnixNetwork():
		return fmt.Errorf("listens on the unix socket %s, not a loopback address (a proxy in front of it would make dev_login public)", ln)
	case addr.IsFdNetwork():
		return fmt.Errorf("listens on the file descriptor %s, not a loopback address (it may be any socket)", ln)
	case !loopbackNetworks[addr.Network]:
		return fmt.Errorf("listens on %s, a %s network, which is not a loopback address", ln, addr.Network)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr.Host, "["), "]")
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("listens on %s, which is not a loopback address", ln)
		}
		return nil
	}
	if identity.LowerASCII(host) != "localhost" {
		return fmt.Errorf("listens on %s, which is not a loopback address", ln)
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := lookup(c, host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("listens on %s, and localhost does not resolve here (%v)", ln, err)
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return fmt.Errorf("listens on %s, and localhost resolves to %s, which is not a loopback address", ln, ip.IP)
		}
	}
	return nil
}
