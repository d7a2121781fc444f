package testredis

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelGroup is a master, its replica and three sentinels watching it
// under MasterName, which fail over within seconds of the master's death
// (down-after 1s).
type SentinelGroup struct {
	MasterName      string
	Master, Replica *Server
	Sentinels       []*Server
}

// SentinelAddrs are the sentinels' host:port, as a client's addresses.
func (g *SentinelGroup) SentinelAddrs() []string { return addrsOf(g.Sentinels) }

func addrsOf(servers []*Server) []string {
	var out []string
	for _, s := range servers {
		out = append(out, s.Addr)
	}
	return out
}

// StartSentinel starts a master and a replica (each with opts) and three
// sentinels, and waits until the replica is in sync and every sentinel
// knows the replica and the two other sentinels, so that a failover can
// be agreed on.
func StartSentinel(t testing.TB, opts ...Option) *SentinelGroup {
	t.Helper()
	g := &SentinelGroup{MasterName: "outstatic-test", Master: Start(t, opts...)}
	g.Replica = Start(t, append(opts, WithArgs("--replicaof", "127.0.0.1", port(g.Master.Addr)))...)
	waitFor(t, "the replica in sync", func(ctx context.Context) (bool, error) {
		info, err := infoOf(ctx, g.Replica, "replication")
		return strings.Contains(info, "master_link_status:up"), err
	})
	bin := serverBinary(t)
	for range 3 {
		g.Sentinels = append(g.Sentinels, startSentinel(t, bin, g.MasterName, g.Master.Addr))
	}
	for _, s := range g.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, DialTimeout: time.Second, ReadTimeout: time.Second})
		waitFor(t, "sentinel "+s.Addr+" to know the replica and the other sentinels", func(ctx context.Context) (bool, error) {
			replicas, err := c.Replicas(ctx, g.MasterName).Result()
			if err != nil {
				return false, err
			}
			others, err := c.Sentinels(ctx, g.MasterName).Result()
			return len(replicas) == 1 && len(others) == 2, err
		})
		c.Close()
	}
	return g
}

func startSentinel(t testing.TB, bin, master, masterAddr string) *Server {
	t.Helper()
	var lastErr error
	for range 3 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		logPath := filepath.Join(dir, "sentinel.log")
		text := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
logfile %s
sentinel resolve-hostnames no
sentinel monitor %[4]s 127.0.0.1 %[5]s 2
sentinel down-after-milliseconds %[4]s 1000
sentinel failover-timeout %[4]s 4000
sentinel parallel-syncs %[4]s 1
`, p, dir, logPath, master, port(masterAddr))
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		srv, err := runServer(t, bin, []string{conf, "--sentinel"}, p, dir, logPath, options{})
		if err == nil {
			return srv
		}
		lastErr = err
	}
	t.Fatalf("starting a sentinel: %v", lastErr)
	return nil
}

// Cluster is a Redis Cluster, made with redis-cli --cluster create.
type Cluster struct {
	Nodes []*Server
}

// Addrs are the nodes' host:port, as a client's seed addresses.
func (c *Cluster) Addrs() []string { return addrsOf(c.Nodes) }

// StartCluster starts masters cluster nodes (3 or more) and replicas of
// each, joins them with redis-cli --cluster create, and waits until every
// node sees every slot served and every replica is in sync.
func StartCluster(t testing.TB, masters, replicas int, opts ...Option) *Cluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("redis-cli is not on PATH: install the Debian package redis-server (its redis-tools has it)")
	}
	c := &Cluster{}
	nodes := masters * (1 + replicas)
	for range nodes {
		bus, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		c.Nodes = append(c.Nodes, Start(t, append(opts, WithArgs("--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-port", strconv.Itoa(bus),
			// long enough that a replica a test hangs is not yet failed
			"--cluster-node-timeout", "15000"))...))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		waitFor(t, "node "+n.Addr+" to see the whole cluster", func(ctx context.Context) (bool, error) {
			info, err := n.do(ctx, "CLUSTER", "INFO")
			return strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_slots_ok:16384") &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(nodes)), err
		})
		waitFor(t, "node "+n.Addr+" to be a master or a replica in sync", func(ctx context.Context) (bool, error) {
			info, err := infoOf(ctx, n, "replication")
			return infoLine(info, "role") == "master" || infoLine(info, "master_link_status") == "up", err
		})
		waitFor(t, "node "+n.Addr+" to list every slot's replicas", func(ctx context.Context) (bool, error) {
			c := redis.NewClient(n.clientOptions())
			defer c.Close()
			// CLUSTER SLOTS, as the cluster client reads the layout: each
			// entry is start, end, the master, then its replicas.
			slots, err := c.Do(ctx, "CLUSTER", "SLOTS").Slice()
			for _, e := range slots {
				if nodes, ok := e.([]any); !ok || len(nodes) != 2+1+replicas {
					return false, err
				}
			}
			return len(slots) > 0, err
		})
	}
	return c
}

// port is the port of host:port.
func port(addr string) string {
	return addr[strings.LastIndexByte(addr, ':')+1:]
}

// do sends one command to s alone and returns its answer as text.
func (s *Server) do(ctx context.Context, args ...any) (string, error) {
	c := redis.NewClient(s.clientOptions())
	defer c.Close()
	return c.Do(ctx, args...).Text()
}

func infoOf(ctx context.Context, s *Server, section string) (string, error) {
	return s.do(ctx, "INFO", section)
}

// Role is the node's role as it reports it: "master" or "slave".
func (s *Server) Role(ctx context.Context) (string, error) {
	info, err := infoOf(ctx, s, "replication")
	if err != nil {
		return "", err
	}
	if role := infoLine(info, "role"); role != "" {
		return role, nil
	}
	return "", fmt.Errorf("no role in INFO replication of %s", s.Addr)
}

// infoLine is the value of key in INFO's "key:value" lines, or "".
func infoLine(info, key string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return v
		}
	}
	return ""
}

// waitFor polls cond every 50ms for up to 20 seconds, then fails the test
// with what it waited for and the last error.
func waitFor(t testing.TB, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ok, err := cond(ctx)
		cancel()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waited 20s for %s; last error: %v", what, lastErr)
}

// CheckSingleUse fails the test for each token (what, numbered) used more
// than once, and for each never used whose every use was answered without
// an error (then it was lost). wins counts the successful uses of each
// token; cut marks those a use of which failed with an error (a Redis
// failover can cut the answer of the winning use: that token is spent
// unseen, never used twice). It returns how many were spent unseen.
func CheckSingleUse(t testing.TB, what string, wins []int, cut []bool) int {
	t.Helper()
	unseen := 0
	for i, n := range wins {
		switch {
		case n > 1:
			t.Errorf("%s %d was used %d times", what, i, n)
		case n == 0 && !cut[i]:
			t.Errorf("%s %d was never used, and no use of it failed: it was lost", what, i)
		case n == 0:
			unseen++
		}
	}
	return unseen
}
