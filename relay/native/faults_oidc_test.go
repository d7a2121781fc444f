package native

import (
	"errors"
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
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
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
	iss.Delay = time.Hour // only the relay's giving up ends a slow call
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
// issuer's return). Each step sends the browser back to the site with
// ?error=google-relay-failed; when the issuer is slow or hangs, the issuer
// sees the relay give up (its client timeout, 1s here, holds: the issuer
// would answer only after an hour); a 100 MB answer is not read into
// memory (under 16 MB allocated, and the relay stops reading it); logins
// that start together while the issuer hangs wait for one discovery
// together, not in turn; a healthy login works again afterwards; and no
// goroutine is left behind.
func TestNativeOIDCFaults(t *testing.T) {
	m, iss := issuerBehindFaults(t)
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.OIDC = &login.OIDC{Name: "google", Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
		c.Client = &http.Client{Timeout: time.Second}
	})
	env.client.Timeout = testwait.Bound // a relay that never answers fails the test, not hangs it
	// fresh is a relay whose login has not discovered the issuer nor
	// fetched its keys yet: the faults meet the first fetch of each.
	fresh := func() { env.rebuild(t, 0, nil) }
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
	before := testwait.Running()

	// cut: the faults the relay must be seen leaving unfinished
	cut := map[faulty.Fault]bool{faulty.Slow: true, faulty.Hang: true, faulty.Huge: true}
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
				hits, gaveUp := iss.Hits(), iss.GaveUp()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				status, final := env.follow(t, step)
				runtime.ReadMemStats(&after)
				if iss.Hits() == hits {
					t.Fatal("the step did not call the issuer")
				}
				if status != http.StatusFound || final != nativeCallback+"?error=google-relay-failed" {
					t.Errorf("ended %d at %q", status, final)
				}
				if alloc := after.TotalAlloc - before.TotalAlloc; f == faulty.Huge && alloc > 16<<20 {
					t.Errorf("a 100 MB answer: %d MB allocated", alloc>>20)
				}
				if cut[f] {
					testwait.Until(t, "the issuer sees the relay leave its answer unfinished", func() bool { return iss.GaveUp() > gaveUp })
				}
			})
		}
	}
	// Logins that start together while the issuer hangs wait for one
	// discovery together, not in turn. The relay's client here has no
	// timeout, so nothing ends the discovery but the test: once all three
	// logins wait inside prepare and the issuer holds one discovery, the
	// test breaks that connection, and all three answer from its failure
	// without asking again (in turn, the second would ask and hang).
	t.Run("discovery/hang/concurrent", func(t *testing.T) {
		env.rebuild(t, 0, func(c *NativeConfig) { c.Client = &http.Client{} })
		defer env.rebuild(t, 0, nil)
		starts := []string{startURL(t, env), startURL(t, env), startURL(t, env)}
		iss.SetOn(mockoidc.DiscoveryEndpoint, faulty.Hang)
		defer iss.Set(faulty.None)
		hits := iss.Hits()
		var wg sync.WaitGroup
		for _, start := range starts {
			wg.Go(func() {
				res, err := env.client.Get(start)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if res.Header.Get("Location") != nativeCallback+"?error=google-relay-failed" {
					t.Errorf("a concurrent start ended at %q", res.Header.Get("Location"))
				}
			})
		}
		testwait.Inside(t, "three logins waiting for the discovery", "(*oidcLogin).prepare", 3)
		testwait.Until(t, "the issuer holding a discovery", func() bool { return iss.Hits() > hits })
		iss.CloseClientConnections()
		wg.Wait()
		if n := iss.Hits() - hits; n != 1 {
			t.Errorf("the issuer was asked for discovery %d times by three logins at once, want 1", n)
		}
	})
	healthy("after the faults")
	env.client.CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections() // the relay's client's
	before.Ended(t, 2)
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
// greets and resets, or greets and says nothing more. While it holds
// (hold, until let), it does nothing at all with the connections it
// accepts. It counts the connections it accepted, and those of them their
// client closed (the server itself closes none but by reset or close).
// drop ends the connections it keeps open; close ends everything.
type brokenSMTP struct {
	ln           net.Listener
	mode         atomic.Value // string
	accepted     atomic.Int64
	clientClosed atomic.Int64
	mu           sync.Mutex
	gate         chan struct{} // closed: act on connections; open: hold them
	conns        []net.Conn
	wg           sync.WaitGroup
}

func startBrokenSMTP(t *testing.T) *brokenSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &brokenSMTP{ln: ln, gate: make(chan struct{})}
	close(b.gate)
	b.mode.Store("reset")
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			gate := b.gate
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			b.accepted.Add(1)
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				b.serve(c, gate)
			}()
		}
	}()
	t.Cleanup(b.close)
	return b
}

