package relay

import "net/url"

// SiteReturnURL is the checked return URL as the site that redeems an
// exchange token names itself: the stock site follows return_url only
// when it is on the origin its own request came in on, its listen address
// (PROTOCOL.md §8), which is the origin of the callback_url it sends to
// exchange-token. So the checked path and query go back on that origin;
// the guard in front turns the site's redirect into the public one. The
// site refuses any other origin itself, and whoever redeems the token
// holds the session anyway, so the origin it names grants nothing. A
// callback that is not an http(s) URL leaves checked as it is.
func SiteReturnURL(checked, callback string) string {
	r, err := url.Parse(checked)
	c, cerr := url.Parse(callback)
	if err != nil || cerr != nil || (c.Scheme != "http" && c.Scheme != "https") || c.Host == "" {
		return checked
	}
	r.Scheme, r.Host = c.Scheme, c.Host
	return r.String()
}
