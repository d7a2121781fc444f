package demo

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Banner{})
	httpcaddyfile.RegisterHandlerDirective("outstatic_demo_banner", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		b := new(Banner)
		return b, b.UnmarshalCaddyfile(h.Dispenser)
	})
	// before the guard (which is before basic_auth): it sees the page as
	// the browser will
	httpcaddyfile.RegisterDirectiveOrder("outstatic_demo_banner", httpcaddyfile.Before, "redir")
}

// The banner's style sheet and script, served on the site's origin: the
// relay's pages allow style sheets and scripts from their own origin only
// (CSP 'self'), and the demo serves both on one.
const (
	BannerCSSPath = "/__demo/banner.css"
	BannerJSPath  = "/__demo/banner.js"
	// AvatarPath is the demo user's picture, so that the dashboard
	// loads none from GitHub's servers.
	AvatarPath = "/__demo/avatar.png"
)

// BannerText is what every page of the demo says at its foot.
const BannerText = "Demo: the repository " + RepoOwner + "/" + RepoName + " lives in memory on a stand-in for GitHub on this machine. " +
	"Nothing leaves it; it starts afresh at every run."

// bannerID is the banner element's id.
const bannerID = "outstatic-demo-banner"

// bannerHead goes before </head>, bannerBody right after <body ...>. The
// stock dashboard's React drops a foreign element from <body> when it
// hydrates, so the script puts the banner back whenever it is gone; on
// the relay's pages, which work without JavaScript, the element stays.
var (
	bannerHead = []byte(`<link rel="stylesheet" href="` + BannerCSSPath + `"><script src="` + BannerJSPath + `" defer></script>`)
	bannerBody = []byte(`<div id="` + bannerID + `" role="note">` + html.EscapeString(BannerText) + `</div>`)
)

// bannerCSS keeps the banner in the window's bottom left corner (below
// the dashboard's sidebar; its notices show bottom right), above
// everything, letting clicks through to what it covers.
const bannerCSS = `#` + bannerID + `{position:fixed;left:8px;bottom:8px;z-index:2147483647;` +
	`max-width:min(236px,calc(100% - 16px));box-sizing:border-box;padding:6px 10px;border-radius:6px;background:#fff7d6;color:#5c4400;` +
	`border:1px solid #e8c44d;font:12px/1.4 system-ui,sans-serif;text-align:left;pointer-events:none;box-shadow:0 1px 4px rgba(0,0,0,.15)}`

// bannerJS adds the banner when the page has none, and again each time
// it is removed.
var bannerJS = func() string {
	text, _ := json.Marshal(BannerText)
	return `(() => {
	const ensure = () => {
		if (!document.body || document.getElementById("` + bannerID + `")) return;
		const d = document.createElement("div");
		d.id = "` + bannerID + `";
		d.setAttribute("role", "note");
		d.textContent = ` + string(text) + `;
		document.body.appendChild(d);
	};
	const start = () => { ensure(); new MutationObserver(ensure).observe(document.body, {childList: true}); };
	if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
`
}()

var (
	openBody  = regexp.MustCompile(`(?i)<body[^>]*>`)
	closeHead = regexp.MustCompile(`(?i)</head\s*>`)
)

// maxBannerPage bounds the pages the banner is added to; a larger one
// passes as it is.
const maxBannerPage = 8 << 20

// Banner is the demo's notice on every page (http.handlers.outstatic_demo_banner,
// directive outstatic_demo_banner): it adds a line saying that the
// repository is the demo's to every HTML page that passes (the stock
// dashboard's and the relay's), and serves its style sheet and script,
// and the demo user's picture. It is registered only by the demo's program
// (cmd/outstatic-demo), never by the plugin.
type Banner struct{}

// CaddyModule returns the Caddy module information.
func (Banner) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.outstatic_demo_banner", New: func() caddy.Module { return new(Banner) }}
}

// UnmarshalCaddyfile reads the directive, which takes no arguments:
//
//	outstatic_demo_banner
func (b *Banner) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() || d.NextBlock(0) {
		return d.Err("outstatic_demo_banner takes no arguments")
	}
	return nil
}

// ServeHTTP serves the style sheet, or passes the request on and adds the
// banner to an HTML answer. Pages are asked for uncompressed, so that
// they can be read (everything is on loopback).
func (b *Banner) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	switch r.URL.Path {
	case BannerCSSPath:
		return serveAsset(w, "text/css; charset=utf-8", bannerCSS)
	case BannerJSPath:
		return serveAsset(w, "text/javascript; charset=utf-8", bannerJS)
	case AvatarPath:
		return serveAsset(w, "image/png", avatarPNG)
	}
	r.Header.Del("Accept-Encoding")
	var buf bytes.Buffer
	rec := caddyhttp.NewResponseRecorder(w, &buf, func(status int, h http.Header) bool {
		return status == http.StatusOK && r.Method == http.MethodGet && isHTML(h) && h.Get("Content-Encoding") == ""
	})
	if err := next.ServeHTTP(rec, r); err != nil {
		return err
	}
	if !rec.Buffered() {
		return nil
	}
	body := buf.Bytes()
	if len(body) <= maxBannerPage {
		body = withBanner(body)
	}
	rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rec.Header().Del("Etag")
	w.WriteHeader(rec.Status())
	_, err := w.Write(body)
	return err
}

// serveAsset answers one of the banner's files.
func serveAsset(w http.ResponseWriter, contentType, body string) error {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write([]byte(body))
	return err
}

// withBanner returns page with the banner's style sheet and script before
// its </head> and the banner right after its <body> tag; a page without
// both is returned as it is.
func withBanner(page []byte) []byte {
	head, body := closeHead.FindIndex(page), openBody.FindIndex(page)
	if head == nil || body == nil || body[0] < head[1] {
		return page
	}
	out := make([]byte, 0, len(page)+len(bannerHead)+len(bannerBody))
	out = append(out, page[:head[0]]...)
	out = append(out, bannerHead...)
	out = append(out, page[head[0]:body[1]]...)
	out = append(out, bannerBody...)
	return append(out, page[body[1]:]...)
}

// isHTML reports whether a response's Content-Type is HTML.
func isHTML(h http.Header) bool {
	ct := h.Get("Content-Type")
	return len(ct) >= 9 && bytes.EqualFold([]byte(ct[:9]), []byte("text/html"))
}

// Interface guards
var (
	_ caddyhttp.MiddlewareHandler = (*Banner)(nil)
	_ caddyfile.Unmarshaler       = (*Banner)(nil)
)
