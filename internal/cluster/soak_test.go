//go:build soak

package cluster

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
)

// getRepoInfo is the dashboard's first GraphQL operation.
const getRepoInfo = `{"operationName":"GetRepoInfo","variables":{"owner":"acme","name":"blog"},"query":"query GetRepoInfo($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id defaultBranchRef { name target { oid } } } }"}`

// soakLoad is what one instance of the guard and the native relay serves
// during the soak, with the counts of what happened.
type soakLoad struct {
	t       *testing.T
	c       *cluster
	n       *instance
	key     string
	access  string
	ops     [5]atomic.Int64 // page, login, parser, refusal, unexpected
	lastErr atomic.Value
}

var opNames = [...]string{"page", "login", "parser", "refusal", "unexpected"}

// one runs one operation of the mix: 70% page views through the guard,
// 5% whole logins, 15% parser calls, 10% refusals (a wrong key, a
// replayed exchange token, a forged session). It returns the op's index,
// or 4 with the reason when the answer was not the expected one.
func (l *soakLoad) one(r float64) (int, string) {
	switch {
	case r < 0.70:
		res := l.raw("GET", "http://"+l.n.Addr+"/post", "blog.example", "", "")
		if res.Status != 200 || string(res.Body) != "page pro=true" {
			return 4, fmt.Sprintf("page: %d %.100s", res.Status, res.Body)
		}
		return 0, ""
	case r < 0.75:
		token := l.c.exchangeToken(l.t, l.key, l.n, l.n)
		if res := l.n.redeem(l.t, token); res.Status != 200 {
			return 4, fmt.Sprintf("exchange-token: %d %.100s", res.Status, res.Body)
		}
		return 1, ""
	case r < 0.90:
		res := l.parser(l.access)
		if res.Status != 200 || !bytes.Contains(res.Body, []byte(`"repository"`)) {
			return 4, fmt.Sprintf("parser: %d %.100s", res.Status, res.Body)
		}
		return 2, ""
	default:
		switch rand.IntN(3) {
		case 0:
			if res := l.n.do(l.t, "GET", "/outstatic/project", "ost_wrong_"+strconv.Itoa(rand.IntN(1000)), nil); res.Status != 401 {
				return 4, fmt.Sprintf("wrong key: %d", res.Status)
			}
		case 1:
			if res := l.n.redeem(l.t, "xt_replayed_"+strconv.Itoa(rand.IntN(1000))); res.Status != 400 {
				return 4, fmt.Sprintf("unknown token: %d", res.Status)
			}
		default:
			if res := l.parser("forged." + strconv.Itoa(rand.IntN(1000))); res.Status != 401 {
				return 4, fmt.Sprintf("forged session: %d %.100s", res.Status, res.Body)
			}
		}
		return 3, ""
	}
}

func (l *soakLoad) parser(token string) reply {
	return l.raw("POST", "http://"+l.n.Addr+"/github/parser", "relay.example", token, getRepoInfo)
}

// raw sends one request and reads its answer.
func (l *soakLoad) raw(method, u, host, bearer, body string) reply {
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Host = host
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("X-Project-Id", "blog")
		req.Header.Set("Origin", "http://blog.example")
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		return reply{Status: -1, Body: []byte(err.Error())}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return reply{res.StatusCode, res.Header, b}
}

// do runs one op and counts it.
func (l *soakLoad) do() {
	op, why := l.one(rand.Float64())
	l.ops[op].Add(1)
	if op == 4 {
		l.lastErr.Store(why)
	}
}

// sample reads the instance's resident memory (/proc), and its goroutines
// and heap from the admin API (/debug/pprof, /metrics).
type sample struct{ rssKB, goroutines, heapKB int }

func (l *soakLoad) sample() sample {
	// the driver's idle keep-alive connections hold a goroutine each in
	// Caddy: close them, so that what is counted is what Caddy keeps
	noRedirects.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond)
	s := sample{rssKB: rssKB(l.t, l.n.cmd.Process.Pid)}
	if res, err := http.Get("http://" + l.n.Admin + "/debug/pprof/goroutine?debug=1"); err == nil {
		line, _ := bufio.NewReader(res.Body).ReadString('\n')
		res.Body.Close()
		fmt.Sscanf(line, "goroutine profile: total %d", &s.goroutines)
	}
	if res, err := http.Get("http://" + l.n.Admin + "/metrics"); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if m := regexp.MustCompile(`(?m)^go_memstats_heap_inuse_bytes ([0-9.e+]+)$`).FindSubmatch(b); m != nil {
			f, _ := strconv.ParseFloat(string(m[1]), 64)
			s.heapKB = int(f / 1024)
		}
	}
	return s
}

func (l *soakLoad) counts() string {
	var parts []string
	for i, name := range opNames {
		parts = append(parts, fmt.Sprintf("%s %d", name, l.ops[i].Load()))
	}
	return strings.Join(parts, ", ")
}

