package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/batching"
	"github.com/redis/go-redis/v9"
)

// NewRedis returns a Store kept in Redis, with every key stored as
// "<prefix>:<key>". prefix is 1 to MaxKeyLen bytes of printable ASCII
// without spaces, backslashes or the pattern characters * ? [ ]; if it is
// not, every method returns the error.
//
// Each method is one single-key Redis command, so each is atomic for every
// client of the server without any lock, and on a Cluster each goes to the
// one master that holds its key's slot: SET PX for Put, SET NX PX for
// PutNew, GETDEL for Take (Redis 6.2 or later) and SCAN MATCH for List.
// Batch sends those commands in one pipeline (redis_batch.go), and the
// commands of concurrent callers share pipelines (redis_share.go).
// No operation spans two keys, so none needs a hash tag. Redis expires
// keys itself. c may be a single client, a failover client or a cluster
// client; a cluster is listed master by master, and on a cluster with
// replicas a write waits for one (see write). OpenRedis makes the client
// from a RedisConfig, and behind Sentinel waits for a replica too.
//
// The timeouts that bound each call when Redis is unreachable are those of
// c (DialTimeout, ReadTimeout, WriteTimeout, MaxRetries) and of ctx.
func NewRedis(c redis.UniversalClient, prefix string) Store {
	return newRedis(c, prefix, false)
}

// newRedis is NewRedis; with waitReplica, every write is answered only once
// a replica has it too (see write).
func newRedis(c redis.UniversalClient, prefix string, waitReplica bool) *redisStore {
	r := &redisStore{c: c, prefix: prefix, waitReplica: waitReplica}
	r.err = validateRedisPrefix(prefix)
	return r
}

type redisStore struct {
	c      redis.UniversalClient
	prefix string
	err    error // an invalid prefix, returned by every method
	// waitReplica: c follows a Sentinel-watched master, whose replica
	// Sentinel promotes when it dies (see write). A cluster client waits
	// whenever the cluster has replicas.
	waitReplica bool
	// pipelines shares round trips among concurrent callers (see share).
	pipelines batching.Batches[*sharedOps]
}

// replicaWait bounds how long a write waits for a replica to confirm it.
const replicaWait = time.Second

// ErrUnconfirmed is wrapped by the error of a write that the master made
// but no replica confirmed in time: a failover could undo it, so it is not
// counted as done (a token taken this way is spent, and not handed out).
var ErrUnconfirmed = errors.New("store: no replica confirmed the write")

// write runs cmd. Behind Sentinel, a replica is promoted with what it has
// been sent, and replication does not wait: a token taken, a marker put or
// a key deleted on the old master could come back after a failover, and be
// used a second time. So there cmd runs on one connection with ROLE, and
// when the master has replicas, WAIT 1 follows: the write counts only once
// a replica holds it, and the replica Sentinel promotes is the one with the
// most of the master's writes. A master without replicas (the survivor of
// a failover, until the old master comes back as its replica) has none to
// wait for: nothing could be promoted over it. If the ACL user may not run
// ROLE, every write waits for a replica.
//
// A Cluster with replicas fails a shard over the same way, so there the
// write goes to the master of key's slot, as the cluster client would send
// it, and waits alike; an error makes the cluster client reload the
// cluster's layout, in case the slot has moved or its master died.
func (r *redisStore) write(ctx context.Context, key string, cmd func(redis.Cmdable) redis.Cmder) error {
	node, err := r.confirmingNode(ctx, key)
	if err != nil {
		return err
	}
	if node == nil {
		return cmd(r.c).Err()
	}
	err = writeConfirmed(ctx, node, cmd)
	if cc, ok := r.c.(*redis.ClusterClient); ok && err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, ErrUnconfirmed) {
		cc.ReloadState(ctx)
	}
	return err
}

