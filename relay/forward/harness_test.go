package forward

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testclock"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"
)

// Keys and URLs the tests share. The keys look like secrets on purpose:
// the log test looks for them.
const (
	testKey    = "ost_test_k3y_s3cret"
	revokedKey = "ost_revoked_k3y_s3cret" // configured here, refused by the service
	wrongKey   = "ost_wrong_k3y_s3cret"   // configured nowhere

	publicOrigin   = "https://blog.example.com/outstatic"
	publicSite     = "https://blog.example.com"
	publicCallback = "https://blog.example.com/api/outstatic/callback"
	publicMagic    = "https://blog.example.com/api/outstatic/magic-link-callback"
	publicReturn   = "https://blog.example.com/outstatic"
)

// harness is a fake service with a Forwarder in front of it, both real
// HTTP servers on 127.0.0.1.
type harness struct {
	svc   *fakeservice.Canned
	fwd   *Forwarder
	relay *httptest.Server
	mem   *relay.MemoryCallbacks
	cache *verdict.Cache
	clock *testclock.Clock
	logs  *observer.ObservedLogs
}

func newHarness(t *testing.T, edit ...func(*ForwardConfig)) *harness {
	t.Helper()
	h := &harness{svc: fakeservice.NewCanned(t, testKey), clock: testclock.New(time.Unix(1_800_000_000, 0))}
	h.cache = verdict.New(verdict.Options{
		Service:    h.svc.Base(),
		TTL:        time.Minute,
		StaleGrace: time.Hour,
		Timeout:    2 * time.Second,
		Now:        h.clock.Now,
	})
	t.Cleanup(h.cache.Close)
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	h.mem = relay.NewMemoryCallbacks(time.Minute)
	up, err := url.Parse(h.svc.Base())
	if err != nil {
		t.Fatal(err)
	}
	cfg := ForwardConfig{
		Upstream:              up,
		Keys:                  []string{testKey, revokedKey},
		Targets:               targets(t, false, publicOrigin),
		Verdicts:              h.cache,
		Callbacks:             h.mem,
		ResponseHeaderTimeout: 2 * time.Second,
		Logger:                zap.New(core),
	}
	for _, e := range edit {
		e(&cfg)
	}
	h.fwd, err = NewForwarder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.relay = httptest.NewServer(h.fwd)
	t.Cleanup(h.relay.Close)
	t.Cleanup(h.fwd.CloseIdleConnections)
	return h
}

func targets(tb testing.TB, strict bool, raws ...string) validate.Targets {
	tb.Helper()
	ts := validate.Targets{Strict: strict}
	for _, raw := range raws {
		o, err := validate.ParseOrigin(raw)
		if err != nil {
			tb.Fatal(err)
		}
		ts.Origins = append(ts.Origins, o)
	}
	return ts
}

// send makes one request to the relay and returns the response with its
// body read.
func (h *harness) send(t *testing.T, method, path string, hdr http.Header, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.relay.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := h.relay.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// post sends a JSON body with the given key ("" for none).
func (h *harness) post(t *testing.T, path, key, body string) (*http.Response, string) {
	t.Helper()
	hdr := http.Header{"Content-Type": {"application/json"}}
	if key != "" {
		hdr.Set("Authorization", "Bearer "+key)
	}
	return h.send(t, http.MethodPost, path, hdr, body)
}

// wantError checks a local refusal: status and exact body.
func wantError(t *testing.T, resp *http.Response, body string, status int, code string) {
	t.Helper()
	want := `{"error":"` + code + `"}`
	if resp.StatusCode != status || body != want {
		t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, status, want)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

// noCORS fails if the response carries any CORS header.
func noCORS(t *testing.T, resp *http.Response) {
	t.Helper()
	for name := range resp.Header {
		if strings.HasPrefix(name, "Access-Control-") {
			t.Errorf("unexpected CORS header %s: %q", name, resp.Header.Values(name))
		}
	}
}
