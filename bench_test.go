package outstatic

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/guard"
	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"
)

// nopNext is the app: it does nothing, so the benchmarks measure the
// middleware alone.
type nopNext struct{}

func (nopNext) ServeHTTP(http.ResponseWriter, *http.Request) error { return nil }

// benchRequest is a browser's request to a page of the site, with the
// headers a browser sends and one spoofed flag.
func benchRequest() *http.Request {
	r := httptest.NewRequest("GET", "https://blog.example.com/blog/hello-world", nil)
	for k, v := range map[string]string{
		"User-Agent": "Mozilla/5.0", "Accept": "text/html", "Accept-Language": "en",
		"Accept-Encoding": "gzip, br", "Cookie": "a=b", "Sec-Fetch-Mode": "navigate",
		"X_Outstatic_Pro": "true",
	} {
		r.Header[k] = []string{v}
	}
	vars := map[string]any{caddyhttp.TrustedProxyVarKey: false}
	repl := caddy.NewReplacer()
	ctx := context.WithValue(r.Context(), caddyhttp.VarsCtxKey, vars)
	ctx = context.WithValue(ctx, caddy.ReplacerCtxKey, repl)
	return r.WithContext(ctx)
}

// BenchmarkGuardHotPath is the guard on an ordinary page request with a
// cached Pro verdict: strip, flags, placeholders, route check.
func BenchmarkGuardHotPath(b *testing.B) {
	svc := fakeservice.New(testKey, true, "https://blog.example.com/outstatic")
	srv := httptest.NewServer(svc)
	defer srv.Close()
	b.Setenv("OUTSTATIC_BENCH_KEY", testKey)
	g := &Guard{CallbackOrigins: []string{"https://blog.example.com/outstatic"},
		APIKey: "{env.OUTSTATIC_BENCH_KEY}", Service: srv.URL + "/api"}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	// Without a config, Provision gets a development logger on stderr,
	// which go test would mix into the benchmark lines: build it on
	// /dev/null.
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	stderr := os.Stderr
	os.Stderr = devnull
	err = g.Provision(ctx)
	os.Stderr = stderr
	if err != nil {
		b.Fatal(err)
	}
	defer g.Cleanup()
	g.edge.SetLogger(zap.NewNop())
	runMiddleware(b, g.ServeHTTP)
}

// BenchmarkBaselineHeaders is Caddy's own headers handler deleting one
// request header and setting three: the least a proxy doing the guard's
// header work would do, measured in the same run as the guard.
func BenchmarkBaselineHeaders(b *testing.B) {
	h := &headers.Handler{Request: &headers.HeaderOps{
		Delete: []string{"X-Outstatic-Pro"},
		Set: http.Header{"X-Outstatic-Pro": {"true"}, "X-Outstatic-Features": {guard.ProFeatures},
			"X-Outstatic-Project": {"proj_1"}},
	}}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := h.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	runMiddleware(b, h.ServeHTTP)
}

// runMiddleware serves one request over and over: each pass finds the
// previous pass's headers and replaces them, as it would a client's.
func runMiddleware(b *testing.B, serve func(http.ResponseWriter, *http.Request, caddyhttp.Handler) error) {
	w := httptest.NewRecorder()
	r := benchRequest()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := serve(w, r, nopNext{}); err != nil {
			b.Fatal(err)
		}
	}
}
