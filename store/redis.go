package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewRedis returns a Store kept in Redis, with every key stored as
// "<prefix>:<key>". prefix is 1 to MaxKeyLen bytes of printable ASCII
// without spaces, backslashes or the pattern characters * ? [ ]; if it is
// not, every method returns the error.
//
// Each method is one Redis command, so each is atomic for every client of
// the server (or cluster) without any lock: SET PX for Put, SET NX PX for
// PutNew, GETDEL for Take (Redis 6.2 or later) and SCAN MATCH for List.
// Redis expires keys itself. c may be a single client, a failover client or
// a cluster client; a cluster is scanned on every master.
//
// The timeouts that bound each call when Redis is unreachable are those of
// c (DialTimeout, ReadTimeout, WriteTimeout, MaxRetries) and of ctx.
func NewRedis(c redis.UniversalClient, prefix string) Store {
	r := &redisStore{c: c, prefix: prefix}
	r.err = validateRedisPrefix(prefix)
	return r
}

type redisStore struct {
	c      redis.UniversalClient
	prefix string
	err    error // an invalid prefix, returned by every method
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
	if err := r.check(key); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if err := r.c.Set(ctx, r.key(key), value, redisTTL(ttl)).Err(); err != nil {
		return fmt.Errorf("store: redis SET %q: %w", key, err)
	}
	return nil
}

// PutNew implements Store.
func (r *redisStore) PutNew(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := r.check(key); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	set, err := r.c.SetNX(ctx, r.key(key), value, redisTTL(ttl)).Result()
	if err != nil {
		return fmt.Errorf("store: redis SET NX %q: %w", key, err)
	}
	if !set {
		return ErrExists
	}
	return nil
}

// Get implements Store.
func (r *redisStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := r.check(key); err != nil {
		return nil, err
	}
	b, err := r.c.Get(ctx, r.key(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: redis GET %q: %w", key, err)
	}
	return b, nil
}

// Take implements Store.
func (r *redisStore) Take(ctx context.Context, key string) ([]byte, error) {
	if err := r.check(key); err != nil {
		return nil, err
	}
	b, err := r.c.GetDel(ctx, r.key(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: redis GETDEL %q: %w", key, err)
	}
	return b, nil
}

// Delete implements Store.
func (r *redisStore) Delete(ctx context.Context, key string) error {
	if err := r.check(key); err != nil {
		return err
	}
	if err := r.c.Del(ctx, r.key(key)).Err(); err != nil {
		return fmt.Errorf("store: redis DEL %q: %w", key, err)
	}
	return nil
}

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
		iter := c.Scan(ctx, 0, match, 200).Iterator()
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
		return nil, fmt.Errorf("store: redis SCAN %q: %w", prefix, err)
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
