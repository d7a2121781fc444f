package doctor

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// redis checks that a configured Redis answers, and reports the form it
// reached (one server, Sentinel, Cluster), the role of the node it
// reached and whether it speaks TLS.
func (r *run) redis(ctx context.Context, rd Redis) {
	c := rd.Config
	subject := rd.Where + " " + strings.Join(c.Addrs(), ",")
	expand := rd.Expand
	if expand == nil {
		expand = func(s string) string { return s }
	}
	o, err := c.Options(expand)
	if err != nil {
		r.finding("redis", subject, err.Error(), "correct the redis block of "+rd.Where)
		return
	}
	// A doctor reports; it does not wait for Redis to come up.
	o.DialTimeout, o.ReadTimeout, o.MaxRetries, o.DialerRetries = 3*time.Second, 3*time.Second, -1, 1
	client := redis.NewUniversalClient(o)
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		if p := store.RedisTLSProblem(err); p != "" {
			r.finding("redis", subject, p+": "+err.Error(), "give tls ca_file the CA that signed the server's certificate, and server_name a name it holds")
			return
		}
		r.finding("redis", subject, "does not answer: "+err.Error(),
			"start Redis there, or fix the addresses, username and password of "+rd.Where)
		return
	}
	form, ok := redisForm(ctx, c, o, client)
	detail := "answers: " + form + ", " + tlsState(c)
	if !ok {
		r.finding("redis", subject, detail, "point "+rd.Where+" at the master: a replica refuses writes (with Sentinel, name the master the sentinels watch)")
		return
	}
	r.ok("redis", subject, detail)
}

// redisForm describes the form reached and the role of the node; ok is
// false when the node that would take writes is not a master.
func redisForm(ctx context.Context, c store.RedisConfig, o *redis.UniversalOptions, client redis.UniversalClient) (string, bool) {
	switch c.Form() {
	case "cluster":
		cc, isCluster := client.(*redis.ClusterClient)
		if !isCluster {
			return "Cluster (a client of one node)", true
		}
		var masters atomic.Int32
		err := cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error { masters.Add(1); return nil })
		info, infoErr := cc.ClusterInfo(ctx).Result()
		state := "state unknown"
		if infoErr == nil {
			state = "state " + infoValue(info, "cluster_state")
		}
		if err != nil {
			return fmt.Sprintf("Cluster (its masters not listed: %v)", err), false
		}
		return fmt.Sprintf("Cluster of %d masters (%s), role master", masters.Load(), state), state == "state ok"
	case "sentinel":
		role, ok := roleOf(ctx, client)
		return fmt.Sprintf("Sentinel, master %s at %s, role %s", c.Sentinel.Master, masterAddr(ctx, o), role), ok
	}
	role, ok := roleOf(ctx, client)
	return "one server, role " + role, ok
}

// roleOf reads the node's role from INFO replication: "master" (ok) or
// "replica". An ACL user may not be allowed INFO; then the role is not
// known, which is no finding.
func roleOf(ctx context.Context, c redis.Cmdable) (string, bool) {
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return "unknown (INFO refused: " + err.Error() + ")", true
	}
	switch infoValue(info, "role") {
	case "master":
		return "master", true
	case "slave":
		return "replica", false
	}
	return "unknown", true
}

// masterAddr asks the sentinels, in turn, where the master is.
func masterAddr(ctx context.Context, o *redis.UniversalOptions) string {
	for _, a := range o.Addrs {
		s := redis.NewSentinelClient(&redis.Options{Addr: a, Password: o.SentinelPassword, TLSConfig: o.TLSConfig,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, MaxRetries: -1, DialerRetries: 1})
		addr, err := s.GetMasterAddrByName(ctx, o.MasterName).Result()
		s.Close()
		if err == nil && len(addr) == 2 {
			return addr[0] + ":" + addr[1]
		}
	}
	return "an address no sentinel gave"
}

// infoValue is the value of key in INFO's "key:value" lines.
func infoValue(info, key string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return v
		}
	}
	return ""
}

// tlsState says whether the connection is TLS, and what it trusts.
func tlsState(c store.RedisConfig) string {
	switch {
	case c.TLS == nil:
		return "no TLS"
	case c.TLS.CAFile != "":
		return "TLS, the certificate verified against " + c.TLS.CAFile
	}
	return "TLS, the certificate verified against the system's roots"
}
