package roster

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// BenchmarkUnknownKeysRedis is the refusal of distinct made-up keys on a
// real Redis, 32 at a time: by the hash index (a share of one read of the
// key epoch each) and, for comparison in the same run, by the read of each
// key's hash record, as on a store that is not a store.Remote.
func BenchmarkUnknownKeysRedis(b *testing.B) {
	srv := testredis.Start(b)
	st := store.NewRedis(testredis.Client(b, srv.Addr), "outstatic")
	flood := make([]string, 100_000)
	for i := range flood {
		flood[i], _, _, _ = relay.NewKey()
	}
	for _, bc := range []struct {
		name  string
		index bool
	}{{"index", true}, {"per-key", false}} {
		b.Run(bc.name, func(b *testing.B) {
			r, err := New(Config{Projects: []*Project{testProject()}, Store: st})
			if err != nil {
				b.Fatal(err)
			}
			r.indexKeys = bc.index
			ctx := context.Background()
			for _, key := range flood[:2] { // writes the hash records, lists them
				if _, err := r.ProjectForKey(ctx, key); err != relay.ErrMalformedKey {
					b.Fatal(err)
				}
			}
			b.SetParallelism(16)
			b.ReportAllocs()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// Each key once per 100,000: the memory of unknown
					// keys does not answer.
					i := next.Add(1)
					if _, err := r.ProjectForKey(ctx, flood[i%int64(len(flood))]); err != relay.ErrMalformedKey {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
