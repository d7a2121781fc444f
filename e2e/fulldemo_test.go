//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// fullDemoStart bounds the demo's start: its first run installs and
// builds the stock site and the demo's program.
const fullDemoStart = 15 * time.Minute

// TestFullDemoInBrowser runs bash scripts/demo.sh as a newcomer does (on
// a port of the test's own, in a folder of its own under .demo/) and
// walks the newcomer's path in headless Chromium: the stock sign-in page,
// Pro; "Sign in with GitHub", which the demo GitHub answers at once; the
// dashboard with the sample repository; a post edited and saved (the
// commit read back from the demo GitHub); an image uploaded in the media
// library (likewise); the sidebar's Members and API Keys, which open the
// relay's own pages. Every page says it is a demo, and the browser asks
// for nothing that is not on this machine. Then Ctrl-C, as a
// terminal sends it, stops everything the demo started. Screenshots:
// testdata/out/fulldemo-*.png.
func TestFullDemoInBrowser(t *testing.T) {
	root := repoRoot(t)
	state := filepath.Join(root, ".demo", "e2e")
	port := stickyPort(t, state)
	base := fmt.Sprintf("http://localhost:%d", port)
	env := append(os.Environ(), fmt.Sprintf("OUTSTATIC_DEMO_PORT=%d", port), "OUTSTATIC_DEMO_DIR="+state)
	p := startProc(t, "demo", root, env, "bash", "scripts/demo.sh")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the demo's output (end):\n%s", p.tail(6000))
		}
	})
	waitOutput(t, p, "demo: ready: open "+base+"/outstatic", fullDemoStart)
	out := p.Output()
	for _, want := range []string{"holding the demo repository demo/sample-blog in memory", "this is a demo repository", "nothing leaves this machine"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's log does not say %q", want)
		}
	}
	github := regexp.MustCompile(`demo GitHub on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(out)
	sitePID := regexp.MustCompile(`next start on 127\.0\.0\.1:(\d+), pid (\d+)`).FindStringSubmatch(out)
	if github == nil || sitePID == nil {
		t.Fatalf("the demo's log names no demo GitHub or site process:\n%s", out)
	}
	repo := demoRepo{api: github[1] + "/api/v3/repos/demo/sample-blog"}

	browser := newBrowser(t)
	tab := newBrowserContext(t, browser)
	traffic := []*netLog{recordNetwork(t, tab)}

	// The stock sign-in page, Pro (the Google button is a link and no PRO
	// badge is shown), with the demo's notice.
	run(t, tab, "opening the dashboard", chromedp.Navigate(base+"/outstatic"))
	waitForText(t, tab, "Sign in with GitHub", "Sign in with Google", "Demo: the repository demo/sample-blog")
	waitHydrated(t, tab, `a[href="/api/outstatic/login"]`)
	if !eval[bool](t, tab, "the Pro sign-in", `!!document.querySelector('a[href="/api/outstatic/google-login"]') && !document.body.innerText.includes("PRO")`) {
		t.Fatalf("the sign-in page is not Pro\n%s", pageState(tab))
	}
	saveScreenshot(t, tab, "fulldemo-signin.png")

	// The dashboard's own button; the demo GitHub asks nothing.
	run(t, tab, "clicking Sign in with GitHub", chromedp.Click(chromedp.CSS(`a[href="/api/outstatic/login"]`)))
	waitForURL(t, tab, base+"/outstatic")
	waitDashboardLoaded(t, tab)
	waitForText(t, tab, "demo", "sample-blog", "Members", "API Keys", "Demo: the repository")
	if sess, ok := currentSession(t, tab); !ok || sess.User.Email != "octocat@example.com" || len(sess.User.Permissions) != len(allPermissions) {
		t.Fatalf("the session after sign-in: %v %+v", ok, sess)
	}
	if eval[bool](t, tab, "the sidebar", `document.body.innerText.includes("PRO")`) {
		t.Fatalf("the dashboard shows a PRO badge: it is not Pro\n%s", pageState(tab))
	}
	saveScreenshot(t, tab, "fulldemo-dashboard.png")

	// Edit and save a post: the commit lands in the demo repository.
	const added = " Saved in the demo."
	run(t, tab, "opening the post", chromedp.Navigate(base+"/outstatic/posts/edit-me"))
	waitFor(t, tab, "the editor with the post's text",
		`(() => { const e = document.querySelector(".ProseMirror"); return !!e && e.isContentEditable && e.innerText.includes("Change this text") })()`)
	run(t, tab, "typing at the end of the post",
		chromedp.Click(chromedp.CSS(".ProseMirror p:last-of-type")), chromedp.KeyEvent(kb.End), chromedp.KeyEvent(added))
	waitFor(t, tab, "the save button, enabled and hydrated", `(() => {
		const b = document.querySelector('[data-testid="save-button-desktop"]');
		return !!b && !b.disabled && Object.keys(b).some(k => k.startsWith("__reactProps")) })()`)
	run(t, tab, "saving", chromedp.Click(chromedp.CSS(`[data-testid="save-button-desktop"]`)))
	repo.waitFile(t, "outstatic/content/posts/edit-me.md", strings.TrimSpace(added))
	saveScreenshot(t, tab, "fulldemo-saved.png")
	waitOutput(t, p, "demo: demo repository demo/sample-blog: commit ", stepTimeout)

	// Upload an image in the media library: committed too, then shown.
	upload := filepath.Join(t.TempDir(), "uploaded-in-demo.png")
	if err := os.WriteFile(upload, testPNG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, tab, "opening the media library", chromedp.Navigate(base+"/outstatic/media-library"))
	waitForText(t, tab, "Add Media", "demo-cover.png")
	waitHydrated(t, tab, `input[type="file"]`)
	run(t, tab, "uploading an image", chromedp.SetUploadFiles(chromedp.CSS(`input[type="file"]`), []string{upload}))
	// the dashboard names the file with a suffix of its own
	name := repo.waitUpload(t, "public/images", regexp.MustCompile(`^uploaded-in-demo[-\w]*\.png$`), testPNG(t))
	waitForText(t, tab, "Uploaded 1 file.")
	waitForImage(t, tab, fmt.Sprintf(`[...document.images].some(i => i.src.includes(%q) && i.complete && i.naturalWidth === %d)`, name, mediaWidth))
	saveScreenshot(t, tab, "fulldemo-uploaded.png")

	// Members and API Keys: the sidebar's links open the relay's own
	// pages in a new tab, through the dashboard's redirect page.
	run(t, tab, "back to the dashboard", chromedp.Navigate(base+"/outstatic"))
	waitDashboardLoaded(t, tab)
	members := followNewTab(t, tab, `a[href*="redirectTo"][href*="members"]`)
	traffic = append(traffic, recordNetwork(t, members))
	waitForURL(t, members, base+"/relay/home/demo/blog/signin?next=members")
	waitForText(t, members, "Sign in with GitHub", "Demo: the repository demo/sample-blog")
	run(t, members, "signing in to the relay's pages", chromedp.Click(chromedp.CSS(`a.provider-github`)))
	waitForURL(t, members, base+"/relay/home/demo/blog/members")
	waitForText(t, members, "octocat", "owner", "Demo: the repository demo/sample-blog")
	saveFullScreenshot(t, members, "fulldemo-members.png")
	keys := followNewTab(t, tab, `a[href*="redirectTo"][href*="api-keys"]`)
	traffic = append(traffic, recordNetwork(t, keys))
	waitForURL(t, keys, base+"/relay/home/demo/blog/api-keys")
	waitForText(t, keys, "Callback origins", base+"/outstatic", "Demo: the repository demo/sample-blog")
	saveFullScreenshot(t, keys, "fulldemo-api-keys.png")

	// Nothing the browser asked for left the machine. (Of a request a new
	// tab had under way when its recording started, only the headers it
	// was sent with may be known.)
	for _, l := range traffic {
		for _, x := range l.find(func(*exchange) bool { return true }) {
			if x.URL == "" && header(x.Request, "Host") == "" {
				continue
			} else if x.URL == "" {
				x.URL = "http://" + header(x.Request, "Host") + "/"
			}
			if u, err := url.Parse(x.URL); err != nil || (u.Scheme != "data" && u.Scheme != "blob" && u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1") {
				t.Errorf("the browser asked for %q, which is not on this machine (%+v)", x.URL, x)
			}
		}
	}

	// Ctrl-C: the terminal sends SIGINT to the foreground process group.
	if err := syscall.Kill(-p.Pid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitExit(t, p, time.Minute)
	if !strings.Contains(p.Output(), "demo: stopped") {
		t.Errorf("the demo did not say it stopped")
	}
	pid, _ := strconv.Atoi(sitePID[2])
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the stock site's process group %d is still there after Ctrl-C (%v)", pid, err)
	}
	for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", port), "127.0.0.1:" + sitePID[1], strings.TrimPrefix(github[1], "http://")} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still answers after Ctrl-C", addr)
		}
	}
}

// stickyPort is the port the demo test ran on last time, if it is free,
// else a free one, recorded: the site is built for its port, so the same
// port keeps the build of the last run.
func stickyPort(t *testing.T, state string) int {
	t.Helper()
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(state, "port")
	if data, err := os.ReadFile(file); err == nil {
		if port, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				ln.Close()
				return port
			}
		}
	}
	port := freePort(t)
	if err := os.WriteFile(file, []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return port
}

// waitOutput waits until the process has printed want, failing if it
// exits first or timeout passes.
func waitOutput(t *testing.T, p *proc, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.Output(), want) {
		if p.Exited() {
			t.Fatalf("%s exited before printing %q:\n%s", p.Name, want, p.tail(6000))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q in time:\n%s", p.Name, want, p.tail(6000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitExit waits until the process has exited.
func waitExit(t *testing.T, p *proc, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !p.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("%s is still running:\n%s", p.Name, p.tail(3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// followNewTab clicks the link selector names in tab, which opens a new
// tab, and returns that tab.
func followNewTab(t *testing.T, tab context.Context, selector string) context.Context {
	t.Helper()
	waitHydrated(t, tab, selector)
	opened := chromedp.WaitNewTarget(tab, func(info *target.Info) bool { return info.Type == "page" })
	run(t, tab, "clicking "+selector, chromedp.Click(chromedp.CSS(selector)))
	select {
	case id := <-opened:
		ctx, cancel := chromedp.NewContext(tab, chromedp.WithTargetID(id))
		t.Cleanup(cancel)
		attach(t, ctx, "attaching to the new tab")
		return ctx
	case <-time.After(stepTimeout):
		t.Fatalf("clicking %s opened no tab", selector)
		return nil
	}
}

// demoRepo reads the demo repository through the demo GitHub's contents
// API (the repository is public there, so no token is needed).
type demoRepo struct{ api string }

// get reads path on main: the file's bytes (raw), or a folder's listing.
func (r demoRepo) get(path string, raw bool) (int, []byte) {
	req, _ := http.NewRequest(http.MethodGet, r.api+"/contents/"+path, nil)
	if raw {
		req.Header.Set("Accept", "application/vnd.github.raw")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

// waitFile waits until the file at path on main contains want.
func (r demoRepo) waitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var got string
	for time.Now().Before(deadline) {
		status, body := r.get(path, true)
		got = fmt.Sprintf("%d %.200q", status, body)
		if status == http.StatusOK && strings.Contains(string(body), want) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the demo repository's %s does not contain %q (last: %s)", path, want, got)
}

// waitUpload waits until folder on main holds a file whose name matches
// and whose bytes are want, and returns its name.
func (r demoRepo) waitUpload(t *testing.T, folder string, name *regexp.Regexp, want []byte) string {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var got string
	for time.Now().Before(deadline) {
		status, body := r.get(folder, false)
		var entries []struct{ Name string }
		_ = json.Unmarshal(body, &entries)
		got = fmt.Sprintf("%d %+v", status, entries)
		for _, e := range entries {
			if name.MatchString(e.Name) {
				if status, data := r.get(folder+"/"+e.Name, true); status == http.StatusOK && bytes.Equal(data, want) {
					return e.Name
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the demo repository's %s has no file %s with the uploaded bytes (last: %s)", folder, name, got)
	return ""
}
