package native

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-outstatic/caddy-outstatic/internal/faulty"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
)

// namedListener is a listener that names another address as its own.
type namedListener struct {
	net.Listener
	addr net.Addr
}

func (l namedListener) Addr() net.Addr { return l.addr }

// issuerBehindFaults starts a mockoidc issuer behind a fault injector.
// mockoidc listens on its own port but is told the injector's address as
// its own, so its discovery document, its tokens' issuer and every
// endpoint name the injector: each call the relay makes to the issuer
// goes through the faults, and the tokens still verify.
func issuerBehindFaults(t *testing.T) (*mockoidc.MockOIDC, *faulty.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	real, _ := url.Parse("http://" + ln.Addr().String())
	proxy := httputil.NewSingleHostReverseProxy(real)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // canceled calls are the point
	iss := faulty.New(proxy)
	iss.Delay = 3 * time.Second
	t.Cleanup(iss.Close)
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(namedListener{ln, iss.Listener.Addr()}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m, iss
}

// TestNativeOIDCFaults puts the OpenID Connect issuer behind a fault
// injector and runs a Google login through every fault at each of the
// issuer's three endpoints the relay calls: the discovery document (at
// the login start), the token endpoint and the keys (JWKS) (both at the
// issuer's return). Each step ends within the relay's client timeout (1s
// here; asserted with a margin, 1.5s) and sends the browser back to the
// site with ?error=google-relay-failed; a 100 MB answer is not read into
// memory (under 16 MB allocated); logins that start together while the
// issuer hangs each end within the timeout too (they share one
// discovery); a healthy login works again afterwards; and no goroutine is
// left behind.
func TestNativeOIDCFaults(t *testing.T) {
	m, iss := issuerBehindFaults(t)
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.OIDC = &OIDCIssuer{Name: "google", Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
		c.Client = &http.Client{Timeout: time.Second}
	})
	relay := env.relays[0]
	// fresh is a login that has not discovered the issuer nor fetched its
	// keys yet: the faults meet the first fetch of each.
	fresh := func() {
		o := relay.oidc
		var err error
		if relay.oidc, err = newOIDCLogin(o.cfg, o.callback, o.client, o.now); err != nil {
			t.Fatal(err)
		}
	}
	bob := func() { m.QueueUser(&mockoidc.MockUser{Subject: "b", Email: "bob@example.com", EmailVerified: true}) }
	healthy := func(when string) {
		t.Helper()
		fresh()
		bob()
		if final := env.googleLogin(t, 0, nil); !strings.HasPrefix(final, nativeCallback+"?exchange_token=") {
			t.Fatalf("healthy login %s: %q", when, final)
		}
	}
	healthy("before the faults")
	env.client.CloseIdleConnections()
	baseline := steadyGoroutines()

	for _, ep := range []struct{ name, path string }{
		{"discovery", mockoidc.DiscoveryEndpoint},
		{"token", mockoidc.TokenEndpoint},
		{"jwks", mockoidc.JWKSEndpoint},
	} {
		for _, f := range faulty.All {
			t.Run(ep.name+"/"+f.String(), func(t *testing.T) {
				fresh()
				start := startURL(t, env)
				step := start
				if ep.name != "discovery" {
					// the start discovers the issuer while it works; the
					// fault meets the return
					bob()
					_, authorize := env.follow(t, start)
					_, step = env.follow(t, authorize)
					if !strings.HasPrefix(step, env.urls[0]+"/outstatic/auth/oidc/callback?") {
						t.Fatalf("issuer sent the browser to %q", step)
					}
				}
				iss.SetOn(ep.path, f)
				defer iss.Set(faulty.None)
				hits := iss.Hits()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				began := time.Now()
				status, final := env.follow(t, step)
				took := time.Since(began)
				runtime.ReadMemStats(&after)
				if iss.Hits() == hits {
					t.Fatal("the step did not call the issuer")
				}
				if took > 1500*time.Millisecond {
					t.Errorf("took %v, want within the 1s client timeout", took)
				}
				if status != http.StatusFound || final != nativeCallback+"?error=google-relay-failed" {
					t.Errorf("ended %d at %q", status, final)
				}
				if alloc := after.TotalAlloc - before.TotalAlloc; f == faulty.Huge && alloc > 16<<20 {
					t.Errorf("a 100 MB answer: %d MB allocated", alloc>>20)
				}
			})
		}
	}
	// Logins that start together while the issuer hangs wait for one
	// discovery together, not in turn: each ends within the timeout.
	t.Run("discovery/hang/concurrent", func(t *testing.T) {
		fresh()
		starts := []string{startURL(t, env), startURL(t, env), startURL(t, env)}
		iss.SetOn(mockoidc.DiscoveryEndpoint, faulty.Hang)
		defer iss.Set(faulty.None)
		var wg sync.WaitGroup
		for _, start := range starts {
			wg.Go(func() {
				began := time.Now()
				res, err := env.client.Get(start)
				took := time.Since(began)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if took > 1500*time.Millisecond || res.Header.Get("Location") != nativeCallback+"?error=google-relay-failed" {
					t.Errorf("a concurrent start ended after %v at %q", took, res.Header.Get("Location"))
				}
			})
		}
		wg.Wait()
	})
	healthy("after the faults")
	env.client.CloseIdleConnections()
	if n := settled(baseline + 2); n > baseline+2 {
		t.Errorf("goroutines: %d before the faults, %d after", baseline, n)
	}
}