// serve waits for gate, then answers c as the mode says, and counts c
// as closed by its client if its client closes it.
func (b *brokenSMTP) serve(c net.Conn, gate <-chan struct{}) {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		// the client sends nothing before a greeting: reading tells when
		// it goes away, or when drop or close ends the connection
		if _, err := io.Copy(io.Discard, c); !errors.Is(err, net.ErrClosed) {
			b.clientClosed.Add(1)
		}
	}()
	select {
	case <-gate:
	case <-closed:
		return
	}
	mode := b.mode.Load().(string)
	if strings.HasPrefix(mode, "greet") {
		_, _ = io.WriteString(c, "220 smtp.example.com ESMTP\r\n")
	}
	if strings.HasSuffix(mode, "reset") {
		_ = c.(*net.TCPConn).SetLinger(0) // close sends RST
		c.Close()
	}
	<-closed
}

// hold makes the server leave the connections it accepts from now on
// alone until let.
func (b *brokenSMTP) hold() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gate = make(chan struct{})
}

// let lets the held connections, and those to come, meet the mode.
func (b *brokenSMTP) let() {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.gate:
	default:
		close(b.gate)
	}
}

// drop closes every connection the server keeps open.
func (b *brokenSMTP) drop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

func (b *brokenSMTP) close() {
	b.ln.Close()
	b.let()
	b.drop()
	b.wg.Wait()
}

// smtpFaultEnv is a native env whose relays send login links through
// smtp, each send bounded by timeout.
func smtpFaultEnv(t *testing.T, smtp *brokenSMTP, timeout time.Duration) (*nativeEnv, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	env := newNativeEnv(t, func(_ int, c *NativeConfig) {
		c.Email = &login.Email{Mail: mail.Config{Addr: smtp.ln.Addr().String(), Username: "relay", Password: "smtp-secret",
			From: "Blog <login@example.com>", TLS: "none", Timeout: timeout}}
		c.Logger = zap.New(core)
	})
	env.client.Timeout = testwait.Bound
	return env, logs
}

// settleWithin is env.settle, failing t if a send is still running after
// testwait.Bound.
func settleWithin(t *testing.T, env *nativeEnv, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { env.settle(); close(done) }()
	testwait.Recv(t, what, done)
}

// TestNativeMagicLinkSMTPFaults asks for a member's login link while the
// SMTP server resets or hangs, before or after its greeting. The reply is
// the same 200 {"success":true} as ever and never waits for the message:
// with a mail timeout of an hour and the SMTP server holding the
// connection unanswered, the reply arrives while the send is still under
// way, and the failure is logged once the server lets it fail. With a
// mail timeout of 2s, a send to a server that hangs gives up by that
// timeout: it fails with a timeout error, logged, and the server sees the
// relay close the connection. No goroutine or connection is left behind.
func TestNativeMagicLinkSMTPFaults(t *testing.T) {
	const failed = "sending a login link failed"
	modes := []string{"reset", "hang", "greet-reset", "greet-hang"}
	before := testwait.Running()

	t.Run("the reply does not wait", func(t *testing.T) {
		smtp := startBrokenSMTP(t)
		env, logs := smtpFaultEnv(t, smtp, time.Hour)
		for i, mode := range modes {
			smtp.mode.Store(mode)
			smtp.hold()
			accepted := smtp.accepted.Load()
			status, out := env.askLink(t, i%2, "bob@example.com")
			if status != 200 || len(out) != 1 || out["success"] != true {
				t.Errorf("%s: reply %d %v, want 200 {\"success\":true}", mode, status, out)
			}
			// The send cannot have ended: the server has not answered it.
			if n := logs.FilterMessage(failed).Len(); n != i {
				t.Errorf("%s: %d failed sends logged when the reply came, want %d: the reply waited for SMTP", mode, n, i)
			}
			testwait.Until(t, mode+": the relay connecting to SMTP", func() bool { return smtp.accepted.Load() > accepted })
			smtp.let()
			if strings.HasSuffix(mode, "hang") {
				smtp.drop()
			}
			settleWithin(t, env, mode+": the send ending once SMTP fails it")
			if n := logs.FilterMessage(failed).Len(); n != i+1 {
				t.Errorf("%s: %d failed sends logged, want %d", mode, n, i+1)
			}
		}
		smtp.close()
	})

	t.Run("the send gives up at the mail timeout", func(t *testing.T) {
		smtp := startBrokenSMTP(t)
		env, logs := smtpFaultEnv(t, smtp, 2*time.Second)
		for i, mode := range []string{"hang", "greet-hang"} {
			smtp.mode.Store(mode)
			closed := smtp.clientClosed.Load()
			if status, out := env.askLink(t, i%2, "bob@example.com"); status != 200 || out["success"] != true {
				t.Errorf("%s: reply %d %v", mode, status, out)
			}
			settleWithin(t, env, mode+": the send giving up at the mail timeout")
			entries := logs.FilterMessage(failed).All()
			if len(entries) != i+1 {
				t.Fatalf("%s: %d failed sends logged, want %d", mode, len(entries), i+1)
			}
			if err, _ := entries[i].ContextMap()["error"].(string); !strings.Contains(err, "deadline exceeded") && !strings.Contains(err, "i/o timeout") {
				t.Errorf("%s: the send failed with %q, want the mail timeout's error", mode, err)
			}
			testwait.Until(t, mode+": the SMTP server seeing the relay close the connection", func() bool { return smtp.clientClosed.Load() > closed })
		}
		smtp.close()
	})
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	before.Ended(t, 2)
}
