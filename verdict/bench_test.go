package verdict

import (
	"context"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
)

// benchCache is a cache holding a fresh Valid verdict for testKey.
func benchCache(b *testing.B) *Cache {
	b.Helper()
	svc := fakeservice.NewKeyCheck(b)
	c := New(Options{Service: svc.Server.URL, Client: svc.Server.Client(), TTL: time.Hour})
	b.Cleanup(c.Close)
	if v := c.Lookup(context.Background(), testKey); v.State != Valid {
		b.Fatalf("warm-up: %v", v.State)
	}
	return c
}

func BenchmarkLookupCached(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if c.Lookup(ctx, testKey).State != Valid {
			b.Fatal("not valid")
		}
	}
}

func BenchmarkLookupCachedParallel(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if c.Lookup(ctx, testKey).State != Valid {
				b.Error("not valid")
				return
			}
		}
	})
}