// startURL calls google-exchange on relay 0 and returns its start URL.
func startURL(t *testing.T, env *nativeEnv) string {
	t.Helper()
	status, out, _ := env.call(t, 0, "POST", "/outstatic/auth/google-exchange", env.key, map[string]any{"callbackUrl": nativeCallback})
	start, _ := out["url"].(string)
	if status != 200 || start == "" {
		t.Fatalf("google-exchange: %d %v", status, out)
	}
	return start
}

// brokenSMTP is an SMTP server on 127.0.0.1 that never works: it accepts
// each connection and then, by its mode, resets it at once, says nothing,
// greets and resets, or greets and says nothing more. Close ends every
// connection it holds.
type brokenSMTP struct {
	ln    net.Listener
	mode  atomic.Value // string
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startBrokenSMTP(t *testing.T) *brokenSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &brokenSMTP{ln: ln}
	b.mode.Store("reset")
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mode := b.mode.Load().(string)
			if strings.HasPrefix(mode, "greet") {
				_, _ = io.WriteString(c, "220 smtp.example.com ESMTP\r\n")
			}
			if strings.HasSuffix(mode, "reset") {
				_ = c.(*net.TCPConn).SetLinger(0) // close sends RST
				c.Close()
				continue
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(b.close)
	return b
}

func (b *brokenSMTP) close() {
	b.ln.Close()
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

// TestNativeMagicLinkSMTPFaults asks for a member's login link while the
// SMTP server resets or hangs, before or after its greeting. The reply is
// the same 200 {"success":true} as ever, within a second (it never waits
// for the message); the send in the background gives up within the mail
// timeout (2s here; asserted with a margin, 3s) and logs its failure; and
// no goroutine or connection is left behind.
func TestNativeMagicLinkSMTPFaults(t *testing.T) {
	smtp := startBrokenSMTP(t)
	core, logs := observer.New(zap.DebugLevel)
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.Email = &EmailLogin{Mail: mail.Config{Addr: smtp.ln.Addr().String(), Username: "relay", Password: "smtp-secret",
			From: "Blog <login@example.com>", TLS: "none", Timeout: 2 * time.Second}}
		c.Logger = zap.New(core)
	})
	env.client.CloseIdleConnections()
	baseline := steadyGoroutines()

	modes := []string{"reset", "hang", "greet-reset", "greet-hang"}
	for i, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			smtp.mode.Store(mode)
			began := time.Now()
			status, out := env.askLink(t, i%2, "bob@example.com")
			if took := time.Since(began); took > time.Second {
				t.Errorf("the reply waited for SMTP: %v", took)
			}
			if status != 200 || len(out) != 1 || out["success"] != true {
				t.Errorf("reply %d %v, want 200 {\"success\":true}", status, out)
			}
			env.settle()
			if took := time.Since(began); took > 3*time.Second {
				t.Errorf("the send ended after %v, want within the 2s mail timeout", took)
			}
			if n := logs.FilterMessage("sending a login link failed").Len(); n != i+1 {
				t.Errorf("%d failed sends logged, want %d", n, i+1)
			}
		})
	}
	smtp.close()
	env.client.CloseIdleConnections()
	if n := settled(baseline + 2); n > baseline+2 {
		t.Errorf("goroutines: %d before the faults, %d after", baseline, n)
	}
}
