package validate

import "testing"

// BenchmarkCallbackTarget checks the callback a login names (#2, and every
// callback field a forward relay passes on) against three origins.
func BenchmarkCallbackTarget(b *testing.B) {
	ts := mustTargets(b, false, "https://blog.example.com/outstatic", "https://preview.example.com/outstatic",
		"http://localhost:3000/outstatic")
	const callback = "https://preview.example.com/api/outstatic/callback"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Check(callback); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallbackTargetRefused is a hostile callback, refused.
func BenchmarkCallbackTargetRefused(b *testing.B) {
	ts := mustTargets(b, false, "https://blog.example.com/outstatic")
	const hostile = "https://blog.example.com@evil.example/api/outstatic/callback"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Check(hostile); err == nil {
			b.Fatal("accepted")
		}
	}
}

// BenchmarkCallbackQuery checks the query a guard sees on the callback
// route: an exchange token.
func BenchmarkCallbackQuery(b *testing.B) {
	const q = "exchange_token=xt_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CheckCallbackQuery(RouteCallback, q); err != nil {
			b.Fatal(err)
		}
	}
}