// TestSoak runs the guard and the native relay (one Caddy, Redis, a fake
// GitHub, all on loopback) at 80% of the capacity it first measures, for
// SOAK (default 10m), with a mix of page views, logins, parser calls and
// refusals. It fails on any unexpected answer, and when resident memory
// or goroutines at the end are not where they were at the start. Run it
// with scripts/soak.sh.
func TestSoak(t *testing.T) {
	dur := 10 * time.Minute
	if v := os.Getenv("SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("SOAK=%q: want a duration such as 10m", v)
		}
		dur = d
	}
	key, hash, _, err := relay.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	rd := testredis.Start(t)
	st := redisStore(rd.Addr)
	st.noAccessLog = true
	st.relayExtra = "start_limit off" // every login comes from 127.0.0.1
	st.projectExtra = "key_sha256 " + hash
	st.env = []string{"SOAK_KEY=" + key}
	st.guard = `		outstatic {
			callback_origin http://blog.example/outstatic
			api_key {env.SOAK_KEY}
			service http://{ADDR}
		}`
	c := startCluster(t, 1, st)
	l := &soakLoad{t: t, c: c, n: c.Nodes[0], key: key}
	token := c.exchangeToken(t, key, l.n, l.n)
	var session struct {
		Session struct {
			AccessToken string `json:"access_token"`
		}
	}
	if err := json.Unmarshal(l.n.redeem(t, token).Body, &session); err != nil || session.Session.AccessToken == "" {
		t.Fatalf("first login: %v", err)
	}
	l.access = session.Session.AccessToken
	testwait.Until(t, "the guard verifying the key", func() bool {
		return string(l.raw("GET", "http://"+l.n.Addr+"/", "blog.example", "", "").Body) == "page pro=true"
	})

	// capacity: the mix, closed loop, as fast as 8 workers go, for 5s
	const workers = 8
	var wg sync.WaitGroup
	stop := time.Now().Add(5 * time.Second)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				l.do()
			}
		}()
	}
	wg.Wait()
	var measured int64
	for i := range 4 {
		measured += l.ops[i].Load()
	}
	if l.ops[4].Load() > 0 {
		t.Fatalf("unexpected answers while measuring capacity: %s (last: %v)", l.counts(), l.lastErr.Load())
	}
	capacity := float64(measured) / 5
	rate := 0.8 * capacity
	t.Logf("capacity %.0f ops/s (%s); soak at %.0f ops/s for %v", capacity, l.counts(), rate, dur)
	for i := range l.ops {
		l.ops[i].Store(0)
	}

	time.Sleep(2 * time.Second) // let the measuring burst's connections close
	start := l.sample()
	t.Logf("start: resident %d kB, heap in use %d kB, goroutines %d", start.rssKB, start.heapKB, start.goroutines)

	// paced: a ticker hands out rate ops a second to a fixed pool of
	// workers through a queue of 64; an op that finds the queue full is
	// counted, not sent. Bounded in count and time.
	limit := int64(rate*dur.Seconds()) + 1
	queue := make(chan struct{}, 64)
	var sent, overloaded atomic.Int64
	for range 4 * workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range queue {
				l.do()
			}
		}()
	}
	began := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	nextReport := began.Add(time.Minute)
	for now := range tick.C {
		if now.Sub(began) >= dur || sent.Load() >= limit {
			break
		}
		for due := int64(rate*now.Sub(began).Seconds()) - sent.Load(); due > 0; due-- {
			sent.Add(1)
			select {
			case queue <- struct{}{}:
			default:
				overloaded.Add(1)
			}
		}
		if now.After(nextReport) {
			s := l.sample()
			t.Logf("%v: resident %d kB, heap %d kB, goroutines %d; %s", now.Sub(began).Round(time.Second), s.rssKB, s.heapKB, s.goroutines, l.counts())
			nextReport = nextReport.Add(time.Minute)
		}
	}
	close(queue)
	tick.Stop()
	wg.Wait()
	elapsed := time.Since(began)
	time.Sleep(2 * time.Second)
	end := l.sample()
	var done int64
	for i := range 4 {
		done += l.ops[i].Load()
	}
	t.Logf("end after %v: %d ops (%.0f/s), %d not sent (queue full); %s", elapsed.Round(time.Second), done, float64(done)/elapsed.Seconds(), overloaded.Load(), l.counts())
	t.Logf("end: resident %d kB (start %d), heap in use %d kB (start %d), goroutines %d (start %d)",
		end.rssKB, start.rssKB, end.heapKB, start.heapKB, end.goroutines, start.goroutines)
	if n := l.ops[4].Load(); n > 0 {
		t.Errorf("%d unexpected answers; the last: %v", n, l.lastErr.Load())
	}
	// On a shared machine the capacity measured at the start is not the
	// capacity throughout: ops that found the queue full are reported,
	// not failed; the relay's answers are what the soak judges.
	if over := overloaded.Load(); over > 0 {
		t.Logf("%d of %d ops (%.1f%%) found the queue full: the machine served less than the measured capacity for a while",
			over, sent.Load(), 100*float64(over)/float64(sent.Load()))
	}
	// How much load the machine took is reported, not judged: speed
	// targets live in bench/. The soak judges answers, memory and
	// goroutines, and needs load to have run at all.
	t.Logf("%d ops done, %.0f%% of the paced %.0f ops/s", done, 100*float64(done)/(rate*elapsed.Seconds()), rate)
	if done == 0 {
		t.Error("no op was done: the soak put no load on the relay")
	}
	if end.goroutines > start.goroutines+20 {
		t.Errorf("goroutines grew from %d to %d", start.goroutines, end.goroutines)
	}
	if end.rssKB > start.rssKB+start.rssKB/4+32<<10 {
		t.Errorf("resident memory grew from %d kB to %d kB", start.rssKB, end.rssKB)
	}
}
