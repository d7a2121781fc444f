package verdict

import (
	"net"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
)

// TestFirstCheckRefusedAtStartIsNotAFailure: a key's first check refused
// at the dial (a relay in the same Caddy not listening yet) logs no
// warning; the retry that is refused again does, once; a first check that
// fails any other way warns at once.
func TestFirstCheckRefusedAtStartIsNotAFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	core, logs := observer.New(zapcore.WarnLevel)
	h := newHarness(t, func(o *Options) {
		o.Service = closed
		o.Logger = zap.New(core)
	})
	h.c.Watch(testKey)
	if v := h.waitApplied(); v.State != Unknown {
		t.Fatalf("a refused check gave %v", v.State)
	}
	if logs.Len() != 0 {
		t.Fatalf("the first refused check logged %v", logs.All())
	}
	h.clk.Advance(time.Minute)
	h.c.refreshDue()
	h.waitApplied()
	if n := logs.FilterMessage("api key check failed").Len(); n != 1 {
		t.Fatalf("the second refused check: %d warnings, want 1: %v", n, logs.All())
	}

	core, logs = observer.New(zapcore.WarnLevel)
	h = newHarness(t, func(o *Options) { o.Logger = zap.New(core) })
	h.svc.Set(fakeservice.KeyError)
	h.c.Watch(testKey)
	h.waitApplied()
	if n := logs.FilterMessage("api key check failed").Len(); n != 1 {
		t.Fatalf("a first check answered 5xx: %d warnings, want 1: %v", n, logs.All())
	}
}
