// Command relayload drives a native relay for bench/relay.sh.
//
//	relayload login -relay URL -key K -callback CB [-conc 50] [-duration 10s]
//	    runs whole native logins, -conc at a time, for -duration: the key'd
//	    github-exchange, the relay's start route, GitHub's authorize (a fake
//	    that signs in at once), the relay's callback, exchange-token; prints
//	    "logins/s p50_ms p99_ms errors"
//	relayload session -relay URL -key K -callback CB
//	    runs one login and prints the session's access token
//	relayload ttfb -url URL [-n 200] [-method GET] [-body S] [-H 'K: V']...
//	    prints "p50_ms p99_ms errors": the time to the first byte of the body,
//	    each request on a new connection, the rest of the body read and
//	    dropped
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: relayload login|session|ttfb [flags]")
	}
	switch os.Args[1] {
	case "login", "session":
		loginCmd(os.Args[1], os.Args[2:])
	case "ttfb":
		ttfbCmd(os.Args[2:])
	default:
		fail("unknown command " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "relayload:", msg)
	os.Exit(2)
}

// noRedirects is a client that hands every redirect back: each hop of the
// login is a request of its own, as the browser's.
func noRedirects(keepAlive bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 100
	tr.DisableKeepAlives = !keepAlive
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func loginCmd(name string, args []string) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	relay := fs.String("relay", "", "the relay's base URL (OUTSTATIC_API_URL)")
	key := fs.String("key", "", "the project's API key")
	callback := fs.String("callback", "", "the site's callback URL")
	conc := fs.Int("conc", 50, "logins at a time")
	duration := fs.Duration("duration", 10*time.Second, "how long to run")
	_ = fs.Parse(args)
	if *relay == "" || *key == "" || *callback == "" {
		fail(name + ": -relay, -key and -callback are required")
	}
	c := noRedirects(true)
	if name == "session" {
		access, err := login(c, *relay, *key, *callback)
		if err != nil {
			fail(err.Error())
		}
		fmt.Println(access)
		return
	}
	var mu sync.Mutex
	var took []time.Duration
	var errs int
	var firstErr error
	end := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for range *conc {
		wg.Go(func() {
			for time.Now().Before(end) {
				t0 := time.Now()
				_, err := login(c, *relay, *key, *callback)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					took = append(took, d)
				}
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "relayload: first error:", firstErr)
	}
	p50, p99 := percentiles(took)
	fmt.Printf("%.1f %.3f %.3f %d\n", float64(len(took))/elapsed.Seconds(), p50, p99, errs)
}

// login runs one native login and returns the session's access token.
func login(c *http.Client, relay, key, callback string) (string, error) {
	var ex struct {
		URL string `json:"url"`
	}
	if err := call(c, "POST", relay+"/outstatic/auth/github-exchange", key,
		map[string]string{"callback_url": callback}, &ex); err != nil {
		return "", fmt.Errorf("github-exchange: %v", err)
	}
	next := ex.URL
	for hop := 0; hop < 3; hop++ { // start → GitHub's authorize → the relay's callback
		loc, err := redirect(c, next)
		if err != nil {
			return "", fmt.Errorf("hop %d (%s): %v", hop, next, err)
		}
		next = loc
	}
	token, ok := strings.CutPrefix(next, callback+"?exchange_token=")
	if !ok {
		return "", fmt.Errorf("the login ended at %q", next)
	}
	var out struct {
		Session struct {
			AccessToken string `json:"access_token"`
		} `json:"session"`
	}
	if err := call(c, "POST", relay+"/outstatic/auth/exchange-token", "",
		map[string]string{"exchange_token": token, "callback_url": callback}, &out); err != nil {
		return "", fmt.Errorf("exchange-token: %v", err)
	}
	if out.Session.AccessToken == "" {
		return "", errors.New("exchange-token: no access token")
	}
	return out.Session.AccessToken, nil
}

func call(c *http.Client, method, u, key string, body, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("%d %s", res.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

func redirect(c *http.Client, u string) (string, error) {
	res, err := c.Get(u)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode/100 != 3 {
		return "", fmt.Errorf("status %d, want a redirect", res.StatusCode)
	}
	return res.Header.Get("Location"), nil
}

// headers is a repeatable -H flag.
type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func ttfbCmd(args []string) {
	fs := flag.NewFlagSet("ttfb", flag.ExitOnError)
	u := fs.String("url", "", "what to fetch")
	n := fs.Int("n", 200, "requests, one after the other")
	method := fs.String("method", "GET", "the method")
	body := fs.String("body", "", "the request body")
	var hs headers
	fs.Var(&hs, "H", "a request header, 'Name: value' (repeatable)")
	_ = fs.Parse(args)
	if *u == "" {
		fail("ttfb: -url is required")
	}
	c := noRedirects(false)
	var took []time.Duration
	errs := 0
	for range *n {
		req, err := http.NewRequest(*method, *u, strings.NewReader(*body))
		if err != nil {
			fail(err.Error())
		}
		for _, h := range hs {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		t0 := time.Now()
		res, err := c.Do(req)
		if err != nil {
			errs++
			continue
		}
		one := make([]byte, 1)
		_, err = io.ReadFull(res.Body, one)
		d := time.Since(t0)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			errs++
			continue
		}
		took = append(took, d)
	}
	p50, p99 := percentiles(took)
	fmt.Printf("%.3f %.3f %d\n", p50, p99, errs)
}

// percentiles returns the median and the 99th percentile, in milliseconds.
func percentiles(d []time.Duration) (p50, p99 float64) {
	if len(d) == 0 {
		return 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	at := func(q float64) float64 {
		i := int(q*float64(len(d))+0.5) - 1
		i = min(max(i, 0), len(d)-1)
		return float64(d[i].Microseconds()) / 1000
	}
	return at(0.50), at(0.99)
}
