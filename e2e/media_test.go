//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The image the media test commits, where the stock site's legacy
// config (publicMediaPath images/, repoMediaPath public/images/) looks for
// media: its only source, "images".
const (
	mediaFile     = "octocat.png"
	mediaRepoPath = "public/images/" + mediaFile
	mediaWidth    = 96
	mediaHeight   = 64
)

// testPNG is a small PNG with a pattern that shows in a screenshot.
func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, mediaWidth, mediaHeight))
	for y := range mediaHeight {
		for x := range mediaWidth {
			c := color.RGBA{R: 0x24, G: 0x29, B: 0x2f, A: 0xff}
			if (x/16+y/16)%2 == 0 {
				c = color.RGBA{R: 0xf7, G: 0x8c, B: 0x1e, A: 0xff}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// seedMedia commits the image to the fake GitHub's repository, lists it in
// the media library's outstatic/media/media.json as the dashboard writes
// it, and makes it the cover image of the post "Hello World".
func seedMedia(t *testing.T, b *nativeBackend) {
	t.Helper()
	b.gh.PutFile("", mediaRepoPath, string(testPNG(t)))
	library := map[string]any{
		"commit":    "",
		"generated": "2025-01-15T10:00:00.000Z",
		"media": []map[string]any{{
			"__outstatic": map[string]any{"hash": "e2e0octocat", "commit": "", "path": mediaRepoPath},
			"filename":    mediaFile, "type": "image", "source": "images",
			"publishedAt": "2025-01-15T10:00:00.000Z", "alt": "The Octocat",
		}},
	}
	data, err := json.MarshalIndent(library, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b.gh.PutFile("", "outstatic/media/media.json", string(data)+"\n")
	// the collection's schema declares the field, as the dashboard's
	// "Add Custom Fields" writes it
	b.gh.PutFile("", "outstatic/content/posts/schema.json", `{
  "title": "Posts",
  "type": "object",
  "properties": {
    "coverImage": {
      "title": "Cover Image",
      "fieldType": "Image",
      "dataType": "string"
    }
  }
}
`)
	b.gh.PutFile("", "outstatic/content/posts/hello-world.md", "---\ntitle: 'Hello World'\nstatus: 'published'\n"+
		"author:\n  name: 'Acme Editor'\n  picture: ''\nslug: 'hello-world'\ndescription: 'The first post.'\n"+
		"coverImage: '/images/"+mediaFile+"'\npublishedAt: '2025-01-15T10:00:00.000Z'\n---\n\nThe first post.\n")
}

// TestMediaInBrowser shows an image committed in the repository in the
// dashboard, through the site's media route and the relay's media proxy
// (#10): in the media library and as a post's cover image. Each <img> must
// have loaded (naturalWidth > 0), and its bytes must have come through the
// native relay's /outstatic/media/... from the fake GitHub, with the
// session's GitHub token.
func TestMediaInBrowser(t *testing.T) {
	s := setUp(t, newNativeBackend)
	b := s.backend.(*nativeBackend)
	seedMedia(t, b)
	browser := newBrowser(t)
	tab := newBrowserContext(t, browser)
	traffic := recordNetwork(t, tab)
	loginInBrowser(t, s, tab)

	src := s.public + "/api/outstatic/media/acme/blog/main/" + mediaRepoPath
	relayPath := "/outstatic/media/acme/blog/main/" + mediaRepoPath
	loaded := fmt.Sprintf(`[...document.images].some(i => i.src.split("?")[0] === %q && i.complete && i.naturalWidth === %d && i.naturalHeight === %d)`,
		src, mediaWidth, mediaHeight)

	for _, page := range []struct{ name, path, text, open, screenshot string }{
		{"media library", "/outstatic/media-library", "Media Library", "", "media-library.png"},
		// the cover image is in a section of the editor's sidebar that
		// opens on a click
		{"cover image", "/outstatic/posts/hello-world", "Cover Image", "Cover Image", "cover-image.png"},
	} {
		t.Run(page.name, func(t *testing.T) {
			before := b.relayCalls(t, relayPath)
			mark := len(traffic.find(func(*exchange) bool { return true }))
			run(t, tab, "opening "+page.path, chromedp.Navigate(s.public+page.path))
			waitForText(t, tab, page.text)
			if page.open != "" {
				open := fmt.Sprintf(`(() => { const b = [...document.querySelectorAll("button")].find(b => b.textContent.trim() === %q);
					if (b && Object.keys(b).some(k => k.startsWith("__reactProps"))) { b.click(); return true } return false })()`, page.open)
				waitFor(t, tab, "a hydrated "+page.open+" button, clicked", open)
			}
			waitForImage(t, tab, loaded)
			saveScreenshot(t, tab, page.screenshot)

			// The browser got the image from the site's media route...
			got := 0
			for _, x := range traffic.find(func(*exchange) bool { return true })[mark:] {
				if u, _, _ := strings.Cut(x.URL, "?"); u == src && x.Method == http.MethodGet {
					if x.Status != http.StatusOK {
						t.Errorf("GET %s: %d", src, x.Status)
					}
					got++
				}
			}
			// ...which the site fetched from the relay's media proxy (the
			// browser's cache may answer a second view itself).
			calls := b.relayCalls(t, relayPath)[len(before):]
			if got > 0 && len(calls) == 0 {
				t.Errorf("the browser loaded %s, but no call reached the native relay's %s", src, relayPath)
			}
			for _, status := range calls {
				if status != http.StatusOK {
					t.Errorf("the native relay answered %s with %d", relayPath, status)
				}
			}
		})
	}
	// At least one view went the whole way, and the relay read the file at
	// the fake GitHub with the session's GitHub token.
	if len(b.relayCalls(t, relayPath)) == 0 {
		t.Fatalf("no call reached the native relay's %s", relayPath)
	}
	reads := 0
	tokens := b.gh.Tokens()
	for _, r := range b.gh.Requests() {
		if strings.HasSuffix(r.Path, "/contents/"+mediaRepoPath) {
			if len(tokens) != 1 || !strings.HasSuffix(r.Authorization, " "+tokens[0].Value) {
				t.Errorf("the media read at the fake GitHub came with %q, want the session's GitHub token", r.Authorization)
			}
			reads++
		}
	}
	if reads == 0 {
		t.Error("the relay never read the image from the fake GitHub's contents API")
	}
}

// waitForImage waits until loaded, a JavaScript check of the page's
// images, is true; on a timeout it says which images the page has.
func waitForImage(t *testing.T, tab context.Context, loaded string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		step, cancel := context.WithTimeout(tab, 2*time.Second)
		ok, err := chromedp.Run(step, chromedp.Evaluate[bool](loaded))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	images := eval[string](t, tab, "listing the images", `JSON.stringify([...document.images].map(i =>
		({src: i.src, complete: i.complete, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight})))`)
	t.Fatalf("the image did not load (%s); the page's images: %s", loaded, images)
}

// relayCalls returns the statuses of the calls to path in the native
// relay's access log, in order.
func (b *nativeBackend) relayCalls(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(b.accessLog)
	if err != nil {
		t.Fatalf("the native relay's access log: %v", err)
	}
	defer f.Close()
	var out []int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Request struct{ URI string }
			Status  int
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			if p, _, _ := strings.Cut(e.Request.URI, "?"); p == path {
				out = append(out, e.Status)
			}
		}
	}
	return out
}
