// Command mint fills a native relay's store with one-time tokens for the
// benchmarks in bench/ (a module of its own, which cannot import this
// module's packages): exchange tokens to redeem, or refresh tokens to
// spend, each valid once, as fast as the store takes them, so that a
// benchmark can send each to the relay once under load.
//
//	mint -data DIR | -redis ADDR  -project SLUG -callback URL -email ADDR -n N [-refresh]
//
// It builds the same native relay as the Caddyfile's (the project with the
// callback's origin and the address as its owner, the secret from the
// environment variable -secret-env, hashed as the relay hashes a configured
// secret) over the same store, and ends each login the way an e-mail link
// does (login.Logins.CompleteVerified). With -refresh it redeems each
// exchange token in process and keeps the refresh token instead. It prints
// one token a line.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/caddyserver/certmagic"
	"github.com/redis/go-redis/v9"

	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/native"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

func main() {
	data := flag.String("data", "", "the file store: Caddy's storage directory (storage file_system DIR)")
	redisAddr := flag.String("redis", "", "the Redis store: its address")
	secretEnv := flag.String("secret-env", "BENCH_RELAY_SECRET", "the environment variable holding the relay's secret")
	project := flag.String("project", "", "the project's slug")
	callback := flag.String("callback", "", "the site's callback URL")
	email := flag.String("email", "", "the member's address, an owner of the project")
	n := flag.Int("n", 1000, "how many tokens")
	conc := flag.Int("conc", 16, "tokens minted at a time")
	refresh := flag.Bool("refresh", false, "print refresh tokens rather than exchange tokens")
	flag.Parse()
	if (*data == "") == (*redisAddr == "") || *project == "" || *callback == "" || *email == "" {
		fail("one of -data and -redis, and -project, -callback and -email are required")
	}
	var st store.Store
	if *data != "" {
		st = store.NewStorage(&certmagic.FileStorage{Path: *data}, "outstatic")
	} else {
		c := redis.NewClient(&redis.Options{Addr: *redisAddr, PoolSize: *conc})
		defer c.Close()
		st = store.NewRedis(c, store.DefaultRedisPrefix)
	}
	nat, err := relayFor(st, os.Getenv(*secretEnv), *project, *callback, *email)
	if err != nil {
		fail(err.Error())
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan struct{})
	go func() {
		for range *n {
			next <- struct{}{}
		}
		close(next)
	}()
	for range *conc {
		wg.Go(func() {
			for range next {
				tok, err := nat.CompleteVerifiedLogin(context.Background(), *project, *callback, *email, "Bench User")
				if err == nil && *refresh {
					tok, err = redeem(nat, tok, *callback)
				}
				if err != nil {
					fail(err.Error())
				}
				mu.Lock()
				fmt.Fprintln(out, tok)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// relayFor is the native relay of the benchmark's Caddyfile for project.
func relayFor(st store.Store, secret, project, callback, email string) (*native.Native, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("the relay secret must have at least 32 characters")
	}
	// As the Caddy glue turns a configured secret into the sealing key.
	sum := sha256.Sum256([]byte(secret))
	cb, err := url.Parse(callback)
	if err != nil {
		return nil, err
	}
	site, _, _ := strings.Cut(callback, "/api/outstatic/")
	origin, err := validate.ParseOrigin(site)
	if err != nil {
		return nil, err
	}
	pub, _ := url.Parse(cb.Scheme + "://relay.bench.invalid")
	return native.NewNative(native.NativeConfig{
		PublicURL: pub,
		Projects: []native.Project{{Project: roster.Project{Slug: project, RepoOwner: "acme", RepoSlug: "blog", Pro: true,
			Targets: validate.Targets{Origins: []validate.Origin{origin}}, Members: map[string]string{email: "owner"}}}},
		GitHub: github.OAuthApp{ClientID: "Iv1.bench", ClientSecret: "unused"},
		Store:  st,
		Secret: sum[:],
	})
}

// redeem spends an exchange token in process and returns the session's
// refresh token.
func redeem(nat *native.Native, token, callback string) (string, error) {
	body, _ := json.Marshal(map[string]string{"exchange_token": token, "callback_url": callback})
	req := httptest.NewRequest("POST", "http://relay.bench.invalid/outstatic/auth/exchange-token", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	nat.ServeHTTP(w, req)
	var out struct {
		Session struct {
			Refresh string `json:"refresh_token"`
		} `json:"session"`
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.Session.Refresh == "" {
		return "", fmt.Errorf("exchange-token: %d %s", w.Code, w.Body.String())
	}
	return out.Session.Refresh, nil
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "mint:", msg)
	os.Exit(2)
}
