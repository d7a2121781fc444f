//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// stepTimeout bounds every browser step, so a page that never arrives
// fails the test instead of hanging it.
const stepTimeout = 30 * time.Second

// chromiumPath finds Debian's chromium, or the one $CHROMIUM names.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		// A browser test that cannot run must fail, not pass unseen.
		t.Fatal("chromium is not installed (apt-get install chromium, or set CHROMIUM): scripts/e2e.sh installs it")
	}
	return p
}

// newBrowser starts a headless Chromium with a fresh profile, which may
// reach only 127.0.0.1: the test's names map there and every other name
// fails to resolve. It is stopped when the test ends.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	rules := fmt.Sprintf("MAP %s 127.0.0.1, MAP %s 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1", publicHost, evilHost)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", rules),
		// http:// must stay http://: no upgrade attempts, no fallbacks.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,MediaRouter,OptimizationHints"),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	attach(t, ctx, "starting chromium")
	return ctx
}

// attach makes the first run on ctx, which starts the browser or opens
// (or attaches to) the tab ctx names: that lives as long as ctx, so the
// run must not be under a timeout of its own. It fails the test after
// stepTimeout.
func attach(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(stepTimeout):
		t.Fatalf("%s: timed out", what)
	}
}

// newBrowserContext opens a tab in a new browser context of the same
// Chromium: another person, with no cookies in common.
func newBrowserContext(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	attach(t, ctx, "opening a browser context")
	return ctx
}

// run runs browser actions within stepTimeout.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(step, actions...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, pageState(ctx))
	}
}

// eval evaluates a JavaScript expression within stepTimeout, awaiting it
// if it is a promise, and decodes its value.
func eval[T any](t *testing.T, ctx context.Context, what, expr string) T {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(step, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, pageState(ctx))
	}
	return v
}

// pageState describes where a page is, for failure messages.
func pageState(ctx context.Context) string {
	step, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(step, chromedp.Location())
	text, _ := chromedp.Run(step, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return fmt.Sprintf("page at %s shows:\n%s", loc, text)
}

// waitFor evaluates check, a JavaScript expression, until it is true. It
// polls from Go, one short evaluation at a time, so that the navigations
// and redirects of a login, which destroy the page's JavaScript context,
// only make one attempt fail.
func waitFor(t *testing.T, ctx context.Context, what, check string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var err error
	for time.Now().Before(deadline) {
		step, cancel := context.WithTimeout(ctx, 2*time.Second)
		var ok bool
		ok, err = chromedp.Run(step, chromedp.Evaluate[bool](check))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waiting for %s (last error %v)\n%s", what, err, pageState(ctx))
}

// waitForText waits until the page shows every one of texts.
func waitForText(t *testing.T, ctx context.Context, texts ...string) {
	t.Helper()
	var checks []string
	for _, s := range texts {
		checks = append(checks, fmt.Sprintf("document.body.innerText.includes(%q)", s))
	}
	waitFor(t, ctx, fmt.Sprintf("the texts %q", texts), "!!document.body && "+strings.Join(checks, " && "))
}

// waitForURL waits until the page's URL is want.
func waitForURL(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	waitFor(t, ctx, "the page "+want, fmt.Sprintf("location.href === %q", want))
}

// waitHydrated waits until React has attached its handlers to the element
// that selector names: a click before that follows the bare href.
func waitHydrated(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	waitFor(t, ctx, "a hydrated "+selector, fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return !!e && Object.keys(e).some(k => k.startsWith("__reactProps")) })()`, selector))
}

// cookies returns the browser context's cookies for url, by name.
func cookies(t *testing.T, ctx context.Context, url string) map[string]*network.Cookie {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(step, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatalf("reading cookies: %v", err)
	}
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// screenshot captures the tab's viewport as a PNG.
func screenshot(t *testing.T, ctx context.Context) []byte {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(step, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("taking a screenshot: %v", err)
	}
	return png
}

// setHeaders makes the tab add headers to every request it sends.
func setHeaders(t *testing.T, ctx context.Context, h network.Headers) {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(step, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h}); err != nil {
		t.Fatalf("setting extra headers: %v", err)
	}
}

// exchange is one request the browser made and the response it got, as
// the DevTools protocol reports them (preflights included).
type exchange struct {
	Method, URL, Type string
	Request           network.Headers // as sent, from the ExtraInfo event
	Status            int64
	Response          network.Headers
}

// netLog records the browser's requests on one tab.
type netLog struct {
	mu   sync.Mutex
	byID map[network.RequestID]*exchange
	all  []*exchange
}

// recordNetwork starts recording ctx's traffic.
func recordNetwork(t *testing.T, ctx context.Context) *netLog {
	t.Helper()
	l := &netLog{byID: map[network.RequestID]*exchange{}}
	err := chromedp.Listen(ctx, func(ev any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		get := func(id network.RequestID) *exchange {
			x := l.byID[id]
			if x == nil {
				x = &exchange{}
				l.byID[id] = x
				l.all = append(l.all, x)
			}
			return x
		}
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if ev.RedirectResponse != nil {
				// A redirect reuses the id: close the hop, start a new one.
				x := get(ev.RequestID)
				x.Status, x.Response = ev.RedirectResponse.Status, ev.RedirectResponse.Headers
				delete(l.byID, ev.RequestID)
			}
			x := get(ev.RequestID)
			x.Method, x.URL, x.Type = ev.Request.Method, ev.Request.URL, string(ev.Type)
			if x.Request == nil {
				x.Request = ev.Request.Headers
			}
		case *network.EventRequestWillBeSentExtraInfo:
			get(ev.RequestID).Request = ev.Headers
		case *network.EventResponseReceived:
			x := get(ev.RequestID)
			x.Status, x.Response = ev.Response.Status, ev.Response.Headers
			if x.URL == "" {
				// sent before the recording started
				x.URL = ev.Response.URL
			}
		}
	})
	if err != nil {
		t.Fatalf("recording the network: %v", err)
	}
	return l
}

// find returns the recorded exchanges that match.
func (l *netLog) find(match func(*exchange) bool) []exchange {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []exchange
	for _, x := range l.all {
		if match(x) {
			out = append(out, *x)
		}
	}
	return out
}

// header reads a header from DevTools' map, whose names are as sent.
func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}
