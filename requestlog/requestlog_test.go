package requestlog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// serverID stands for the server's id: it reads the request's context
// value, never a header.
type ctxKey struct{}

func serverID(r *http.Request) string {
	id, _ := r.Context().Value(ctxKey{}).(string)
	return id
}

// An entry carries the server's id and not the client's X-Request-Id; a
// request without an id, no request, or a Logger without a Source, adds no
// field.
func TestEntriesCarryTheServersID(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Request-Id", "client-chosen")

	New(zap.New(core), serverID).Info(r, "no id")
	ided := r.WithContext(context.WithValue(r.Context(), ctxKey{}, "server-given"))
	l := New(zap.New(core), serverID)
	l.Debug(ided, "debug", zap.String("k", "v"))
	l.Info(ided, "info")
	l.Warn(ided, "warn")
	l.Error(ided, "error")
	New(zap.New(core), nil).Info(ided, "no source")
	l.Info(nil, "no request")
	zap.New(core).Info("field", Source(serverID).Field(ided))

	want := map[string]any{"no id": nil, "debug": "server-given", "info": "server-given", "warn": "server-given",
		"error": "server-given", "no source": nil, "no request": nil, "field": "server-given"}
	entries := logs.All()
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(entries), len(want))
	}
	for _, e := range entries {
		if got := e.ContextMap()[Key]; got != want[e.Message] {
			t.Errorf("%q: %s = %v, want %v", e.Message, Key, got, want[e.Message])
		}
	}
}

// An entry whose level is off asks nothing of the Source and allocates
// nothing.
func TestDroppedEntriesCostNothing(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	asked := 0
	l := New(zap.New(core), func(*http.Request) string { asked++; return "id" })
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if n := testing.AllocsPerRun(100, func() { l.Info(r, "dropped") }); n != 0 {
		t.Errorf("a dropped entry allocates %v times", n)
	}
	if asked != 0 || logs.Len() != 0 {
		t.Errorf("asked %d times, %d entries", asked, logs.Len())
	}
}
