package roster

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// BenchmarkUnknownKeys is the refusal of distinct made-up keys, 32 at a
// time, on the file store and on a real Redis: the whole check, by the
// hash index (a share of one read of the key epoch each), and, for
// comparison in the same run, the read of each key's hash record that the
// index spares.
func BenchmarkUnknownKeys(b *testing.B) {
	flood := make([]string, 100_000)
	for i := range flood {
		flood[i], _, _, _ = relay.NewKey()
	}
	stores := map[string]func(b *testing.B) store.Store{
		"file": func(b *testing.B) store.Store {
			return store.NewStorage(&certmagic.FileStorage{Path: b.TempDir()}, "outstatic")
		},
		"redis": func(b *testing.B) store.Store {
			return store.NewRedis(testredis.Client(b, testredis.Start(b).Addr), "outstatic")
		},
	}
	for _, kind := range []string{"file", "redis"} {
		for _, how := range []string{"index", "per-key"} {
			b.Run(kind+"/"+how, func(b *testing.B) {
				r, err := New(Config{Projects: []*Project{testProject()}, Store: stores[kind](b)})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				for _, key := range flood[:2] { // writes the hash records, lists them
					if _, err := r.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
						b.Fatal(err)
					}
				}
				check := func(key string) error {
					_, err := r.ProjectForKey(ctx, key)
					return err
				}
				if how == "per-key" {
					check = func(key string) error {
						_, err := r.projectOfHash(ctx, relay.HashKey(key))
						return err
					}
				}
				var next atomic.Int64
				b.SetParallelism(16)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						// Each key once per 100,000: the memory of
						// unknown keys does not answer.
						if err := check(flood[next.Add(1)%int64(len(flood))]); err != relay.ErrMalformedKey {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
