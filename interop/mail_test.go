package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// startMailRelay runs the relay with an email block that sends through
// smtp (Mailpit, or a proxy in front of it) with sec and password,
// trusting mp's certificate as an operator trusts a private CA.
func startMailRelay(t *testing.T, mp *mailpit, smtp string, sec mailpitTLS, password string) *relayStack {
	t.Helper()
	return startRelay(t, func(string) relayOptions {
		env := map[string]string{"SMTP_PASSWORD": password}
		if mp.CertFile != "" {
			env["SSL_CERT_FILE"] = mp.CertFile
		}
		block := fmt.Sprintf("\t\temail {\n\t\t\tsmtp %s\n\t\t\tusername %s\n\t\t\tpassword {env.SMTP_PASSWORD}\n"+
			"\t\t\tfrom \"Blog <login@example.com>\"\n\t\t\ttls %s\n\t\t\tlink_ttl 10m\n\t\t}", smtp, smtpUser, sec)
		return relayOptions{blocks: block, env: env, secrets: []string{password, smtpPassword}}
	})
}

// askLink calls request-magic-link for addr as the site does; the answer
// is always 200 {"success":true}, whatever happens to the message.
func (s *relayStack) askLink(t *testing.T, addr string) {
	t.Helper()
	status, body := s.post(t, "/outstatic/auth/request-magic-link", true,
		map[string]string{"email": addr, "callbackUrl": s.Callback("magic-link-callback")})
	if status != 200 || body != `{"success":true}` {
		t.Fatalf("request-magic-link for %s: %d %s", addr, status, body)
	}
}

// linkPattern finds the relay's sign-in link in a message.
var linkPattern = regexp.MustCompile(`http://[^\s"<>]+/outstatic/auth/email/verify\?t=[A-Za-z0-9_-]+`)

// checkMessage checks what a mail client shows of msg and what it is
// made of: From, To, a Subject without the link or its token, Date,
// Message-ID on the sender's domain, and a multipart/alternative body of
// a text and an HTML part that carry the same single link (returned;
// "" for a message without one).
func checkMessage(t *testing.T, mp *mailpit, msg mailMessage, to, subject string, sent time.Time) string {
	t.Helper()
	if msg.From != (mailAddress{Name: "Blog", Address: "login@example.com"}) || len(msg.To) != 1 || msg.To[0].Address != to {
		t.Errorf("from %+v to %+v", msg.From, msg.To)
	}
	if msg.Subject != subject || strings.Contains(msg.Subject, "http") || strings.Contains(msg.Subject, "ml_") {
		t.Errorf("subject %q, want %q", msg.Subject, subject)
	}
	if !strings.HasSuffix(msg.MessageID, "@example.com") || strings.ContainsAny(msg.MessageID, "<> ") {
		t.Errorf("Message-ID %q: want one on the sender's domain", msg.MessageID)
	}
	raw := mp.raw(t, msg.ID)
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the message does not parse: %v\n%s", err, raw)
	}
	h := m.Header
	if date, err := h.Date(); err != nil || date.Before(sent.Add(-time.Minute).Truncate(time.Second)) || date.After(time.Now().Add(time.Minute)) {
		t.Errorf("Date %q (%v): want the time it was sent", h.Get("Date"), err)
	}
	if got := h.Get("Message-Id"); got != "<"+msg.MessageID+">" {
		t.Errorf("Message-ID header %q", got)
	}
	if h.Get("MIME-Version") != "1.0" || h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("MIME-Version %q, Auto-Submitted %q", h.Get("MIME-Version"), h.Get("Auto-Submitted"))
	}
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q: want multipart/alternative", h.Get("Content-Type"))
	}
	var parts []string
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the parts: %v", err)
		}
		ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts = append(parts, ct+"; charset="+strings.ToLower(cp["charset"]))
	}
	if !slices.Equal(parts, []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}) {
		t.Errorf("parts %v: want the text, then its HTML alternative", parts)
	}
	inText, inHTML := linkPattern.FindAllString(msg.Text, -1), linkPattern.FindAllString(html.UnescapeString(msg.HTML), -1)
	if len(inText) > 1 || len(inHTML) > 1 || !slices.Equal(inText, inHTML) {
		t.Errorf("links: text %v, HTML %v: want the same one in both", inText, inHTML)
	}
	if len(inText) == 1 {
		return inText[0]
	}
	return ""
}

