package validate

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCallbackQuery checks CheckCallbackQuery's promises on any query: an
// accepted exchange token is exactly the one value of the only parameter,
// in the token charset; an accepted error code is a known one; no accepted
// query has a repeated or unknown parameter.
func FuzzCallbackQuery(f *testing.F) {
	for _, seed := range []string{
		"exchange_token=abcdefgh12345", "error=session-error", "code=abc&state=def",
		"error=access_denied&error_description=x&state=s", "exchange_token=a&exchange_token=b",
		"exchange_token=%41%42%43%44%45%46%47%48", "error=%3Cscript%3E", "a=b;c=d", "",
	} {
		f.Add(RouteCallback, seed)
		f.Add(RouteMagicLinkCallback, seed)
	}
	f.Fuzz(func(t *testing.T, route, raw string) {
		if route != RouteCallback && route != RouteMagicLinkCallback {
			return
		}
		q, err := CheckCallbackQuery(route, raw)
		if err != nil {
			return
		}
		vals, perr := url.ParseQuery(raw)
		if perr != nil {
			t.Fatalf("accepted %q, which net/url cannot parse: %v", raw, perr)
		}
		for name, v := range vals {
			if len(v) != 1 {
				t.Fatalf("accepted %q with %s repeated", raw, name)
			}
			switch name {
			case "exchange_token", "error", "code", "state", "error_description", "error_uri":
			default:
				t.Fatalf("accepted %q with unknown parameter %q", raw, name)
			}
		}
		switch q.Kind {
		case CallbackExchange:
			if len(vals) != 1 || vals.Get("exchange_token") != q.ExchangeToken {
				t.Fatalf("accepted %q as token %q", raw, q.ExchangeToken)
			}
			for i := 0; i < len(q.ExchangeToken); i++ {
				if !isTokenByte(q.ExchangeToken[i]) {
					t.Fatalf("token %q has byte %q", q.ExchangeToken, q.ExchangeToken[i])
				}
			}
		case CallbackError:
			if !KnownErrorCodes[q.Error] || vals.Get("error") != q.Error {
				t.Fatalf("accepted %q as error %q", raw, q.Error)
			}
		case CallbackCode:
			if route != RouteCallback || vals.Get("code") == "" || vals.Get("state") == "" {
				t.Fatalf("accepted %q as code and state on %s", raw, route)
			}
		default:
			t.Fatalf("accepted %q with kind %d", raw, q.Kind)
		}
	})
}

// FuzzReturnURL checks that an accepted return URL stays on a callback
// origin's site: it starts with that site's origin and a "/", and holds no
// character a browser would read as a new authority or a fragment.
func FuzzReturnURL(f *testing.F) {
	o, err := ParseOrigin("https://blog.example.com/docs/outstatic")
	if err != nil {
		f.Fatal(err)
	}
	targets := Targets{Origins: []Origin{o}}
	for _, seed := range []string{
		"https://blog.example.com/docs/outstatic", "https://blog.example.com/docs?x=1",
		"https://blog.example.com//evil.example", "https://blog.example.com\\@evil.example/",
		"https://blog.example.com/docs/../x", "https://evil.example/docs", "//evil.example/docs",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := targets.CheckReturnURL(raw)
		if err != nil {
			return
		}
		rest, ok := strings.CutPrefix(got, "https://blog.example.com/docs")
		if !ok || (rest != "" && rest[0] != '/' && rest[0] != '?') {
			t.Fatalf("accepted %q as %q, outside the site root", raw, got)
		}
		path, _, _ := strings.Cut(got[len("https://"):], "?")
		if strings.ContainsAny(got, "\\# \t\r\n") || strings.Contains(path, "//") {
			t.Fatalf("accepted %q as %q", raw, got)
		}
		if again, err := targets.CheckReturnURL(got); err != nil || again != got {
			t.Fatalf("canonical %q does not check as itself: %q %v", got, again, err)
		}
	})
}
