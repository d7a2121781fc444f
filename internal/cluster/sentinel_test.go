package cluster

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
)

// sentinelStore is "storage redis <sentinels> { sentinel <master> }".
func sentinelStore(g *testredis.SentinelGroup) storeKind {
	return storeKind{relayLine: fmt.Sprintf("storage redis %s {\n\t\t\tsentinel %s\n\t\t}",
		strings.Join(g.SentinelAddrs(), " "), g.MasterName)}
}

// TestClusterSentinelFailover runs two relays on a Sentinel-watched Redis
// (one master, one replica, three sentinels) and kills the master with
// SIGKILL in the middle of a run of logins, each token redeemed by four
// requests at once spread over both relays. While Sentinel promotes the
// replica, a call that needs the store answers 503 service-unavailable
// (GitHub's return, a browser redirect, sends the site error=invalid-state)
// and never hangs (the client's timeout would fail the test); every token is
// redeemed at most once, and exactly once unless the kill cut the winning
// redemption's answer (then one of its redemptions answered 503 and the
// token is spent); the run carries on against the new master with no
// restart.
func TestClusterSentinelFailover(t *testing.T) {
	g := testredis.StartSentinel(t)
	c := startCluster(t, 2, sentinelStore(g))
	a, b := c.Nodes[0], c.Nodes[1]
	key := a.adminKey(t, "create")
	const logins, redeemers, killAt = 24, 4, 8
	deadline := time.Now().Add(40 * time.Second)
	unavailable := func(r reply) bool {
		return r.Status == http.StatusServiceUnavailable && r.JSON()["error"] == "service-unavailable"
	}
	retry := func(what string, r reply) {
		t.Helper()
		if !unavailable(r) {
			t.Fatalf("%s: %d %s; want 200 or, during the failover, 503 service-unavailable", what, r.Status, r.Body)
		}
		if time.Now().After(deadline) {
			for _, n := range c.Nodes {
				b, _ := os.ReadFile(n.LogPath)
				lines := strings.Split(string(b), "\n")
				t.Logf("%s log tail:\n%s", n.Name, strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
			for _, s := range append([]*testredis.Server{g.Replica}, g.Sentinels...) {
				t.Logf("%s log:\n%s", s.Addr, s.Log())
			}
			t.Fatalf("%s: still 503 two minutes into the run: %s", what, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	var killed sync.WaitGroup
	var tokens []string
	wins := make([]int, logins)
	cut := make([]bool, logins) // a redemption of the token answered 503
	for i := range logins {
		if i == killAt {
			killed.Go(g.Master.Kill)
		}
		start, back := a, b
		if i%2 == 1 {
			start, back = b, a
		}
		var token string
		for token == "" {
			var r reply
			token, r = tryLogin(t, key, start, back)
			if token == "" {
				retry("a login", r)
			}
		}
		tokens = append(tokens, token)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for j := range redeemers {
			n := c.Nodes[j%2]
			wg.Go(func() {
				for {
					r := n.redeem(t, token)
					switch {
					case r.Status == http.StatusOK:
						mu.Lock()
						wins[i]++
						mu.Unlock()
						return
					case r.Status == http.StatusBadRequest && r.JSON()["error"] == "invalid-exchange-token":
						return
					case unavailable(r):
						mu.Lock()
						cut[i] = true
						mu.Unlock()
					}
					if !unavailable(r) || time.Now().After(deadline) {
						t.Errorf("redemption of login %d on %s: %d %s", i, n.Name, r.Status, r.Body)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
		wg.Wait()
	}
	killed.Wait()

	spentUnseen := testredis.CheckSingleUse(t, "login token", wins, cut)
	for i, token := range tokens {
		for _, n := range c.Nodes {
			if r := n.redeem(t, token); r.Status != http.StatusBadRequest || r.JSON()["error"] != "invalid-exchange-token" {
				t.Errorf("login %d's token redeemed again on %s after the run: %d %s", i, n.Name, r.Status, r.Body)
			}
		}
	}
	t.Logf("%d logins, the master killed before login %d; %d tokens spent by a redemption whose answer the kill cut", logins, killAt, spentUnseen)
	c.checkSecrets(t, append([]any{key}, anySlice(tokens)...)...)
}

// tryLogin is exchangeToken that gives up, with the answer, when a step
// does not go on: a login during a failover may be refused.
func tryLogin(t *testing.T, key string, a, b *instance) (string, reply) {
	t.Helper()
	r := a.do(t, http.MethodPost, "/outstatic/auth/github-exchange", key, map[string]string{"callback_url": callback})
	if r.Status != http.StatusOK {
		return "", r
	}
	start, _ := r.JSON()["url"].(string)
	r = b.do(t, http.MethodGet, strings.TrimPrefix(start, publicURL), "", nil)
	if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
		return "", r
	}
	back := b.get(t, r.Header.Get("Location")) // the fake GitHub
	r = b.do(t, http.MethodGet, strings.TrimPrefix(back, publicURL), "", nil)
	if r.Status != http.StatusFound && r.Status != http.StatusSeeOther {
		return "", r
	}
	final := r.Header.Get("Location")
	if final == callback+"?error=invalid-state" {
		// GitHub's return could not record the state as spent: the relay
		// sends the browser back to the site with the login refused,
		// the answer of that step (a redirect, not JSON) when the store
		// fails. Retried as a 503 would be.
		return "", reply{Status: http.StatusServiceUnavailable, Body: []byte(`{"error":"service-unavailable"}`)}
	}
	token, ok := strings.CutPrefix(final, callback+"?exchange_token=")
	if !ok {
		t.Fatalf("the login on %s ended at %q", b.Name, final)
	}
	return token, r
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