// confirmingNode returns the client of the master a write of key must be
// confirmed on, or nil when writes need no replica's confirmation: a
// single server, or a Cluster without replicas.
func (r *redisStore) confirmingNode(ctx context.Context, key string) (*redis.Client, error) {
	switch c := r.c.(type) {
	case *redis.Client:
		if r.waitReplica {
			return c, nil
		}
	case *redis.ClusterClient:
		var replicas atomic.Int32
		err := c.ForEachSlave(ctx, func(context.Context, *redis.Client) error {
			replicas.Add(1)
			return nil
		})
		if err != nil || replicas.Load() == 0 {
			return nil, err
		}
		return c.MasterForKey(ctx, r.key(key))
	}
	return nil, nil
}

// writeConfirmed runs cmd on node and waits for a replica (see write).
func writeConfirmed(ctx context.Context, node *redis.Client, cmd func(redis.Cmdable) redis.Cmder) error {
	var c redis.Cmder
	unconfirmed := confirmed(ctx, node, func(p redis.Pipeliner) { c = cmd(p) }, func() bool { return c.Err() == nil })
	if err := c.Err(); err != nil {
		return err
	}
	return unconfirmed
}

// confirmed runs the commands queue adds on one connection to node, in one
// pipeline with ROLE, and, when wrote reports that one of them wrote and
// the master has replicas, waits for one of them to hold the writes. It
// returns why the writes are not confirmed, or nil.
func confirmed(ctx context.Context, node *redis.Client, queue func(redis.Pipeliner), wrote func() bool) error {
	conn := node.Conn()
	defer conn.Close()
	var role redis.Cmder
	// One round trip.
	pipelined(ctx, conn, func(p redis.Pipeliner) {
		queue(p)
		role = p.Do(ctx, "ROLE")
	})
	if !wrote() || replicasOf(role.(*redis.Cmd)) == 0 {
		return nil
	}
	n, err := conn.Do(ctx, "WAIT", 1, replicaWait.Milliseconds()).Int64()
	if err != nil {
		return err
	}
	if n < 1 {
		return ErrUnconfirmed
	}
	return nil
}

// pipeliner is what sends a pipeline: a client, or one of its connections.
type pipeliner interface {
	Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error)
}

// pipelined sends the commands queue adds in one pipeline of c; each is
// read alone from its own reply. The pipeline's own error is that of its
// first failed command (which may be GETDEL's redis.Nil), or, when no
// command holds it, an error that kept them all from running: a
// connection whose set-up the server refused (a wrong password) fails
// with a Redis error that go-redis gives to no command. Then it is every
// command's, so that none reads as done.
func pipelined(ctx context.Context, c pipeliner, queue func(redis.Pipeliner)) {
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		queue(p)
		return nil
	})
	if err == nil {
		return
	}
	for _, cmd := range cmds {
		if cmd.Err() != nil {
			return
		}
	}
	for _, cmd := range cmds {
		cmd.SetErr(err)
	}
}

// replicasOf counts the replicas in a master's ROLE reply ("master",
// offset, [[ip, port, offset]...]); a reply that cannot be read (ROLE
// refused by the ACL) counts as one, so the write waits.
func replicasOf(role *redis.Cmd) int {
	v, err := role.Slice()
	if err != nil || len(v) < 3 {
		return 1
	}
	replicas, ok := v[2].([]any)
	if !ok {
		return 1
	}
	return len(replicas)
}

// redisErr wraps a Redis error with the operation and key, and says so
// plainly when the cause is the server's TLS certificate.
func redisErr(op, key string, err error) error {
	if p := RedisTLSProblem(err); p != "" {
		return fmt.Errorf("store: redis %s %q: %s: %w", op, key, p, err)
	}
	return fmt.Errorf("store: redis %s %q: %w", op, key, err)
}

// RedisTLSProblem describes err when the server's TLS certificate was
// refused: signed by a CA not trusted, or not for the name dialled. It
// returns "" for any other error.
func RedisTLSProblem(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &hostname):
		return "the Redis server's TLS certificate does not hold the name dialled (set tls server_name to a name it holds)"
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &verify):
		return "the Redis server's TLS certificate is refused (set tls ca_file to the CA that signed it)"
	}
	if s := err.Error(); strings.Contains(s, "x509: ") || strings.Contains(s, "tls: failed to verify certificate") {
		return "the Redis server's TLS certificate is refused (check tls ca_file and server_name)"
	}
	return ""
}

