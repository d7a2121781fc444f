package native

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/login"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// benchNative is a native relay with n projects (blog and n-1 more) on a
// file store, and a key of blog's, already confirmed once.
func benchNative(b *testing.B, n int) (*Native, string) {
	b.Helper()
	pub, _ := url.Parse("https://relay.example.com")
	projects := []Project{nativeProject()}
	if n > 1 {
		projects = append(projects, manyProjects(n-1)...)
	}
	nat, err := NewNative(NativeConfig{
		PublicURL: pub,
		Projects:  projects,
		GitHub:    github.OAuthApp{ClientID: "c", ClientSecret: "s"},
		Store:     store.NewStorage(&certmagic.FileStorage{Path: b.TempDir()}, "outstatic"),
		Secret:    bytes.Repeat([]byte("s"), 32),
	})
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := nat.Roster().CreateKey(context.Background(), "blog", false)
	if err != nil {
		b.Fatal(err)
	}
	return nat, key
}

// BenchmarkKeyCheck is the whole key check (#1, GET /outstatic/project)
// answered from memory, with 1 and 10,000 projects: the memory's epoch is
// read once a second of the benchmark's run, as under load.
func BenchmarkKeyCheck(b *testing.B) {
	for _, n := range []int{1, 10_000} {
		b.Run(fmt.Sprintf("projects=%d", n), func(b *testing.B) {
			nat, key := benchNative(b, n)
			req := httptest.NewRequest("GET", "https://relay.example.com/outstatic/project", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			w := &discardWriter{h: http.Header{}}
			nat.ServeHTTP(w, req)
			if w.status != 200 {
				b.Fatalf("key check: %d", w.status)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				nat.ServeHTTP(w, req)
			}
			if w.status != 200 {
				b.Fatalf("key check: %d", w.status)
			}
		})
	}
}

// BenchmarkKeyCheckUnknown is the key check of a well-formed unknown key
// on the file store, with 1 and 10,000 projects: the same key again and
// again, and a flood of 100,000 distinct random keys, the cost any caller
// can impose.
func BenchmarkKeyCheckUnknown(b *testing.B) {
	flood := make([]string, 100_000)
	for i := range flood {
		flood[i], _, _, _ = relay.NewKey()
	}
	for _, n := range []int{1, 10_000} {
		for _, keys := range []int{1, len(flood)} {
			b.Run(fmt.Sprintf("projects=%d/keys=%d", n, keys), func(b *testing.B) {
				nat, _ := benchNative(b, n)
				ctx := context.Background()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := nat.roster.ProjectForKey(ctx, flood[i%keys]); err != relay.ErrMalformedKey {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// benchClaims is what an access token carries for a member.
func benchClaims() sessionClaims {
	return sessionClaims{Project: "blog", KeyGen: "0123456789abcdef", Family: "fam-0123456789abcdef",
		End:    time.Now().Add(24 * time.Hour).Unix(),
		Member: login.Member{Login: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Emails: []string{"ada@example.com"}}}
}

// BenchmarkSeal seals an access token (XChaCha20-Poly1305 over JSON).
func BenchmarkSeal(b *testing.B) {
	s, err := seal.New(bytes.Repeat([]byte("s"), 32), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	c := benchClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Seal(seal.Access, c, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen opens an access token, as every parser and media call does.
func BenchmarkOpen(b *testing.B) {
	s, err := seal.New(bytes.Repeat([]byte("s"), 32), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := s.Seal(seal.Access, benchClaims(), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var c sessionClaims
		if err := s.Open(seal.Access, token, &c); err != nil {
			b.Fatal(err)
		}
	}
}
