//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeai"
)

// TestAICompletionInBrowser asks the stock editor's AI for a completion,
// as a person would: a new line at the end of a post, "/", "Continue
// writing". The site's /api/outstatic/generate goes to the forward relay,
// which passes it on to the native relay's /outstatic/generate, which asks
// a fake OpenAI-compatible endpoint and streams its answer back; the
// completion must appear in the editor.
func TestAICompletionInBrowser(t *testing.T) {
	const completion = "And then the relay wrote this sentence."
	ai := fakeai.New(fakeai.Reply{Done: true, Chunks: []fakeai.Chunk{
		{Content: "And then"}, {Content: " the relay", Delay: 100 * time.Millisecond},
		{Content: " wrote this sentence.", Delay: 100 * time.Millisecond}, {Finish: "stop"}}})
	defer ai.Close()
	s := setUp(t, newNativeBackendWith(nativeOptions{aiBaseURL: ai.BaseURL}))
	b := s.backend.(*nativeBackend)
	browser := newBrowser(t)
	tab := newBrowserContext(t, browser)
	traffic := recordNetwork(t, tab)
	loginInBrowser(t, s, tab)

	run(t, tab, "opening the post", chromedp.Navigate(s.public+"/outstatic/posts/hello-world"))
	waitFor(t, tab, "the editor with the post's text",
		`(() => { const e = document.querySelector(".ProseMirror"); return !!e && e.isContentEditable && e.innerText.includes("The first post.") })()`)
	// the caret at the end of the post's last paragraph, a new one, "/"
	run(t, tab, "typing / on a new line of the post",
		chromedp.Click(chromedp.CSS(".ProseMirror p:last-of-type")),
		chromedp.KeyEvent(kb.End),
		chromedp.KeyEvent(kb.Enter),
		chromedp.KeyEvent("/"))
	waitFor(t, tab, "the slash menu with Continue writing",
		`(() => { const m = document.querySelector("#slash-command"); return !!m && m.innerText.includes("Continue writing") })()`)
	waitFor(t, tab, "Continue writing, clicked", `(() => {
		const b = [...document.querySelectorAll("#slash-command button")].find(b => b.innerText.includes("Continue writing"));
		if (b && Object.keys(b).some(k => k.startsWith("__reactProps"))) { b.click(); return true } return false })()`)
	waitFor(t, tab, "the completion in the editor",
		fmt.Sprintf(`document.querySelector(".ProseMirror").innerText.includes(%q)`, completion))
	saveScreenshot(t, tab, "ai-completion.png")

	// The browser asked the site...
	var asked []exchange
	for _, x := range traffic.find(func(x *exchange) bool { return x.Method == http.MethodPost }) {
		if x.URL == s.public+"/api/outstatic/generate" {
			asked = append(asked, x)
		}
	}
	if len(asked) != 1 || asked[0].Status != http.StatusOK {
		t.Errorf("the browser's generate calls: %+v, want one answered 200", asked)
	}
	// ...which reached the native relay's generate through the forward relay...
	if calls := b.relayCalls(t, "/outstatic/generate"); len(calls) != 1 || calls[0] != http.StatusOK {
		t.Errorf("the native relay's /outstatic/generate answered %v, want [200]", calls)
	}
	// ...which asked the endpoint with the post's text and its own prompt.
	reqs := ai.Requests()
	if len(reqs) != 1 || reqs[0].Model != "e2e-model" || !reqs[0].Stream {
		t.Fatalf("the AI endpoint was asked %+v", reqs)
	}
	var prompt strings.Builder
	for _, m := range reqs[0].Messages {
		prompt.WriteString(m.Content)
	}
	if !strings.Contains(prompt.String(), "The first post.") {
		t.Errorf("the endpoint's messages do not hold the post's text: %q", prompt.String())
	}
}
