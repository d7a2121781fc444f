// Opening the store the guard and the relay share: Redis in any of its
// forms (store.RedisConfig), or Caddy's configured storage.

package outstatic

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/store"

	"github.com/caddyserver/caddy/v2"
)

// RelayRedis keeps the relay's state (storage) or the tokens shared with
// guards (token_store) in Redis: one server, a master watched by Sentinel,
// or a Redis Cluster, with an ACL user and TLS if it asks for them. The
// fields and their checks are store.RedisConfig's.
type RelayRedis = store.RedisConfig

// openStore opens Redis when r is set, else Caddy's configured storage.
// The returned function releases it.
func openStore(ctx caddy.Context, r *RelayRedis, repl *caddy.Replacer) (store.Store, func() error, error) {
	if r == nil {
		if err := store.CheckWritable(ctx.Storage(), "outstatic"); err != nil {
			return nil, nil, err
		}
		return store.NewStorage(ctx.Storage(), "outstatic"), func() error { return nil }, nil
	}
	if err := checkRedisSecrets(r, repl); err != nil {
		return nil, nil, err
	}
	logRedisThroughCaddy()
	st, client, err := store.OpenRedis(r, func(s string) string { return repl.ReplaceKnown(s, "") })
	if err != nil {
		return nil, nil, err
	}
	return st, client.Close, nil
}

// checkRedisSecrets refuses a username or password placeholder of r that
// expands to nothing (expandSecret's error).
func checkRedisSecrets(r *RelayRedis, repl *caddy.Replacer) error {
	fields := map[string]string{"username": r.Username, "password": r.Password}
	if r.Sentinel != nil {
		fields["sentinel password"] = r.Sentinel.Password
	}
	for _, name := range []string{"username", "password", "sentinel password"} {
		if _, err := expandSecret(repl, name, fields[name]); err != nil {
			return err
		}
	}
	return nil
}

var redisLoggerOnce sync.Once

// logRedisThroughCaddy sends go-redis's own messages (a dial that failed,
// the master Sentinel named) to Caddy's log, named "redis", rather than to
// stderr. go-redis has one logger for the process.
func logRedisThroughCaddy() {
	redisLoggerOnce.Do(func() {
		redis.SetLogger(redisLogger{caddy.Log().Named("redis")})
	})
}

// redisLogger is go-redis's logging interface over zap. Its messages name
// addresses and errors, never a password.
type redisLogger struct{ l *zap.Logger }

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.l.Info(fmt.Sprintf(format, v...))
}
