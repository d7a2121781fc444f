package validate

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// fuzzOrigins cover the shapes of origin a target can match: the vectors'
// two, a base path, IPv6, IPv4, and two origins on one site whose callback
// URLs overlap.
var fuzzOrigins = []string{
	"https://blog.example.com/outstatic",
	"http://localhost:3000/outstatic",
	"https://x.com/blog/outstatic",
	"http://[::1]:3000/outstatic",
	"http://127.0.0.1:8080/outstatic",
	"https://a.example:8443/outstatic",
	"https://a.example:8443/outstatic/outstatic",
}

// fuzzTargetSets returns the target checkers the fuzzer runs every input
// through; strict variants are derived inside checkTargetInvariants.
func fuzzTargetSets(tb testing.TB) []Targets {
	return []Targets{
		mustTargets(tb, false, vectorOrigins...),
		mustTargets(tb, false, fuzzOrigins...),
	}
}

// seedInputs are every URL the tables hold, plus every allowed URL.
func seedInputs(tb testing.TB) []string {
	var in []string
	for _, c := range loadVectors(tb) {
		in = append(in, c.URL)
	}
	for _, c := range hostileCases {
		in = append(in, c.URL)
	}
	for _, ts := range fuzzTargetSets(tb) {
		in = append(in, ts.AllowedURLs()...)
	}
	in = append(in, originInputs(tb)...)
	in = append(in, "blog.example.com:443", "[::1]:3000", "127.0.0.1", "localhost:3000")
	return in
}

// oracleQuery is one URL for the WHATWG parser and how to judge its reading.
type oracleQuery struct {
	url   string
	check func(whatwgURL) string
}

// checkTargetInvariants checks what must hold for any input to Check, and
// returns the WHATWG comparisons an accepted input calls for.
func checkTargetInvariants(t *testing.T, ts Targets, raw string) []oracleQuery {
	t.Helper()
	strict := Targets{Origins: ts.Origins, Strict: true}
	got, err := ts.Check(raw)
	sgot, serr := strict.Check(raw)
	if err != nil {
		var e, se *Error
		if !errors.As(err, &e) || (e.Code != CodeInvalidCallbackDomain && e.Code != CodeInvalidCallbackTarget) {
			t.Fatalf("Check(%q) = %v (%T), want an *Error with a callback code", raw, err, err)
		}
		if e.Reason == "" || !isLogSafe(e.Reason) {
			t.Fatalf("Check(%q) reason %q is empty or not safe to log", raw, e.Reason)
		}
		if !errors.As(serr, &se) || se.Code != e.Code {
			t.Fatalf("Check(%q) = %v but strict Check = %v: strict mode may only refuse more", raw, err, serr)
		}
		return nil
	}
	// An accepted input is plain: nothing that some parser decodes, strips
	// or reads as a delimiter.
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= 0x20 || c >= 0x7f || strings.IndexByte(`\%?#@`, c) >= 0 {
			t.Fatalf("Check(%q) accepted a URL holding %q", raw, c)
		}
	}
	if !slices.Contains(ts.AllowedURLs(), got.URL) {
		t.Fatalf("Check(%q) = %q, which is not an allowed URL", raw, got.URL)
	}
	if want := got.Origin.CallbackURL(got.Route, got.StockForm); got.URL != want {
		t.Fatalf("Check(%q) = %+v, but its origin's URL for that route is %q", raw, got, want)
	}
	if !slices.Contains(ts.Origins, got.Origin) {
		t.Fatalf("Check(%q) matched %v, which is not configured", raw, got.Origin)
	}
	if again, err := ts.Check(got.URL); err != nil || again != got {
		t.Fatalf("Check(%q) = %+v, but Check of that = %+v, %v", raw, got, again, err)
	}
	if got.StockForm {
		var se *Error
		if !errors.As(serr, &se) || se.Code != CodeInvalidCallbackTarget {
			t.Fatalf("strict Check(%q) = %+v, %v; want %s for the stock form", raw, sgot, serr, CodeInvalidCallbackTarget)
		}
	} else if serr != nil || sgot != got {
		t.Fatalf("strict Check(%q) = %+v, %v; want %+v", raw, sgot, serr, got)
	}
	judge := func(w whatwgURL) string { return compareTarget(got, w) }
	return []oracleQuery{{raw, judge}, {got.URL, judge}}
}

