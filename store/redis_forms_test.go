package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
)

// The forms of Redis people run, each reached through RedisConfig and
// OpenRedis as the relay reaches it: an ACL user, TLS with a managed
// service's username, a Sentinel-watched master, a Cluster. Each runs the
// whole conformance suite.

const testPassword = "pw-Redis-7c1e" // the ACL user's; never in an error

// expandTest stands in for Caddy's placeholder expansion.
var expandTest = strings.NewReplacer("{env.REDIS_PASSWORD}", testPassword).Replace

// openConfig opens a store over c, closing its client when the test ends.
func openConfig(t *testing.T, c RedisConfig) Store {
	t.Helper()
	s, client, err := OpenRedis(&c, expandTest)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return s
}

// dbBackends gives each subtest a database of its own on one deployment:
// base with DB set to the next number. The servers run with 32 databases,
// for the suite's 14 subtests.
func dbBackends(base RedisConfig) func(t *testing.T) backend {
	var next atomic.Int32
	return func(t *testing.T) backend {
		c := base
		c.DB = int(next.Add(1))
		return func(prefix string) Store {
			c.Prefix = prefix
			return openForPrefix(t, c)
		}
	}
}

// openForPrefix opens c, keeping a prefix the suite means to be invalid
// (which Check would refuse) for the store to refuse call by call.
func openForPrefix(t *testing.T, c RedisConfig) Store {
	t.Helper()
	if validateRedisPrefix(c.Prefix) != nil {
		prefix := c.Prefix
		c.Prefix = ""
		s := openConfig(t, c).(*redisStore)
		return newRedis(s.c, prefix, s.waitReplica)
	}
	return openConfig(t, c)
}

var manyDBs = testredis.WithArgs("--databases", "32")

func TestRedisACLConformance(t *testing.T) {
	srv := testredis.Start(t, manyDBs, testredis.WithACL("relay", testPassword))
	runConformance(t, dbBackends(RedisConfig{Addresses: []string{srv.Addr},
		Username: "relay", Password: "{env.REDIS_PASSWORD}"}))
}

