package cluster

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
)

// stores runs f against three instances sharing Redis, then a
// three-master Redis Cluster, then one directory through Caddy's
// file_system storage.
func stores(t *testing.T, f func(t *testing.T, c *cluster)) {
	t.Run("redis", func(t *testing.T) {
		rd := testredis.Start(t)
		f(t, startCluster(t, 3, redisStore(rd.Addr)))
	})
	t.Run("redis-cluster", func(t *testing.T) {
		rc := testredis.StartCluster(t, 3, 0)
		f(t, startCluster(t, 3, storeKind{relayLine: "storage redis " + strings.Join(rc.Addrs(), " ") + " {\n\t\t\tcluster\n\t\t}"}))
	})
	t.Run("file", func(t *testing.T) {
		f(t, startCluster(t, 3, fileStore(t.TempDir())))
	})
}

// TestClusterLoginAcrossInstances: a login started on A is carried on by
// B (the relay's start route and GitHub's return) and finished on C
// (exchange-token): the state, the token and the session are usable on
// any instance that shares the store and the secret. A second redemption
// anywhere fails, and the session refreshes on another instance.
func TestClusterLoginAcrossInstances(t *testing.T) {
	stores(t, func(t *testing.T, c *cluster) {
		a, b, cc := c.Nodes[0], c.Nodes[1], c.Nodes[2]
		key := a.adminKey(t, "create")
		for _, n := range c.Nodes {
			if r := n.do(t, http.MethodGet, "/outstatic/project", key, nil); r.Status != 200 || r.JSON()["project_slug"] != "blog" {
				t.Fatalf("key check on %s: %d %s", n.Name, r.Status, r.Body)
			}
		}
		token := c.exchangeToken(t, key, a, b)
		r := cc.redeem(t, token)
		if r.Status != 200 {
			t.Fatalf("exchange-token on C: %d %s", r.Status, r.Body)
		}
		user, _ := r.JSON()["user"].(map[string]any)
		session, _ := r.JSON()["session"].(map[string]any)
		if user["email"] != "ada@example.com" || session["refresh_token"] == "" {
			t.Fatalf("exchange-token on C answered %s", r.Body)
		}
		for _, n := range c.Nodes {
			if r := n.redeem(t, token); r.Status != http.StatusBadRequest || r.JSON()["error"] != "invalid-exchange-token" {
				t.Fatalf("second redemption on %s: %d %s", n.Name, r.Status, r.Body)
			}
		}
		refreshed := a.do(t, http.MethodPost, "/outstatic/auth/refresh-token", "", map[string]any{"refresh_token": session["refresh_token"]})
		if refreshed.Status != 200 {
			t.Fatalf("refresh on A of a session made on C: %d %s", refreshed.Status, refreshed.Body)
		}
		c.checkSecrets(t, key, token, session["access_token"], session["refresh_token"], refreshed.Body)
	})
}

// TestClusterOneRedemption: 100 concurrent redemptions of one exchange
// token, spread over the three instances, give exactly one session; the
// 99 others are refused with invalid-exchange-token.
func TestClusterOneRedemption(t *testing.T) {
	stores(t, func(t *testing.T, c *cluster) {
		key := c.Nodes[0].adminKey(t, "create")
		token := c.exchangeToken(t, key, c.Nodes[1], c.Nodes[2])
		var ok, refused, other atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := c.Nodes[i%3].redeem(t, token)
				switch {
				case r.Status == 200:
					ok.Add(1)
				case r.Status == 400 && r.JSON()["error"] == "invalid-exchange-token":
					refused.Add(1)
				default:
					other.Add(1)
					t.Errorf("redemption on %s: %d %s", c.Nodes[i%3].Name, r.Status, r.Body)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 || refused.Load() != 99 {
			t.Fatalf("%d successes, %d refusals, %d other answers; want 1 and 99", ok.Load(), refused.Load(), other.Load())
		}
		c.checkSecrets(t, key, token)
	})
}

// TestClusterKeyRotation: a key rotated through A's admin API is refused
// by every instance from a key_recheck (1s) on, and the new key is
// accepted by all.
func TestClusterKeyRotation(t *testing.T) {
	stores(t, func(t *testing.T, c *cluster) {
		old := c.Nodes[0].adminKey(t, "create")
		for _, n := range c.Nodes { // warm whatever each instance keeps
			if r := n.do(t, http.MethodGet, "/outstatic/project", old, nil); r.Status != 200 {
				t.Fatalf("key check on %s: %d %s", n.Name, r.Status, r.Body)
			}
		}
		rotated := c.Nodes[0].adminKey(t, "rotate")
		// An instance trusts what it remembers of the keys for at most
		// key_recheck (1s) since it last read the key epoch: a check that
		// begins that long after the rotation is refused everywhere.
		time.Sleep(time.Second)
		for _, n := range c.Nodes {
			if r := n.do(t, http.MethodGet, "/outstatic/project", old, nil); r.Status != http.StatusUnauthorized || r.JSON()["error"] != "invalid-api-key" {
				t.Fatalf("%s answers %d %s for the rotated key a key_recheck after the rotation", n.Name, r.Status, r.Body)
			}
		}
		for _, n := range c.Nodes {
			if r := n.do(t, http.MethodGet, "/outstatic/project", rotated, nil); r.Status != 200 {
				t.Fatalf("new key on %s: %d %s", n.Name, r.Status, r.Body)
			}
		}
		c.checkSecrets(t, old, rotated)
	})
}
