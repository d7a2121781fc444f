package native

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// BenchmarkSessionSteps is the exchange-token redemption (#5), the session
// refresh (#7) and the minting of an exchange token at the end of a login
// (an e-mail link's, with no provider to call) on a native relay over a
// real Redis and over the file store (in the test's temporary directory),
// in process: each token is used once, minted before the timer starts. The difference from respond is bench/login.sh's; this is
// the relay's own cost, store round trips included. Each row also reports
// cpu-ns/op, the process's CPU time per step (Redis's own is not in it):
// on a shared machine it moves far less than ns/op.
func BenchmarkSessionSteps(b *testing.B) {
	b.Run("redis", func(b *testing.B) {
		srv := testredis.Start(b)
		benchSessionSteps(b, store.NewRedis(testredis.Client(b, srv.Addr), "outstatic"))
	})
	b.Run("file", func(b *testing.B) {
		benchSessionSteps(b, store.NewStorage(&certmagic.FileStorage{Path: b.TempDir()}, "outstatic"))
	})
}

// benchSessionSteps is BenchmarkSessionSteps on st.
func benchSessionSteps(b *testing.B, st store.Store) {
	pub, _ := url.Parse("https://relay.example.com")
	p := nativeProject()
	p.Members = map[string]string{"ada@example.com": "owner"}
	nat, err := NewNative(NativeConfig{
		PublicURL: pub,
		Projects:  []Project{p},
		GitHub:    github.OAuthApp{ClientID: "c", ClientSecret: "s"},
		Store:     st,
		Secret:    bytes.Repeat([]byte("s"), 32),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	mint := func(b *testing.B) string {
		token, err := nat.CompleteVerifiedLogin(ctx, "blog", nativeCallback, "ada@example.com", "Ada")
		if err != nil {
			b.Fatal(err)
		}
		return token
	}
	post := func(b *testing.B, path string, body map[string]string) *httptest.ResponseRecorder {
		data, _ := json.Marshal(body)
		req := httptest.NewRequest("POST", "https://relay.example.com"+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		nat.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		return w
	}
	redeem := func(b *testing.B, token string) string {
		w := post(b, "/outstatic/auth/exchange-token", map[string]string{"exchange_token": token, "callback_url": nativeCallback})
		var out struct {
			Session struct {
				Refresh string `json:"refresh_token"`
			} `json:"session"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			b.Fatal(err)
		}
		return out.Session.Refresh
	}
	b.Run("mint", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuPerOp(b)
		for b.Loop() {
			mint(b)
		}
		cpu()
	})
	b.Run("exchange-token", func(b *testing.B) {
		tokens := make([]string, b.N)
		for i := range tokens {
			tokens[i] = mint(b)
		}
		b.ReportAllocs()
		b.ResetTimer()
		cpu := cpuPerOp(b)
		for i := range b.N {
			redeem(b, tokens[i])
		}
		cpu()
	})
	b.Run("refresh-token", func(b *testing.B) {
		tokens := make([]string, b.N)
		for i := range tokens {
			tokens[i] = redeem(b, mint(b))
		}
		b.ReportAllocs()
		b.ResetTimer()
		cpu := cpuPerOp(b)
		for i := range b.N {
			post(b, "/outstatic/auth/refresh-token", map[string]string{"refresh_token": tokens[i]})
		}
		cpu()
	})
}

// cpuPerOp starts counting the process's CPU time; the function it returns
// reports it per op of b, as cpu-ns/op.
func cpuPerOp(b *testing.B) func() {
	start := processCPU(b)
	return func() {
		b.ReportMetric(float64((processCPU(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// processCPU is the CPU time, user and system, this process has used
// (these tests run where Redis does: on Unix).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
