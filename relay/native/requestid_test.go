package native

import (
	"net/http"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/requestlog"
)

// TestSpentRefreshWarningCarriesRequestID: the warning that a spent
// refresh token came back, written deep in the refresh with only its
// context at hand before, names the request that brought it.
func TestSpentRefreshWarningCarriesRequestID(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.Logger = zap.New(core)
		c.RequestID = func(r *http.Request) string { return "rid:" + r.URL.Path }
	})
	first := env.sessionOn(t, 0)
	if status, out := env.refresh(t, 0, str(first, "refresh_token")); status != 200 {
		t.Fatalf("refresh: %d %v", status, out)
	}
	env.advance(refreshGrace + 1)
	if status, _ := env.refresh(t, 0, str(first, "refresh_token")); status != 401 {
		t.Fatalf("a spent token after the grace: %d", status)
	}
	warned := logs.FilterMessageSnippet("spent refresh token came back").All()
	if len(warned) != 1 {
		t.Fatalf("warnings: %v", logs.All())
	}
	if got := warned[0].ContextMap()[requestlog.Key]; got != "rid:/outstatic/auth/refresh-token" {
		t.Fatalf("%s = %v", requestlog.Key, got)
	}
}
