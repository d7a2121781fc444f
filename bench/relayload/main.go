// Command relayload drives a native relay for bench/relay.sh, bench/login.sh
// and bench/memory.sh.
//
//	relayload login -relay URL -key K -callback CB [-parser-body F] [-conc 50] [-duration 10s] [-count N]
//	    runs whole native logins, -conc at a time, for -duration (or until
//	    -count logins are done): the key'd github-exchange, the relay's start
//	    route, GitHub's authorize (a fake that signs in at once), the relay's
//	    callback, exchange-token and, with -parser-body, the dashboard's first
//	    parser call with the session; prints "logins/s p50_ms p99_ms errors"
//	relayload baseline -base URL -callback CB [-parser-body F] [-conc 50] [-duration 10s]
//	    the same HTTP round trips answered by Caddy's respond at -base (see
//	    bench/login.sh): the driver's hops of a login and, made by the driver
//	    too, the relay's own calls to GitHub (the code's exchange, /user,
//	    /user/emails, GraphQL); prints what login prints
//	relayload session -relay URL -key K -callback CB
//	    runs one login and prints the session's access token
//	relayload keys -n N
//	    prints N distinct random well-formed API keys (the relay's form, with
//	    a good checksum), one a line: keys no relay knows
//	relayload flood -url URL -keys FILE [-conc 32]
//	    sends GET URL once with each key of FILE as its Bearer key, -conc at
//	    a time; prints "requests/s p50_ms p99_ms not-401"
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
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: relayload login|baseline|session|keys|flood|ttfb [flags]")
	}
	switch os.Args[1] {
	case "login", "session", "baseline":
		loginCmd(os.Args[1], os.Args[2:])
	case "keys":
		keysCmd(os.Args[2:])
	case "flood":
		floodCmd(os.Args[2:])
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
	base := fs.String("base", "", "baseline: the respond site's base URL")
	key := fs.String("key", "", "the project's API key")
	callback := fs.String("callback", "", "the site's callback URL")
	parserFile := fs.String("parser-body", "", "a file holding the first parser call's body; none: no parser call")
	conc := fs.Int("conc", 50, "logins at a time")
	duration := fs.Duration("duration", 10*time.Second, "how long to run")
	count := fs.Int("count", 0, "stop after this many logins (0: run for -duration)")
	_ = fs.Parse(args)
	var parser []byte
	if *parserFile != "" {
		b, err := os.ReadFile(*parserFile)
		if err != nil {
			fail(err.Error())
		}
		parser = bytes.TrimSpace(b)
	}
	c := noRedirects(true)
	var one func() (string, error)
	switch {
	case name == "baseline" && *base != "" && *callback != "":
		one = func() (string, error) { return baselineLogin(c, *base, *callback, parser) }
	case name != "baseline" && *relay != "" && *key != "" && *callback != "":
		one = func() (string, error) { return login(c, *relay, *key, *callback, parser) }
	default:
		fail(name + ": -relay (or for baseline -base), -key and -callback are required")
	}
	if name == "session" {
		access, err := one()
		if err != nil {
			fail(err.Error())
		}
		fmt.Println(access)
		return
	}
	var mu sync.Mutex
	var took []time.Duration
	var errs, started int
	var firstErr error
	end := time.Now().Add(*duration)
	// more reports whether another login may start.
	more := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if *count > 0 {
			started++
			return started <= *count
		}
		return time.Now().Before(end)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Go(func() {
			for more() {
				t0 := time.Now()
				_, err := one()
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
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "relayload: first error:", firstErr)
	}
	p50, p99 := percentiles(took)
	fmt.Printf("%.1f %.3f %.3f %d\n", float64(len(took))/elapsed.Seconds(), p50, p99, errs)
}

// login runs one native login and returns the session's access token;
// with a parser body, the session's first parser call follows.
func login(c *http.Client, relay, key, callback string, parser []byte) (string, error) {
	end, err := startLogin(c, relay, key, callback)
	if err != nil {
		return "", err
	}
	access, err := redeem(c, relay, end, callback)
	if err != nil {
		return "", err
	}
	if parser != nil {
		if err := parserCall(c, relay+"/github/parser", access, callback, parser); err != nil {
			return "", err
		}
	}
	return access, nil
}

// startLogin makes a login's github-exchange at base with key and follows
// its three redirects (start, GitHub's authorize, the relay's callback);
// it returns where the last one points: the site's callback.
func startLogin(c *http.Client, base, key, callback string) (string, error) {
	var ex struct {
		URL string `json:"url"`
	}
	if err := call(c, "POST", base+"/outstatic/auth/github-exchange", key,
		map[string]string{"callback_url": callback}, &ex); err != nil {
		return "", fmt.Errorf("github-exchange: %v", err)
	}
	next := ex.URL
	for hop := 0; hop < 3; hop++ {
		loc, err := redirect(c, next)
		if err != nil {
			return "", fmt.Errorf("hop %d (%s): %v", hop, next, err)
		}
		next = loc
	}
	return next, nil
}

// redeem takes the exchange token from end, the site's callback URL a
// login ended at, and redeems it at base; it returns the access token.
func redeem(c *http.Client, base, end, callback string) (string, error) {
	token, ok := strings.CutPrefix(end, callback+"?exchange_token=")
	if !ok {
		return "", fmt.Errorf("the login ended at %q", end)
	}
	var out struct {
		Session struct {
			AccessToken string `json:"access_token"`
		} `json:"session"`
	}
	if err := call(c, "POST", base+"/outstatic/auth/exchange-token", "",
		map[string]string{"exchange_token": token, "callback_url": callback}, &out); err != nil {
		return "", fmt.Errorf("exchange-token: %v", err)
	}
	if out.Session.AccessToken == "" {
		return "", errors.New("exchange-token: no access token")
	}
	return out.Session.AccessToken, nil
}

// parserCall is the dashboard's GraphQL call through the relay, from the
// site's origin, as the browser makes it.
func parserCall(c *http.Client, u, access, callback string, body []byte) error {
	req, err := http.NewRequest("POST", u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+access)
	if cb, err := url.Parse(callback); err == nil {
		req.Header.Set("Origin", cb.Scheme+"://"+cb.Host)
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("parser: %v", err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !bytes.Contains(data, []byte(`"data"`)) {
		return fmt.Errorf("parser: %d %.200s", res.StatusCode, data)
	}
	return nil
}

// baselineLogin makes a login's HTTP round trips against respond handlers
// at base (bench/login.sh's baseline site): the driver's own (the same
// code as login's, the relay's answers and GitHub's authorize each a
// respond), and the four the relay makes to GitHub (the code's exchange,
// /user, /user/emails, GraphQL), made here by the driver.
func baselineLogin(c *http.Client, base, callback string, parser []byte) (string, error) {
	end, err := startLogin(c, base, "bench", callback)
	if err != nil {
		return "", err
	}
	var tok map[string]any
	if err := call(c, "POST", base+"/login/oauth/access_token", "", map[string]string{"code": "c", "code_verifier": "v"}, &tok); err != nil {
		return "", fmt.Errorf("token: %v", err)
	}
	for _, p := range []string{"/user", "/user/emails"} {
		if err := get(c, base+p); err != nil {
			return "", fmt.Errorf("%s: %v", p, err)
		}
	}
	access, err := redeem(c, base, end, callback)
	if err != nil {
		return "", err
	}
	if parser != nil {
		for _, p := range []string{"/github/parser", "/api/graphql"} {
			if err := parserCall(c, base+p, access, callback, parser); err != nil {
				return "", err
			}
		}
	}
	return access, nil
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

// get fetches u, which must answer 200, and drops the body.
func get(c *http.Client, u string) error {
	res, err := c.Get(u)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
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