// TestRedisACLRefused: with the default user off, a client without the
// user, or with a wrong password, is refused, and the error holds no
// password.
func TestRedisACLRefused(t *testing.T) {
	srv := testredis.Start(t, testredis.WithACL("relay", testPassword))
	ctx := context.Background()
	for name, c := range map[string]RedisConfig{
		"no user":        {Addresses: []string{srv.Addr}},
		"wrong password": {Addresses: []string{srv.Addr}, Username: "relay", Password: "{env.OTHER}"},
		"no password":    {Addresses: []string{srv.Addr}, Username: "relay"},
	} {
		s := openConfig(t, c)
		// a batch too: its commands go in one pipeline, whose
		// connection the server refuses before any of them runs
		put, get := PutOp("k", []byte("v"), 0), GetOp("k")
		s.Batch(ctx, put, get)
		if put.Err == nil || get.Err == nil || errors.Is(get.Err, ErrNotFound) {
			t.Errorf("%s: a batch's Put %v, Get %v; want the refusal", name, put.Err, get.Err)
		}
		err := s.Put(ctx, "k", []byte("v"), 0)
		if err == nil {
			t.Errorf("%s: Put succeeded", name)
			continue
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestRedisTLSConformance is a managed Redis: TLS with a CA of its own and
// an ACL user.
func TestRedisTLSConformance(t *testing.T) {
	ca := testredis.NewCA(t, "redis test CA")
	srv := testredis.Start(t, manyDBs, testredis.WithTLS(ca.Issue(t, "127.0.0.1")), testredis.WithACL("relay", testPassword))
	runConformance(t, dbBackends(RedisConfig{Addresses: []string{srv.Addr},
		Username: "relay", Password: "{env.REDIS_PASSWORD}", TLS: &RedisTLS{CAFile: ca.File}}))
}

// TestRedisTLSFailsClosed: a certificate from another CA, one for another
// name (dialled or set as server_name), and the system's roots for a
// private CA are refused, with an error that says it is the certificate;
// the right CA with server_name set to the certificate's name passes.
func TestRedisTLSFailsClosed(t *testing.T) {
	ca := testredis.NewCA(t, "redis test CA")
	other := testredis.NewCA(t, "another CA")
	srv := testredis.Start(t, testredis.WithTLS(ca.Issue(t, "redis.internal")))
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		c    RedisConfig
		want string
	}{
		{"wrong CA", RedisConfig{Addresses: []string{srv.Addr}, TLS: &RedisTLS{CAFile: other.File, ServerName: "redis.internal"}}, "set tls ca_file"},
		{"system roots", RedisConfig{Addresses: []string{srv.Addr}, TLS: &RedisTLS{ServerName: "redis.internal"}}, "set tls ca_file"},
		{"wrong name", RedisConfig{Addresses: []string{srv.Addr}, TLS: &RedisTLS{CAFile: ca.File}}, "set tls server_name"},
		{"wrong server_name", RedisConfig{Addresses: []string{srv.Addr}, TLS: &RedisTLS{CAFile: ca.File, ServerName: "other.internal"}}, "set tls server_name"},
	} {
		s := openConfig(t, tc.c)
		err := s.Put(ctx, "k", []byte("v"), 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Put = %v, want an error saying %q", tc.name, err, tc.want)
		}
		if _, err := s.Get(ctx, "k"); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Get = %v, want a TLS error", tc.name, err)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	good := openConfig(t, RedisConfig{Addresses: []string{srv.Addr}, TLS: &RedisTLS{CAFile: ca.File, ServerName: "redis.internal"}})
	mustPut(t, good, "k", "v", 0)
	wantValue(t, good, "k", "v")
}

func TestRedisSentinelConformance(t *testing.T) {
	g := testredis.StartSentinel(t, manyDBs)
	runConformance(t, dbBackends(RedisConfig{Addresses: g.SentinelAddrs(),
		Sentinel: &RedisSentinel{Master: g.MasterName}}))
}

// TestRedisClusterConformance runs the suite on a three-master Cluster,
// then on one whose masters have a replica each (every write waits for
// one), one subtest after the other, the cluster emptied before each: a
// Cluster has one database.
func TestRedisClusterConformance(t *testing.T) {
	for _, replicas := range []int{0, 1} {
		t.Run(fmt.Sprintf("replicas=%d", replicas), func(t *testing.T) {
			cl := testredis.StartCluster(t, 3, replicas)
			base := RedisConfig{Addresses: cl.Addrs(), Cluster: true}
			runConformanceSerial(t, func(t *testing.T) backend {
				s := openConfig(t, base).(*redisStore)
				err := s.c.(*redis.ClusterClient).ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
					return c.FlushAll(ctx).Err()
				})
				if err != nil {
					t.Fatal(err)
				}
				return func(prefix string) Store {
					c := base
					c.Prefix = prefix
					return openForPrefix(t, c)
				}
			}, true)
		})
	}
}

// TestRedisClusterWritesWaitForReplica: on a Cluster with replicas, a
// write counts only once a replica of its slot's master holds it. With
// every replica hung (for less than the cluster's node timeout, so none is
// failed yet), a write fails with ErrUnconfirmed.
func TestRedisClusterWritesWaitForReplica(t *testing.T) {
	cl := testredis.StartCluster(t, 3, 1)
	s := openConfig(t, RedisConfig{Addresses: cl.Addrs(), Cluster: true})
	ctx := context.Background()
	mustPut(t, s, "tokens/a", "A", time.Minute)
	for _, n := range cl.Nodes {
		if role, err := n.Role(ctx); err != nil || role == "slave" {
			n.Freeze(t)
		}
	}
	if _, err := s.Take(ctx, "tokens/a"); !errors.Is(err, ErrUnconfirmed) {
		t.Errorf("Take with the replicas hung = %v, want ErrUnconfirmed", err)
	}
	if err := s.Put(ctx, "tokens/b", []byte("v"), time.Minute); !errors.Is(err, ErrUnconfirmed) {
		t.Errorf("Put with the replicas hung = %v, want ErrUnconfirmed", err)
	}
}

// TestRedisClusterListsEveryShard: keys spread over the three masters'
// slots are all listed, and each master holds some of them.
func TestRedisClusterListsEveryShard(t *testing.T) {
	cl := testredis.StartCluster(t, 3, 0)
	s := openConfig(t, RedisConfig{Addresses: cl.Addrs()[:1], Cluster: true})
	var want []string
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		mustPut(t, s, "keys/"+k, "v", 0)
		want = append(want, "keys/"+k)
	}
	wantList(t, s, "keys/", want...)
	var mu sync.Mutex
	perNode := map[string]int64{}
	err := s.(*redisStore).c.(*redis.ClusterClient).ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
		n, err := c.DBSize(ctx).Result()
		mu.Lock()
		perNode[c.Options().Addr] = n
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for addr, n := range perNode {
		if n == 0 {
			t.Errorf("master %s holds none of the 12 keys (%v): the test proves nothing about listing every shard", addr, perNode)
		}
	}
}
