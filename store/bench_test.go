package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
)

// BenchmarkTake is the redemption of a one-time token: a Put when it is
// minted, and the Take that spends it, in the file store and in a real
// Redis (started on a free loopback port).
func BenchmarkTake(b *testing.B) { benchStores(b, benchTake) }

// benchStores runs bench on the file store (in the benchmark's temporary
// directory) and on a real Redis (started on a free loopback port).
func benchStores(b *testing.B, bench func(*testing.B, Store)) {
	b.Run("file", func(b *testing.B) {
		bench(b, NewStorage(&certmagic.FileStorage{Path: b.TempDir()}, "outstatic"))
	})
	b.Run("redis", func(b *testing.B) {
		srv := testredis.Start(b)
		bench(b, NewRedis(testredis.Client(b, srv.Addr), "outstatic"))
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

// BenchmarkPutNew is a spent marker's write, as each login and refresh
// makes one: PutNew of a key nobody has written, synced.
func BenchmarkPutNew(b *testing.B) { benchStores(b, benchPutNew) }

func benchPutNew(b *testing.B, s Store) {
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := s.PutNew(ctx, fmt.Sprintf("spent/%d", i), []byte("1765170000000"), 120e9); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFileFloor is the file system's share of BenchmarkTake/file:
// the least a Put and a Take of one value in its own file can do (create,
// write and rename a file into place; rename it away, read and remove it),
// with nothing of the store around it. On a disk where creating a file is
// slow, the file store cannot be faster than this.
func BenchmarkFileFloor(b *testing.B) {
	dir := b.TempDir()
	value := make([]byte, 120)
	i := 0
	for b.Loop() {
		name := filepath.Join(dir, fmt.Sprintf("t%d", i))
		i++
		f, err := os.CreateTemp(dir, ".tmp:*")
		if err != nil {
			b.Fatal(err)
		}
		_, err = f.Write(value)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), name)
		}
		if err == nil {
			err = os.Rename(name, name+".taken")
		}
		if err == nil {
			_, err = os.ReadFile(name + ".taken")
		}
		if err == nil {
			err = os.Remove(name + ".taken")
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
