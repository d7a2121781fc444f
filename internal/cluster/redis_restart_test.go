package cluster

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
)

// TestClusterRedisKilledAndRestarted kills the Redis the three instances
// share in the middle of logins, and restarts it on the same port (with
// its append-only file, as a production Redis with persistence). While it
// is down every call that needs the store fails cleanly and quickly with
// the documented answer; after, the instances recover by themselves; a
// token minted before the crash is redeemed exactly once, one redeemed
// before stays dead, and a login sent to GitHub before the crash comes
// back after it with a token that is redeemed once.
func TestClusterRedisKilledAndRestarted(t *testing.T) {
	rd := testredis.StartDurable(t)
	c := startCluster(t, 3, redisStore(rd.Addr))
	a, b, cc := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	key := a.adminKey(t, "create")
	pending := c.exchangeToken(t, key, a, b) // minted, not redeemed
	spent := c.exchangeToken(t, key, b, cc)
	if r := a.redeem(t, spent); r.Status != 200 {
		t.Fatalf("redeeming before the crash: %d %s", r.Status, r.Body)
	}

	// a login whose GitHub hop spans the crash: sent to GitHub before it
	r := a.do(t, http.MethodPost, "/outstatic/auth/github-exchange", key, map[string]string{"callback_url": callback})
	start, _ := r.JSON()["url"].(string)
	authorize := b.get(t, start)

	rd.Kill()
	// No instance has read the key epoch since: a memory is fresh for a
	// request that begins within key_recheck (1s) of now, and for no other.
	killed := time.Now()
	type call struct {
		name   string
		do     func(n *instance) reply
		status int
		code   string
		// fromMemory: the call needs no store while the key memory is
		// fresh (key_recheck, 1s), so it may also answer 200; once the
		// memory is stale it must fail closed like the others.
		fromMemory bool
	}
	calls := []call{
		{"key check", func(n *instance) reply { return n.do(t, http.MethodGet, "/outstatic/project", key, nil) },
			http.StatusServiceUnavailable, "service-unavailable", true},
		{"github-exchange", func(n *instance) reply {
			return n.do(t, http.MethodPost, "/outstatic/auth/github-exchange", key, map[string]string{"callback_url": callback})
		}, http.StatusServiceUnavailable, "service-unavailable", true},
		{"exchange-token", func(n *instance) reply { return n.redeem(t, pending) },
			http.StatusServiceUnavailable, "service-unavailable", false},
	}
	// All at once: each waits for the store client's retries.
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		for _, cl := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				began := time.Now()
				r := cl.do(n)
				fresh := cl.fromMemory && r.Status == http.StatusOK && began.Before(killed.Add(time.Second))
				if !fresh && (r.Status != cl.status || r.JSON()["error"] != cl.code) {
					t.Errorf("%s on %s with Redis down: %d %s; want %d %s", cl.name, n.Name, r.Status, r.Body, cl.status, cl.code)
				}
				t.Logf("%s on %s with Redis down: %d", cl.name, n.Name, r.Status)
			}()
		}
	}
	wg.Wait()

	rd.Restart(t)
	for _, n := range c.Nodes {
		testwait.Until(t, n.Name+" recovering after the restart", func() bool {
			return n.do(t, http.MethodGet, "/outstatic/project", key, nil).Status == 200
		})
	}
	if r := cc.redeem(t, pending); r.Status != 200 {
		t.Fatalf("the token minted before the crash, after it: %d %s", r.Status, r.Body)
	}
	for _, n := range c.Nodes {
		for _, tok := range []string{pending, spent} {
			if r := n.redeem(t, tok); r.Status != 400 || r.JSON()["error"] != "invalid-exchange-token" {
				t.Fatalf("a used token on %s after the restart: %d %s", n.Name, r.Status, r.Body)
			}
		}
	}
	final := cc.get(t, b.get(t, authorize))
	spanning, ok := strings.CutPrefix(final, callback+"?exchange_token=")
	if !ok {
		t.Fatalf("the login spanning the crash ended at %q", final)
	}
	for i, n := range c.Nodes {
		want := 400
		if i == 0 {
			want = 200
		}
		if r := n.redeem(t, spanning); r.Status != want {
			t.Fatalf("redemption %d of the spanning login's token on %s: %d %s", i+1, n.Name, r.Status, r.Body)
		}
	}
	fresh := c.exchangeToken(t, key, cc, a)
	if r := b.redeem(t, fresh); r.Status != 200 {
		t.Fatalf("a login after the restart: %d %s", r.Status, r.Body)
	}
	if !strings.HasPrefix(fresh, "xt_") {
		t.Fatalf("token %q", fresh)
	}
	c.checkSecrets(t, key, pending, spent, spanning, fresh)
}