func validateRedisPrefix(prefix string) error {
	if prefix == "" {
		return fmt.Errorf("store prefix: %w: empty", ErrInvalidKey)
	}
	if len(prefix) > MaxKeyLen {
		return fmt.Errorf("store prefix: %w: %d bytes, more than %d", ErrInvalidKey, len(prefix), MaxKeyLen)
	}
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i]; c <= ' ' || c > '~' || strings.IndexByte(`\*?[]`, c) >= 0 {
			return fmt.Errorf("store prefix: %w: %q has the byte %q", ErrInvalidKey, prefix, c)
		}
	}
	return nil
}

func (r *redisStore) check(key string) error {
	if r.err != nil {
		return r.err
	}
	return ValidateKey(key)
}

func (r *redisStore) key(key string) string { return r.prefix + ":" + key }

// redisTTL rounds a ttl up to whole milliseconds, the unit of PX: go-redis
// would round down, and a 1.5ms ttl must not become 1ms (nor 0.5ms 0).
func redisTTL(ttl time.Duration) time.Duration {
	if rem := ttl % time.Millisecond; rem != 0 {
		ttl += time.Millisecond - rem
	}
	return ttl
}

// Put implements Store.
func (r *redisStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	op := PutOp(key, value, ttl)
	r.Batch(ctx, op)
	return op.Err
}

// PutNew implements Store.
func (r *redisStore) PutNew(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	op := PutNewOp(key, value, ttl)
	r.Batch(ctx, op)
	return op.Err
}

// Get implements Store.
func (r *redisStore) Get(ctx context.Context, key string) ([]byte, error) {
	op := GetOp(key)
	r.Batch(ctx, op)
	return op.Value, op.Err
}

// Take implements Store.
func (r *redisStore) Take(ctx context.Context, key string) ([]byte, error) {
	op := TakeOp(key)
	r.Batch(ctx, op)
	return op.Value, op.Err
}

// Delete implements Store.
func (r *redisStore) Delete(ctx context.Context, key string) error {
	op := DeleteOp(key)
	r.Batch(ctx, op)
	return op.Err
}

// scanCount is how many keys one SCAN call looks at (a hint to Redis): a
// List walks the whole keyspace, and the audit log's bound or the hash
// index's listing should cost few round trips even among many sessions'
// records, while one call stays short for Redis (about 0.1 ms).
const scanCount = 1000

// List implements Store. Redis leaves expired keys out of SCAN.
func (r *redisStore) List(ctx context.Context, prefix string) ([]string, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := validateListPrefix(prefix); err != nil {
		return nil, err
	}
	// Neither the store prefix nor a key holds a pattern character, but
	// escaping costs nothing and keeps List right if the rules loosen.
	match := escapeGlob(r.key(prefix)) + "*"
	var (
		mu   sync.Mutex // ForEachMaster and ForEachShard scan nodes concurrently
		seen = make(map[string]struct{})
	)
	scanNode := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, match, scanCount).Iterator()
		for iter.Next(ctx) {
			// SCAN may return a key more than once; the map folds them.
			mu.Lock()
			seen[strings.TrimPrefix(iter.Val(), r.prefix+":")] = struct{}{}
			mu.Unlock()
		}
		return iter.Err()
	}
	eachNode := func(ctx context.Context, c *redis.Client) error { return scanNode(ctx, c) }
	var err error
	switch c := r.c.(type) {
	case *redis.ClusterClient:
		// SCAN walks one node only: a cluster is scanned master by master.
		err = c.ForEachMaster(ctx, eachNode)
	case *redis.Ring:
		err = c.ForEachShard(ctx, eachNode)
	default:
		err = scanNode(ctx, c)
	}
	if err != nil {
		return nil, redisErr("SCAN", prefix, err)
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// escapeGlob quotes the characters that SCAN MATCH reads as a pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`\*?[]^`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var _ Store = (*redisStore)(nil)
