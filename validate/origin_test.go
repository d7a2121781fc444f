package validate

import (
	"strings"
	"testing"
)

func TestParseOriginAccepts(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	tests := []struct {
		raw  string
		want Origin
	}{
		{"https://blog.example.com/outstatic", Origin{"https", "blog.example.com", "", "/outstatic"}},
		{"HTTPS://Blog.Example.COM:443/outstatic", Origin{"https", "blog.example.com", "", "/outstatic"}},
		{"http://localhost:3000/outstatic", Origin{"http", "localhost", "3000", "/outstatic"}},
		{"http://localhost:80/outstatic", Origin{"http", "localhost", "", "/outstatic"}},
		{"https://x.com:80/outstatic", Origin{"https", "x.com", "80", "/outstatic"}},
		{"http://x.com:443/outstatic", Origin{"http", "x.com", "443", "/outstatic"}},
		{"https://x.com/blog/outstatic", Origin{"https", "x.com", "", "/blog/outstatic"}},
		{"https://x.com/outstatic/outstatic", Origin{"https", "x.com", "", "/outstatic/outstatic"}},
		{"http://[::1]:3000/outstatic", Origin{"http", "[::1]", "3000", "/outstatic"}},
		{"http://[2001:DB8::1]/outstatic", Origin{"http", "[2001:db8::1]", "", "/outstatic"}},
		{"http://127.0.0.1:8080/outstatic", Origin{"http", "127.0.0.1", "8080", "/outstatic"}},
		{"https://0.0.0.0/outstatic", Origin{"https", "0.0.0.0", "", "/outstatic"}},
		{"https://a-b.c-d.example/outstatic", Origin{"https", "a-b.c-d.example", "", "/outstatic"}},
		{"https://1a.example/outstatic", Origin{"https", "1a.example", "", "/outstatic"}},
		{"https://1.2.3.example/outstatic", Origin{"https", "1.2.3.example", "", "/outstatic"}},
		{"https://a.0xg.example/outstatic", Origin{"https", "a.0xg.example", "", "/outstatic"}},
		{"https://x.com/a:b@c!$&'()*+,;=~_.-/outstatic", Origin{"https", "x.com", "", "/a:b@c!$&'()*+,;=~_.-/outstatic"}},
		{"https://x.com:65535/outstatic", Origin{"https", "x.com", "65535", "/outstatic"}},
		{"https://x.com:1/outstatic", Origin{"https", "x.com", "1", "/outstatic"}},
		{"https://" + long63 + ".com/outstatic", Origin{"https", long63 + ".com", "", "/outstatic"}},
	}
	for _, tt := range tests {
		got, err := ParseOrigin(tt.raw)
		if err != nil {
			t.Errorf("ParseOrigin(%q): %v", tt.raw, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseOrigin(%q) = %#v, want %#v", tt.raw, got, tt.want)
		}
		// The canonical form must parse back to the same origin.
		again, err := ParseOrigin(got.String())
		if err != nil || again != got {
			t.Errorf("ParseOrigin(%q) = %#v, %v; want %#v", got.String(), again, err, got)
		}
	}
}

func TestParseOriginRefuses(t *testing.T) {
	long64 := strings.Repeat("a", 64)
	long254 := "a" + strings.Repeat("abcdefghi.", 25) + "com" // 254 characters, labels all short
	tests := []struct {
		raw, why string
	}{
		{"", "is empty"},
		{"blog.example.com/outstatic", "absolute URL"},
		{"/outstatic", "absolute URL"},
		{"//x.com/outstatic", "absolute URL"},
		{"ftp://x.com/outstatic", "scheme"},
		{"javascript://x.com/outstatic", "scheme"},
		{"https+x://x.com/outstatic", "scheme"},
		{"https:/x.com/outstatic", `"//" after the scheme`},
		{"https:x.com/outstatic", `"//" after the scheme`},
		{`https:\\x.com/outstatic`, "backslash"},
		{`https:/\x.com/outstatic`, "backslash"},
		{"https://x.com/outstatic?", `query string (not even an empty "?")`},
		{"https://x.com/outstatic?a=b", "query string"},
		{"https://x.com?/outstatic", "query string"},
		{"https://x.com/outstatic#", `fragment (not even an empty "#")`},
		{"https://x.com/outstatic#top", "fragment"},
		{"https://user@x.com/outstatic", "userinfo"},
		{"https://user:pw@x.com/outstatic", "userinfo"},
		{"https://@x.com/outstatic", "userinfo"},
		{"https://x%2ecom/outstatic", "percent-encoding in the host"},
		{"https:///outstatic", "empty host"},
		{"https://:443/outstatic", "empty host"},
		{"https://x.com:/outstatic", "empty port"},
		{"https://x.com:0443/outstatic", "leading zero"},
		{"https://x.com:65536/outstatic", "out of range"},
		{"https://x.com:100000/outstatic", "out of range"},
		{"https://x.com:0/outstatic", "port 0"},
		{"https://x.com:+443/outstatic", "digits only"},
		{"https://x.com:443:443/outstatic", "digits only"},
		{"https://x.com:0x1bb/outstatic", "digits only"},
		{"https://x.com", "must have a path"},
		{"https://x.com/", `must end with "/outstatic"`},
		{"https://x.com/blog", `must end with "/outstatic"`},
		{"https://x.com/outstatic/", `must end with "/outstatic"`},
		{"https://x.com/Outstatic", `must end with "/outstatic"`},
		{"https://x.com/xoutstatic", `must end with "/outstatic"`},
		{"https://x.com//outstatic", "empty segments"},
		{"https://x.com/a//outstatic", "empty segments"},
		{"https://x.com/./outstatic", `"." segments`},
		{"https://x.com/../outstatic", `".." segments`},
		{"https://x.com/a%20b/outstatic", "percent-encoding in the path"},
		{`https://x.com/a\b/outstatic`, "backslash"},
		{`https://x.com\outstatic`, "backslash"},
		{"https://x.com/a b/outstatic", "whitespace"},
		{"https://x.com/a\x00/outstatic", "control characters"},
		{"https://x.com/a\x7f/outstatic", "control characters"},
		{"https://x.com/é/outstatic", "non-ASCII"},
		{"https://x.com/\xff/outstatic", "invalid UTF-8"},
		{"https://x.com/a|b/outstatic", `must not contain '|'`},
		{"https://x.com/a^b/outstatic", `must not contain '^'`},
		{"https://x.com/a\"b/outstatic", `must not contain '"'`},
		{" https://x.com/outstatic", "whitespace"},
		{"https://x.com/outstatic\n", "whitespace"},
		{"https://x.com/outstatic\u00a0", "whitespace"},
		{"https://x .com/outstatic", "whitespace"},
		{"https://x.com\t/outstatic", "whitespace"},
		{"https://x.com./outstatic", "end with a dot"},
		{"https://x..com/outstatic", "empty label"},
		{"https://.x.com/outstatic", "empty label"},
		{"https://-x.com/outstatic", "hyphen"},
		{"https://x-.com/outstatic", "hyphen"},
		{"https://x_y.com/outstatic", "not allowed in a host name"},
		{"https://x*.com/outstatic", "not allowed in a host name"},
		{"https://0x7f.1/outstatic", "canonical dotted-quad"},
		{"https://2130706433/outstatic", "canonical dotted-quad"},
		{"https://127.1/outstatic", "canonical dotted-quad"},
		{"https://127.000.0.1/outstatic", "canonical dotted-quad"},
		{"https://0177.0.0.1/outstatic", "canonical dotted-quad"},
		{"https://a.1/outstatic", "canonical dotted-quad"},
		{"https://a.0x/outstatic", "canonical dotted-quad"},
		{"https://256.0.0.1/outstatic", "canonical dotted-quad"},
		{"https://1.2.3.4.5/outstatic", "canonical dotted-quad"},
		{"https://[::ffff:127.0.0.1]/outstatic", "dotted IPv4"},
		{"https://[1.2.3.4]/outstatic", "dotted IPv4"},
		{"https://[::ffff:7f00:1]/outstatic", "canonical form"},
		{"https://[0:0::1]/outstatic", "canonical form"},
		{"https://[2001:db8:0:0:0:0:0:1]/outstatic", "canonical form"},
		{"https://[fe80::1%25eth0]/outstatic", "percent-encoding"},
		{"https://[::1/outstatic", "closing"},
		{"https://[::1]x/outstatic", "after the IPv6 literal"},
		{"https://[zz::1]/outstatic", "not a valid IPv6"},
		{"https://[]/outstatic", "not a valid IPv6"},
		{"https://::1/outstatic", "empty host"},
		{"https://xn--bcher-kva.ch/outstatic", "internationalized"},
		{"https://bücher.ch/outstatic", "non-ASCII"},
		{"https://x\u3002com/outstatic", "non-ASCII"},
		{"https://" + long64 + ".com/outstatic", "longer than 63"},
		{"https://" + long254 + "/outstatic", "longer than 253"},
	}
	for _, tt := range tests {
		_, err := ParseOrigin(tt.raw)
		if err == nil {
			t.Errorf("ParseOrigin(%q) accepted, want refusal (%s)", tt.raw, tt.why)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.why) {
			t.Errorf("ParseOrigin(%q) = %q, want it to say %q", tt.raw, msg, tt.why)
		}
		if !strings.HasPrefix(msg, "callback origin "+quote(tt.raw)+": ") {
			t.Errorf("ParseOrigin(%q) = %q, want it to quote the input", tt.raw, msg)
		}
		if msg != strings.ToLower(msg[:1])+msg[1:] {
			t.Errorf("ParseOrigin(%q) = %q, want a lowercase message", tt.raw, msg)
		}
	}
}

func TestOriginMethods(t *testing.T) {
	tests := []struct {
		raw                                 string
		str, hostPort, site, root, cb, magS string
	}{
		{
			"https://Blog.Example.com:443/outstatic",
			"https://blog.example.com/outstatic", "blog.example.com", "https://blog.example.com", "",
			"https://blog.example.com/outstatic/api/outstatic/callback",
			"https://blog.example.com/api/outstatic/magic-link-callback",
		},
		{
			"http://localhost:3000/outstatic",
			"http://localhost:3000/outstatic", "localhost:3000", "http://localhost:3000", "",
			"http://localhost:3000/outstatic/api/outstatic/callback",
			"http://localhost:3000/api/outstatic/magic-link-callback",
		},
		{
			"https://x.com/blog/outstatic",
			"https://x.com/blog/outstatic", "x.com", "https://x.com", "/blog",
			"https://x.com/blog/outstatic/api/outstatic/callback",
			"https://x.com/blog/api/outstatic/magic-link-callback",
		},
		{
			"http://[::1]:3000/outstatic",
			"http://[::1]:3000/outstatic", "[::1]:3000", "http://[::1]:3000", "",
			"http://[::1]:3000/outstatic/api/outstatic/callback",
			"http://[::1]:3000/api/outstatic/magic-link-callback",
		},
	}
	for _, tt := range tests {
		o, err := ParseOrigin(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.String(); got != tt.str {
			t.Errorf("%q String() = %q, want %q", tt.raw, got, tt.str)
		}
		if got := o.HostPort(); got != tt.hostPort {
			t.Errorf("%q HostPort() = %q, want %q", tt.raw, got, tt.hostPort)
		}
		if got := o.SiteOrigin(); got != tt.site {
			t.Errorf("%q SiteOrigin() = %q, want %q", tt.raw, got, tt.site)
		}
		if got := o.RootPath(); got != tt.root {
			t.Errorf("%q RootPath() = %q, want %q", tt.raw, got, tt.root)
		}
		if got := o.CallbackURL(RouteCallback, false); got != tt.cb {
			t.Errorf("%q CallbackURL(callback, false) = %q, want %q", tt.raw, got, tt.cb)
		}
		if got := o.CallbackURL(RouteMagicLinkCallback, true); got != tt.magS {
			t.Errorf("%q CallbackURL(magic-link-callback, true) = %q, want %q", tt.raw, got, tt.magS)
		}
	}
}

func TestParseHostPort(t *testing.T) {
	good := []struct{ scheme, in, host, port string }{
		{"https", "Blog.Example.com:443", "blog.example.com", ""},
		{"https", "blog.example.com", "blog.example.com", ""},
		{"http", "localhost:3000", "localhost", "3000"},
		{"HTTP", "x.com:80", "x.com", ""},
		{"https", "x.com:80", "x.com", "80"},
		{"http", "x.com:443", "x.com", "443"},
		{"http", "[::1]:3000", "[::1]", "3000"},
		{"https", "[::1]", "[::1]", ""},
		{"https", "[2001:DB8::1]:443", "[2001:db8::1]", ""},
		{"http", "127.0.0.1:8080", "127.0.0.1", "8080"},
	}
	for _, tt := range good {
		h, p, err := ParseHostPort(tt.scheme, tt.in)
		if err != nil || h != tt.host || p != tt.port {
			t.Errorf("ParseHostPort(%q, %q) = %q, %q, %v; want %q, %q", tt.scheme, tt.in, h, p, err, tt.host, tt.port)
		}
	}
	bad := []struct{ scheme, in string }{
		{"ftp", "x.com"},
		{"", "x.com"},
		{"https", ""},
		{"https", "x.com:"},
		{"https", ":443"},
		{"https", "x.com/"},
		{"https", "x.com?"},
		{"https", "x.com#"},
		{"https", `x.com\`},
		{"https", "u@x.com"},
		{"https", "x.com:0443"},
		{"https", "x.com:65536"},
		{"https", "x.com:-1"},
		{"https", "x.com."},
		{"https", "0x7f.1"},
		{"https", "2130706433"},
		{"https", "x.com\r\n"},
		{"https", "x com"},
		{"https", " x.com"},
		{"https", "[::1"},
		{"https", "[::1]:"},
		{"https", "[::1]3000"},
		{"https", "::1"},
		{"https", "[::ffff:1.2.3.4]"},
		{"https", "x%2ecom"},
		{"https", "bücher.ch"},
		{"https", "x_y.com"},
		{"https", "x.com:443:443"},
	}
	for _, tt := range bad {
		h, p, err := ParseHostPort(tt.scheme, tt.in)
		if err == nil {
			t.Errorf("ParseHostPort(%q, %q) = %q, %q; want an error", tt.scheme, tt.in, h, p)
		}
	}
}

func TestMatchesSite(t *testing.T) {
	blog, _ := ParseOrigin("https://blog.example.com/outstatic")
	local, _ := ParseOrigin("http://localhost:3000/outstatic")
	v6, _ := ParseOrigin("http://[::1]:3000/blog/outstatic")
	tests := []struct {
		o            Origin
		scheme, host string
		want         bool
		comment      string
	}{
		{blog, "https", "blog.example.com", true, "exact"},
		{blog, "HTTPS", "BLOG.example.COM", true, "case-insensitive"},
		{blog, "https", "blog.example.com:443", true, "default port"},
		{blog, "http", "blog.example.com", false, "other scheme"},
		{blog, "https", "blog.example.com:8443", false, "other port"},
		{blog, "https", "blog.example.com.", false, "trailing dot"},
		{blog, "https", "evil.com", false, "other host"},
		{blog, "https", "blog.example.com.evil.com", false, "suffix"},
		{blog, "https", "u@blog.example.com", false, "userinfo"},
		{blog, "https", "blog.example.com:0443", false, "leading zero port"},
		{blog, "https", "blog.example.com:", false, "empty port"},
		{blog, "https", "", false, "empty"},
		{blog, "ftp", "blog.example.com", false, "bad scheme"},
		{local, "http", "localhost:3000", true, "port"},
		{local, "http", "LOCALHOST:3000", true, "case"},
		{local, "http", "localhost", false, "missing port"},
		{local, "http", "localhost:3000 ", false, "whitespace"},
		{local, "http", "127.0.0.1:3000", false, "not resolved"},
		{v6, "http", "[::1]:3000", true, "IPv6"},
		{v6, "http", "[0:0::1]:3000", false, "non-canonical IPv6"},
		{v6, "http", "[::1]", false, "IPv6 without port"},
	}
	for _, tt := range tests {
		if got := tt.o.MatchesSite(tt.scheme, tt.host); got != tt.want {
			t.Errorf("%s: %v.MatchesSite(%q, %q) = %v, want %v", tt.comment, tt.o, tt.scheme, tt.host, got, tt.want)
		}
	}
}
