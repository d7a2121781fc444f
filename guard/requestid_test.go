package guard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/requestlog"
)

// idKey is where these tests' server keeps a request's id.
type idKey struct{}

// serverID is the id the server gave r: never its X-Request-Id header.
func serverID(r *http.Request) string {
	id, _ := r.Context().Value(idKey{}).(string)
	return id
}

// TestEntriesOfARequestCarryItsID: what a request makes the guard log (the
// callback origins it learned from the verdict it met, a refusal) carries
// the id the server gave that request, not the one the client sent.
func TestEntriesOfARequestCarryItsID(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	mem := memory{}
	g := New(Config{APIKey: "ost_test", BindLogin: true, BindMagic: true, Callbacks: mem, Bindings: mem,
		Logger: zap.New(core), RequestID: serverID})
	r := httptest.NewRequest(http.MethodGet, "https://blog.example.com/outstatic/api/outstatic/login?callback=https://evil.example/outstatic/api/outstatic/callback", nil)
	r.Header.Set("X-Request-Id", "client-chosen")
	r = r.WithContext(context.WithValue(r.Context(), idKey{}, "server-given"))
	_, _, _ = g.Check(httptest.NewRecorder(), r, relayVerdict("https://blog.example.com/outstatic"), false)

	if logs.Len() < 2 {
		t.Fatalf("only %d entries: %v", logs.Len(), logs.All())
	}
	for _, e := range logs.All() {
		if got := e.ContextMap()[requestlog.Key]; got != "server-given" {
			t.Errorf("%q: %s = %v", e.Message, requestlog.Key, got)
		}
	}
}