// signIn opens a sign-in link, confirms it as a person does (the form's
// button) and returns where the relay sends the browser.
func (s *relayStack) signIn(t *testing.T, link string) string {
	t.Helper()
	status, page, _ := s.get(t, link)
	fields := regexp.MustCompile(`name="(t|csrf)" value="([^"]+)"`).FindAllStringSubmatch(page, -1)
	action := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(page)
	if status != 200 || len(fields) != 2 || action == nil {
		t.Fatalf("the link's page: %d %s", status, page)
	}
	form := url.Values{fields[0][1]: {html.UnescapeString(fields[0][2])}, fields[1][1]: {html.UnescapeString(fields[1][2])}}
	target, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := url.Parse(html.UnescapeString(action[1]))
	res, err := s.client.PostForm(target.ResolveReference(ref).String(), form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("confirming the link: %d", res.StatusCode)
	}
	return res.Header.Get("Location")
}

// signedIn signs in with link and redeems the exchange token as the
// site does: the user it answers.
func (s *relayStack) signedIn(t *testing.T, link string) map[string]any {
	t.Helper()
	callback := s.Callback("magic-link-callback")
	status, out := s.redeem(t, exchangeToken(t, s.signIn(t, link), callback), callback)
	if status != 200 {
		t.Fatalf("exchange-token: %d %v", status, out)
	}
	user, _ := out["user"].(map[string]any)
	return user
}

// invite invites addr as role through Caddy's admin API, as `caddy
// outstatic member invite` does: the status and the answer.
func (s *relayStack) invite(t *testing.T, addr, role string) (int, map[string]any) {
	t.Helper()
	data, _ := json.Marshal(map[string]string{"email": addr, "role": role})
	res, err := http.Post(s.Admin+"/outstatic/members/blog/invite", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestMagicLinksThroughMailpit sends the relay's sign-in links and
// invitations through Mailpit, with STARTTLS and AUTH, and with implicit
// TLS: each message is read back from Mailpit's API and checked as a mail
// client would show it, and its link is followed to a signed-in session.
func TestMagicLinksThroughMailpit(t *testing.T) {
	for _, sec := range []mailpitTLS{mailpitSTARTTLS, mailpitImplicit} {
		t.Run(string(sec), func(t *testing.T) {
			mp := startMailpit(t, sec)
			s := startMailRelay(t, mp, mp.SMTP, sec, smtpPassword)

			sent := time.Now()
			s.askLink(t, "bob@example.com")
			link := checkMessage(t, mp, mp.next(t, "bob@example.com"), "bob@example.com", "Your sign-in link for blog", sent)
			if !strings.HasPrefix(link, s.URL+"/outstatic/auth/email/verify?t=") {
				t.Fatalf("the message's link %q is not the relay's", link)
			}
			if user := s.signedIn(t, link); user["email"] != "bob@example.com" {
				t.Fatalf("signed in as %v", user)
			}

			// An invitation, e-mailed; then the invited address signs in
			// with a link, which accepts it.
			sent = time.Now()
			status, reply := s.invite(t, "carol@example.com", "author")
			if status != 200 || reply["sent"] != true || reply["link"] != s.Site {
				t.Fatalf("invite: %d %v", status, reply)
			}
			invitation := mp.next(t, "carol@example.com")
			checkMessage(t, mp, invitation, "carol@example.com", "admin-api invited you to blog", sent)
			// SMTP's lines end in CRLF, and so do the parts Mailpit keeps.
			if !strings.Contains(invitation.Text, "\r\n"+s.Site+"\r\n") || !strings.Contains(invitation.HTML, `href="`+s.Site+`"`) {
				t.Fatalf("the invitation does not name the site's sign-in page %s:\n%s", s.Site, invitation.Text)
			}
			s.askLink(t, "carol@example.com")
			user := s.signedIn(t, checkMessage(t, mp, mp.next(t, "carol@example.com"), "carol@example.com", "Your sign-in link for blog", sent))
			perms, _ := user["permissions"].([]any)
			if user["email"] != "carol@example.com" || !slices.Contains(perms, any("content.manage")) || slices.Contains(perms, any("settings.manage")) {
				t.Fatalf("the invited author signed in as %v", user)
			}
		})
	}
}
