package validate

import "strings"

// Shorthands for the hostile table, whose origins are vectorOrigins.
const (
	hDom   = CodeInvalidCallbackDomain
	hTgt   = CodeInvalidCallbackTarget
	hAcc   = wantAccept
	cbPath = "/outstatic/api/outstatic/callback"
)

// hostileCases are callback targets that try to get a browser sent somewhere
// other than an allowed callback, by class. They complement the shared
// vectors and seed the fuzzer.
var hostileCases = []targetCase{
	// Slash and backslash tricks.
	{"https:/blog.example.com" + cbPath, hDom},
	{"https:blog.example.com" + cbPath, hDom},
	{`https:\\blog.example.com` + cbPath, hDom},
	{`https:/\blog.example.com` + cbPath, hDom},
	{`https:\/blog.example.com` + cbPath, hDom},
	{`https://blog.example.com\outstatic\api\outstatic\callback`, hTgt},
	{`https://blog.example.com/outstatic\api/outstatic/callback`, hTgt},
	{`https://blog.example.com` + cbPath + `\`, hTgt},
	{"https://blog.example.com//outstatic/api/outstatic/callback", hTgt},
	{"https://blog.example.com/outstatic//api/outstatic/callback", hTgt},
	{"https://blog.example.com/outstatic/api/outstatic//callback", hTgt},
	{"https://blog.example.com//api/outstatic/callback", hTgt},
	{"https://blog.example.com//evil.com/api/outstatic/callback", hTgt},
	{"///evil.com" + cbPath, hDom},
	{`\\evil.com` + cbPath, hDom},
	{`/\blog.example.com` + cbPath, hDom},
	{cbPath, hDom},
	{`https://evil.com\.blog.example.com` + cbPath, hDom},
	{`https://evil.com/\blog.example.com` + cbPath, hDom},
	{"https://evil.com#@blog.example.com" + cbPath, hDom},
	{"https://evil.com?@blog.example.com" + cbPath, hDom},
	{"https://evil.com/@blog.example.com" + cbPath, hDom},

	// Userinfo.
	{"https://user@blog.example.com" + cbPath, hDom},
	{"https://user:pass@blog.example.com" + cbPath, hDom},
	{"https://:@blog.example.com" + cbPath, hDom},
	{"https://@blog.example.com" + cbPath, hDom},
	{"https://blog.example.com:443@evil.com" + cbPath, hDom},
	{"https://blog.example.com@blog.example.com" + cbPath, hDom},
	{"https://evil.com%40blog.example.com" + cbPath, hDom},
	{"https://blog.example.com%2f@evil.com" + cbPath, hDom},
	{"http://localhost:3000@evil.com" + cbPath, hDom},

	// Look-alike hosts.
	{"https://blog-example.com" + cbPath, hDom},
	{"https://blog.example.co" + cbPath, hDom},
	{"https://blog.examp1e.com" + cbPath, hDom},
	{"https://evilblog.example.com" + cbPath, hDom},
	{"https://example.com" + cbPath, hDom},
	{"https://www.blog.example.com" + cbPath, hDom},
	{"https://blog.example.com." + cbPath, hDom},
	{"https://blog..example.com" + cbPath, hDom},
	{"https://.blog.example.com" + cbPath, hDom},
	{"https://blog.example.com%2eevil.com" + cbPath, hDom},
	{"https://blog.ex%61mple.com" + cbPath, hDom},
	{"https://bl\u043eg.example.com" + cbPath, hDom},                // Cyrillic o
	{"https://blog\uff0eexample\uff0ecom" + cbPath, hDom},           // fullwidth full stop
	{"https://blog\uff61example.com" + cbPath, hDom},                // halfwidth ideographic full stop
	{"https://\uff42\uff4c\uff4f\uff47.example.com" + cbPath, hDom}, // fullwidth letters
	{"https://blog.example.com\u200b" + cbPath, hDom},               // zero-width space
	{"https://xn--blog-xyz.example.com" + cbPath, hDom},
	{"https://blog_example.com" + cbPath, hDom},
	{"http://localhost.:3000" + cbPath, hDom},
	{"http://LOCALHOST:3000" + cbPath, hAcc},
	{"https://Blog.Example.Com/api/outstatic/callback", hAcc},

	// Scheme tricks.
	{"HTTPS://blog.example.com" + cbPath, hAcc},
	{"HtTpS://BLOG.EXAMPLE.COM/api/outstatic/magic-link-callback", hAcc},
	{"HTTPS:blog.example.com" + cbPath, hDom},
	{"HTTPS:/blog.example.com" + cbPath, hDom},
	{"javascript:alert(1)//blog.example.com" + cbPath, hDom},
	{"javascript://blog.example.com" + cbPath, hDom},
	{"data:text/html,<script>alert(1)</script>", hDom},
	{"data://blog.example.com" + cbPath, hDom},
	{"ftp://blog.example.com" + cbPath, hDom},
	{"wss://blog.example.com" + cbPath, hDom},
	{"file:///etc/passwd", hDom},
	{"blob:https://blog.example.com" + cbPath, hDom},
	{"https+x://blog.example.com" + cbPath, hDom},
	{"//blog.example.com" + cbPath, hDom},
	{"https ://blog.example.com" + cbPath, hDom},
	{"http://blog.example.com:443" + cbPath, hDom},
	{"https://localhost:3000" + cbPath, hDom},
	{"https:", hDom},
	{"https://", hDom},
	{"", hDom},

	// Encodings.
	{"https://blog.example.com/outstatic/api/outstatic/%2e%2e/outstatic/callback", hTgt},
	{"https://blog.example.com/outstatic/api%2foutstatic/callback", hTgt},
	{"https://blog.example.com/outstatic/api%2Foutstatic%2Fcallback", hTgt},
	{"https://blog.example.com" + cbPath + "%00", hTgt},
	{"https://blog.example.com" + cbPath + "%23", hTgt},
	{"https://blog.example.com" + cbPath + "%3f", hTgt},
	{"https://blog.example.com" + cbPath + "%20", hTgt},
	{"https://blog.example.com/%6futstatic/api/outstatic/callback", hTgt},
	{"https://blog.example.com/%2e/api/outstatic/callback", hTgt},
	{"https://blog.example.com%00.evil.com" + cbPath, hDom},
	{"https://blog%2eexample.com" + cbPath, hDom},
	{"https://%62log.example.com" + cbPath, hDom},
	{"https://blog.example.com%" + cbPath, hDom},
	{"https://blog.example.com:%34%34%33" + cbPath, hDom},

	// Control characters and whitespace.
	{"https://blog.example.com/outstatic/api/out\tstatic/callback", hTgt},
	{"https://blog.exa\tmple.com" + cbPath, hDom},
	{"https://blog.example.com" + cbPath + "\r", hTgt},
	{"https://blog.example.com" + cbPath + "\r\nSet-Cookie: x=1", hTgt},
	{"https://blog.example.com\x00.evil.com" + cbPath, hDom},
	{"https://blog.example.com" + cbPath + "\x00", hTgt},
	{"https://blog.example.com" + cbPath + "\u00a0", hTgt},
	{"\u00a0https://blog.example.com" + cbPath, hDom},
	{"https://blog.example.com" + cbPath + " ", hTgt},
	{"https://blog.example.com " + cbPath, hDom},
	{"https://blog.example.com" + cbPath + "\v", hTgt},
	{"https://blog.example.com\f" + cbPath, hDom},
	{"https://blog.example.com" + cbPath + "\x7f", hTgt},
	{"https://blog.example.com/outstatic/api/outstatic/\u2028callback", hTgt},
	{"\ufeffhttps://blog.example.com" + cbPath, hDom},
	{"https://blog.example.com" + cbPath + "\xff", hTgt},
	{"https://blog.example.com\xff" + cbPath, hDom},
	{"https://blog.example.com/outstatic/api/outstatic\uff0fcallback", hTgt},
	{"https://\nblog.example.com" + cbPath, hDom},
	{"ht\ttps://blog.example.com" + cbPath, hDom},
	{"https:/\n/blog.example.com" + cbPath, hDom},

	// Dot segments.
	{"https://blog.example.com/outstatic/./api/outstatic/callback", hTgt},
	{"https://blog.example.com/outstatic/api/outstatic/./callback", hTgt},
	{"https://blog.example.com/x/../outstatic/api/outstatic/callback", hTgt},
	{"https://blog.example.com" + cbPath + "/.", hTgt},
	{"https://blog.example.com" + cbPath + "/..", hTgt},
	{"https://blog.example.com" + cbPath + "/../callback", hTgt},
	{"https://blog.example.com/./api/outstatic/callback", hTgt},
	{"https://blog.example.com/api/outstatic/x/../callback", hTgt},

	// Ports.
	{"https://blog.example.com:0443" + cbPath, hDom},
	{"https://blog.example.com:65536" + cbPath, hDom},
	{"https://blog.example.com:" + cbPath, hDom},
	{"https://blog.example.com:+443" + cbPath, hDom},
	{"https://blog.example.com:-443" + cbPath, hDom},
	{"https://blog.example.com:443 " + cbPath, hDom},
	{"https://blog.example.com:4430" + cbPath, hDom},
	{"https://blog.example.com:0" + cbPath, hDom},
	{"https://blog.example.com:99999999999999999999443" + cbPath, hDom},
	{"https://blog.example.com:44\uff13" + cbPath, hDom},
	{"https://blog.example.com:0x1bb" + cbPath, hDom},
	{"https://blog.example.com:443:443" + cbPath, hDom},
	{"http://localhost:03000" + cbPath, hDom},
	{"http://localhost:3000:3000" + cbPath, hDom},
	{"http://localhost" + cbPath, hDom},
	{"http://localhost:80" + cbPath, hDom},
	{"http://localhost:3000" + cbPath, hAcc},

	// Query and fragment.
	{"https://blog.example.com" + cbPath + "?", hTgt},
	{"https://blog.example.com" + cbPath + "#", hTgt},
	{"https://blog.example.com" + cbPath + "?#", hTgt},
	{"https://blog.example.com" + cbPath + "?exchange_token=x", hTgt},
	{"https://blog.example.com?" + cbPath, hTgt},
	{"https://blog.example.com#" + cbPath, hTgt},
	{"https://blog.example.com" + cbPath + ";x", hTgt},
	{"https://blog.example.com" + cbPath + "&x", hTgt},
	{"https://blog.example.com/api/outstatic/callback?next=//evil.com", hTgt},

	// IPv4 and IPv6 spellings of a host that is not configured.
	{"http://2130706433:3000" + cbPath, hDom},
	{"http://0x7f.1:3000" + cbPath, hDom},
	{"http://127.1:3000" + cbPath, hDom},
	{"http://0177.0.0.1:3000" + cbPath, hDom},
	{"http://127.0.0.1:3000" + cbPath, hDom},
	{"http://[::1]:3000" + cbPath, hDom},
	{"http://[::ffff:127.0.0.1]:3000" + cbPath, hDom},
	{"http://[::1]:3000]" + cbPath, hDom},

	// Case and shape of the path.
	{"https://blog.example.com/OUTSTATIC/api/outstatic/callback", hTgt},
	{"https://blog.example.com/outstatic/API/outstatic/callback", hTgt},
	{"https://blog.example.com/outstatic/api/outstatic/Callback", hTgt},
	{"https://blog.example.com/outstatic/api/outstatic/CALLBACK", hTgt},
	{"https://blog.example.com/outstatic/api/outstatic/callbackx", hTgt},
	{"https://blog.example.com/outstatic/api/outstatic/magic-link-callback/", hTgt},
	{"https://blog.example.com/api/outstatic/callback/", hTgt},
	{"https://blog.example.com/outstatic/outstatic/api/outstatic/callback", hTgt},
	{"https://blog.example.com/api/outstatic/login", hTgt},
	{"https://blog.example.com/outstatic/api/outstatic/github", hTgt},
	{"https://blog.example.com", hTgt},
	{"https://blog.example.com/", hTgt},
	{"https://blog.example.com/outstatic", hTgt},
	{"https://blog.example.com" + cbPath + "/extra", hTgt},
	{"https://blog.example.com/outstaticapi/outstatic/callback", hTgt},
	{"https://blog.example.com/x/api/outstatic/callback", hTgt},
	{"https://blog.example.com/outstatic/api/outstatic/callback;", hTgt},
	{"https://blog.example.com/outstatic/api/outstatic/magic-link-callback-x", hTgt},
}

// containsAll reports whether s holds every one of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// isLogSafe reports whether s holds no raw control characters, so a refusal
// reason cannot forge log lines.
func isLogSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}
