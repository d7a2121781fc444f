package doctor

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// probeError is an error code the guard refuses on a callback (it is no
// code of the protocol's), and answers itself: a stock site would pass it
// on to its dashboard instead.
const probeError = "doctor-probe"

// origins checks each callback origin's form, and that a request to its
// callback route is answered by the guard.
func (r *run) origins(ctx context.Context, g Guard) {
	if len(g.CallbackOrigins) == 0 && g.APIKey == "" {
		r.finding("callback origin", "(none)", "the guard in server "+g.Server+" has no callback_origin",
			"add callback_origin https://<your site>/outstatic")
	}
	for _, raw := range g.CallbackOrigins {
		o, err := validate.ParseOrigin(raw)
		if err != nil {
			r.finding("callback origin", raw, err.Error(), "write it as https://<your site>[/<base path>]/outstatic, no query or fragment")
			continue
		}
		u := o.CallbackURL(protocol.RouteCallback, true) + "?error=" + probeError
		res, err := r.do(ctx, "GET", u, nil)
		switch {
		case err != nil:
			r.finding("callback origin", raw, "unreachable: "+err.Error(),
				"point "+o.Host+" at this Caddy and serve it in a site block with the outstatic directive")
		case res.StatusCode/100 == 3 && strings.Contains(res.Header.Get("Location"), "error=auth-callback-failed"):
			r.ok("callback origin", raw, "valid, and answered by the guard")
		default:
			r.finding("callback origin", raw, fmt.Sprintf("its callback route is not answered by the guard (status %d)", res.StatusCode),
				"serve "+o.SiteOrigin()+" from the site block that has the outstatic directive, ahead of the site")
		}
	}
}

// siteURL checks that the site's public URL is the site of a callback
// origin (whose reachability through the guard origins checks).
func (r *run) siteURL() {
	u, err := url.Parse(r.d.SiteURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.finding("site", r.d.SiteURL, "not an absolute http(s) URL", "give --site as the URL visitors use, e.g. https://blog.example.com")
		return
	}
	want := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, g := range r.d.Guards {
		for _, raw := range g.CallbackOrigins {
			if o, err := validate.ParseOrigin(raw); err == nil && o.MatchesSite(strings.ToLower(u.Scheme), strings.ToLower(u.Host)) {
				r.ok("site", r.d.SiteURL, "is the site of callback origin "+raw)
				return
			}
		}
	}
	r.finding("site", r.d.SiteURL, "no guard has a callback origin for "+want,
		"add callback_origin "+want+strings.TrimSuffix(u.Path, "/")+"/outstatic to the site's outstatic block")
}

// order checks that the guard sees requests before the proxy to the site.
func (r *run) order(g Guard) {
	if g.ProxyFirst {
		r.finding("order", "server "+g.Server, "reverse_proxy runs before the outstatic guard, so the site answers unchecked",
			"keep the default directive order (outstatic runs before reverse_proxy), or list outstatic first inside route { }")
		return
	}
	if len(g.Upstreams) > 0 {
		r.ok("order", "server "+g.Server, "the guard runs before reverse_proxy")
	}
}

// listenAddress checks that the address the site names itself by (its
// listen address behind the proxy, PROTOCOL.md §6) is an app_origin.
func (r *run) listenAddress(g Guard) {
	hosts := map[string]bool{}
	for _, h := range protocol.DefaultAppHosts {
		if len(g.AppOrigins) == 0 {
			hosts[h] = true
		}
	}
	for _, raw := range g.AppOrigins {
		if u, err := url.Parse(raw); err == nil {
			hosts[strings.ToLower(u.Host)] = true
		}
	}
	for _, dial := range g.Upstreams {
		host, port, err := net.SplitHostPort(dial)
		if err != nil {
			continue
		}
		// `next start` names itself localhost:<port> whatever it binds.
		names := []string{"localhost:" + port, strings.ToLower(net.JoinHostPort(host, port))}
		if hosts[names[0]] || hosts[names[1]] {
			r.ok("app origin", dial, "the site's listen address is covered by app_origin")
			continue
		}
		r.finding("app origin", dial, "the site behind reverse_proxy names itself http://localhost:"+port+", which no app_origin covers",
			"add app_origin http://localhost:"+port+" to the outstatic block")
	}
}

// isPrivateHost reports whether host is loopback, private, link-local or
// a name without a dot: not reachable from a visitor's browser.
func isPrivateHost(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
	}
	h := strings.ToLower(host)
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || !strings.Contains(h, ".") || strings.HasSuffix(h, ".internal") || strings.HasSuffix(h, ".local")
}

// apiURL checks the site's OUTSTATIC_API_URL: set, without a trailing
// slash, reachable from a visitor's browser for a public site, and
// answering the dashboard's CORS preflight for every callback origin.
func (r *run) apiURL(ctx context.Context) {
	raw := r.d.SiteEnv["OUTSTATIC_API_URL"]
	if raw == "" {
		r.finding("OUTSTATIC_API_URL", "(unset)", "the site calls "+protocol.DefaultService,
			"set OUTSTATIC_API_URL to the relay's public URL (its public_url), or to the forward relay's")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.finding("OUTSTATIC_API_URL", raw, "not an absolute http(s) URL", "set it to the relay's public URL, e.g. https://blog.example.com/relay")
		return
	}
	if strings.HasSuffix(raw, "/") {
		r.finding("OUTSTATIC_API_URL", raw, "ends with /, which breaks four of the site's calls (//outstatic/...)", "remove the trailing /")
	}
	var origins []validate.Origin
	for _, g := range r.d.Guards {
		for _, o := range g.CallbackOrigins {
			if p, err := validate.ParseOrigin(o); err == nil {
				origins = append(origins, p)
			}
		}
	}
	private := isPrivateHost(u.Hostname())
	for _, o := range origins {
		if private && !isPrivateHost(o.Host) {
			r.finding("OUTSTATIC_API_URL", raw, "the browser calls it from "+o.SiteOrigin()+", but "+u.Hostname()+" is a private or loopback address",
				"serve the relay on a public URL (e.g. handle_path /relay/* on the site's host) and set OUTSTATIC_API_URL to it")
			return
		}
	}
	if !private {
		r.ok("OUTSTATIC_API_URL", raw, "a public address")
	}
	base := strings.TrimRight(raw, "/")
	for _, o := range origins {
		res, err := r.do(ctx, "OPTIONS", base+protocol.Parser.Path, map[string]string{
			"Origin": o.SiteOrigin(), "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization,content-type,x-project-id"})
		if err != nil {
			r.finding("CORS", o.SiteOrigin(), "the preflight to "+base+protocol.Parser.Path+" failed: "+err.Error(),
				"make OUTSTATIC_API_URL reachable from the browser")
			continue
		}
		allow := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
		if res.Header.Get("Access-Control-Allow-Origin") != o.SiteOrigin() || !strings.Contains(allow, "authorization") || !strings.Contains(allow, "x-project-id") {
			r.finding("CORS", o.SiteOrigin(), fmt.Sprintf("the parser's preflight does not allow this site (status %d, allow-origin %q)", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin")),
				"list "+o.String()+" as a callback_origin of the relay's project, and point OUTSTATIC_API_URL at that relay")
			continue
		}
		r.ok("CORS", o.SiteOrigin(), "the parser answers the dashboard's preflight")
	}
}
