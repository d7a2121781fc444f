package validate

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// CallbackKind says which of the allowed shapes a callback query has.
type CallbackKind int

// The shapes a callback query may take.
const (
	// CallbackExchange carries one exchange_token from a relay login.
	CallbackExchange CallbackKind = iota + 1
	// CallbackError carries an error code from the relay or from GitHub.
	CallbackError
	// CallbackCode carries code and state, for a site with its own GitHub OAuth app.
	CallbackCode
)

// CallbackQuery is a checked callback query.
type CallbackQuery struct {
	Kind          CallbackKind
	ExchangeToken string
	Error         string
}

// Bounds on callback query values. They are far above what the service and
// GitHub send and far below what would make a header or a log line a problem.
const (
	maxQueryLen    = 4096
	maxTokenLen    = 2048
	minTokenLen    = 8
	maxCodeLen     = 256
	maxStateLen    = 2048
	maxErrorLen    = 64
	maxErrorDetail = 512
)

// KnownErrorCodes are the error codes a callback may carry
// (protocol.CallbackErrors); anything else is refused.
var KnownErrorCodes = protocol.CallbackErrors

// CheckCallbackQuery checks the raw query of a callback route. route is
// RouteCallback or RouteMagicLinkCallback. The magic-link route takes only an
// exchange token or an error; the callback route also takes code and state.
// No parameter may repeat, no unknown parameter is allowed, and every value
// has a bounded length and charset.
func CheckCallbackQuery(route, rawQuery string) (CallbackQuery, error) {
	if len(rawQuery) > maxQueryLen {
		return CallbackQuery{}, errors.New("query too long")
	}
	if rawQuery == "" {
		return CallbackQuery{}, errors.New("empty query")
	}
	vals := map[string]string{}
	for _, pair := range strings.Split(rawQuery, "&") {
		name, value, ok := strings.Cut(pair, "=")
		if !ok {
			return CallbackQuery{}, fmt.Errorf("parameter %q has no value", clip(name))
		}
		n, err := url.QueryUnescape(name)
		if err != nil {
			return CallbackQuery{}, errors.New("malformed parameter name")
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			return CallbackQuery{}, fmt.Errorf("malformed value for %q", clip(n))
		}
		if _, dup := vals[n]; dup {
			return CallbackQuery{}, fmt.Errorf("parameter %q repeated", clip(n))
		}
		vals[n] = v
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := vals[n]; !ok {
				return false
			}
		}
		return true
	}
	only := func(allowed ...string) error {
		for n := range vals {
			ok := false
			for _, a := range allowed {
				ok = ok || n == a
			}
			if !ok {
				return fmt.Errorf("unexpected parameter %q", clip(n))
			}
		}
		return nil
	}
	switch {
	case has("exchange_token"):
		if err := only("exchange_token"); err != nil {
			return CallbackQuery{}, err
		}
		t := vals["exchange_token"]
		if err := checkValue("exchange_token", t, minTokenLen, maxTokenLen, isTokenByte); err != nil {
			return CallbackQuery{}, err
		}
		return CallbackQuery{Kind: CallbackExchange, ExchangeToken: t}, nil
	case has("error"):
		allowed := []string{"error"}
		if route == RouteCallback {
			// GitHub's refusal to a site's own OAuth app comes with these.
			allowed = append(allowed, "state", "error_description", "error_uri")
		}
		if err := only(allowed...); err != nil {
			return CallbackQuery{}, err
		}
		code := vals["error"]
		if err := checkValue("error", code, 1, maxErrorLen, isCodeByte); err != nil {
			return CallbackQuery{}, err
		}
		if !KnownErrorCodes[code] {
			return CallbackQuery{}, fmt.Errorf("unknown error code %q", code)
		}
		if s, ok := vals["state"]; ok {
			if err := checkValue("state", s, 1, maxStateLen, isTokenByte); err != nil {
				return CallbackQuery{}, err
			}
		}
		for _, n := range []string{"error_description", "error_uri"} {
			if s, ok := vals[n]; ok {
				if err := checkValue(n, s, 0, maxErrorDetail, isPrintableByte); err != nil {
					return CallbackQuery{}, err
				}
			}
		}
		return CallbackQuery{Kind: CallbackError, Error: code}, nil
	case route == RouteCallback && has("code", "state"):
		if err := only("code", "state"); err != nil {
			return CallbackQuery{}, err
		}
		if err := checkValue("code", vals["code"], 1, maxCodeLen, isTokenByte); err != nil {
			return CallbackQuery{}, err
		}
		if err := checkValue("state", vals["state"], 1, maxStateLen, isTokenByte); err != nil {
			return CallbackQuery{}, err
		}
		return CallbackQuery{Kind: CallbackCode}, nil
	}
	return CallbackQuery{}, errors.New("no exchange_token, error, or code and state")
}

func checkValue(name, v string, minLen, maxLen int, ok func(byte) bool) error {
	if len(v) < minLen || len(v) > maxLen {
		return fmt.Errorf("%s has length %d, want %d to %d", name, len(v), minLen, maxLen)
	}
	for i := 0; i < len(v); i++ {
		if !ok(v[i]) {
			return fmt.Errorf("%s has a forbidden character at offset %d", name, i)
		}
	}
	return nil
}

// isTokenByte allows base64 (both alphabets), JWT dots and tildes: what
// opaque tokens, OAuth codes and states are made of.
func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '='
}

func isCodeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func isPrintableByte(c byte) bool { return c >= 0x20 && c < 0x7f }

// clip keeps attacker-chosen names short in error messages.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
