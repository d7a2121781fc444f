package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
)

// BenchmarkTake is the redemption of a one-time token: a Put when it is
// minted, and the Take that spends it, in the file store and in a real
// Redis (started on a free loopback port).
func BenchmarkTake(b *testing.B) {
	b.Run("file", func(b *testing.B) {
		benchTake(b, NewStorage(&certmagic.FileStorage{Path: b.TempDir()}, "outstatic"))
	})
	b.Run("redis", func(b *testing.B) {
		srv := testredis.Start(b)
		benchTake(b, NewRedis(testredis.Client(b, srv.Addr), "outstatic"))
	})
}

func benchTake(b *testing.B, s Store) {
	ctx := context.Background()
	value := []byte(`{"callback":"https://blog.example.com/outstatic/api/outstatic/callback","payload":"sealed"}`)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("tokens/%d", i)
		i++
		if err := s.Put(ctx, key, value, 120e9); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Take(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