// checkOriginInvariants does the same for ParseOrigin.
func checkOriginInvariants(t *testing.T, raw string) []oracleQuery {
	t.Helper()
	o, err := ParseOrigin(raw)
	if err != nil {
		if msg := err.Error(); !strings.HasPrefix(msg, "callback origin ") || !isLogSafe(msg) {
			t.Fatalf("ParseOrigin(%q) error %q lacks context or is not safe to log", raw, msg)
		}
		return nil
	}
	if again, err := ParseOrigin(o.String()); err != nil || again != o {
		t.Fatalf("ParseOrigin(%q) = %#v, but ParseOrigin of %q = %#v, %v", raw, o, o.String(), again, err)
	}
	if !strings.HasSuffix(o.Path, dashboardSegment) || o.Host != strings.ToLower(o.Host) {
		t.Fatalf("ParseOrigin(%q) = %#v, not canonical", raw, o)
	}
	ts := Targets{Origins: []Origin{o}}
	for _, route := range routes {
		for _, stock := range []bool{false, true} {
			u := o.CallbackURL(route, stock)
			got, err := ts.Check(u)
			if err != nil || got.URL != u || got.Origin != o || got.Route != route || got.StockForm != stock {
				t.Fatalf("origin %q: Check(%q) = %+v, %v", raw, u, got, err)
			}
		}
	}
	if !o.MatchesSite(o.Scheme, o.HostPort()) {
		t.Fatalf("origin %q does not match its own site %q", raw, o.HostPort())
	}
	return []oracleQuery{{raw, func(w whatwgURL) string {
		return compareParts(w, o.Scheme, o.Host, o.Port, o.Path)
	}}}
}

// checkHostPortInvariants does the same for ParseHostPort, reading raw as a
// Host header for https.
func checkHostPortInvariants(t *testing.T, origins []Origin, raw string) []oracleQuery {
	t.Helper()
	host, port, err := ParseHostPort("https", raw)
	for _, o := range origins {
		want := err == nil && o.Scheme == "https" && o.Host == host && o.Port == port
		if got := o.MatchesSite("https", raw); got != want {
			t.Fatalf("%v.MatchesSite(https, %q) = %v, want %v", o, raw, got, want)
		}
	}
	if err != nil {
		return nil
	}
	if again, again2, err := ParseHostPort("https", host+portSuffix(port)); err != nil || again != host || again2 != port {
		t.Fatalf("ParseHostPort(https, %q) = %q, %q, but not idempotent: %q, %q, %v", raw, host, port, again, again2, err)
	}
	return []oracleQuery{{"https://" + raw + "/", func(w whatwgURL) string {
		return compareParts(w, "https", host, port, "/")
	}}}
}

func portSuffix(port string) string {
	if port == "" {
		return ""
	}
	return ":" + port
}

// runInvariants runs every check on raw and returns the oracle queries.
func runInvariants(t *testing.T, sets []Targets, raw string) []oracleQuery {
	var qs []oracleQuery
	for _, ts := range sets {
		qs = append(qs, checkTargetInvariants(t, ts, raw)...)
	}
	qs = append(qs, checkOriginInvariants(t, raw)...)
	qs = append(qs, checkHostPortInvariants(t, sets[len(sets)-1].Origins, raw)...)
	return qs
}

// TestCallbackTargetInvariants runs the fuzzer's invariants, without the
// WHATWG oracle, over every seed, so they hold even where node is missing.
func TestCallbackTargetInvariants(t *testing.T) {
	sets := fuzzTargetSets(t)
	for _, raw := range seedInputs(t) {
		runInvariants(t, sets, raw)
	}
}

// FuzzCallbackTarget checks invariants for every input and, for every input
// accepted, that a WHATWG parser (Node's URL, as browsers) reads it exactly as
// accepted. A finding means a rule is wrong or too lenient.
func FuzzCallbackTarget(f *testing.F) {
	for _, raw := range seedInputs(f) {
		f.Add(raw)
	}
	sets := fuzzTargetSets(f)
	p := whatwg(f)
	f.Fuzz(func(t *testing.T, raw string) {
		qs := runInvariants(t, sets, raw)
		if len(qs) == 0 {
			return
		}
		urls := make([]string, len(qs))
		for i, q := range qs {
			urls[i] = q.url
		}
		res, err := p.parse(urls)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range qs {
			if diff := q.check(res[i]); diff != "" {
				t.Fatalf("input %q: %q accepted, but WHATWG disagrees: %s", raw, q.url, diff)
			}
		}
	})
}
