package native

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/mail"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/ratelimit"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// E-mail logins (#4, request-magic-link). The site asks for a link for an
// address; the answer is the same whether or not the address is a member
// (no enumeration): everything that depends on membership (the lookup,
// minting the link, sending the message) happens after the reply, in the
// background, so neither the status, the body nor the time tells. A
// member gets a message with a single-use link to the relay's verify
// route (email_page.go), which ends at the site's magic-link-callback with
// an exchange token, as GitHub's hop ends at its callback.
//
// Rate limits are checked before anything else is spent, and count every
// request alike, member or not: a 429 says only that this client, or this
// address, asked too often, never whether the address is a member. They
// are kept per project (limitKey), in three tiers, each spent only once
// the one before it passed:
//   - per client: a client's whole rate, whatever it asks for;
//   - per client and address: how many links one client can have sent to
//     one inbox, so that a client asking again and again for someone
//     else's address spends that client's budget, not the address's;
//   - per address: how many links an inbox gets in all, from every client.
//
// The client is the browser the guard names on its keyed call (client.go);
// when the site calls the relay itself (the stock site does not pass the
// browser's address on) it is the site's server, so the per-client limit
// then bounds the whole site's rate. The stock site turns the 429 into a
// 500 and its form shows nothing; the person waits and tries again. The
// buckets live in each instance's memory, bounded in keys
// (ratelimit.DefaultMaxKeys each): behind several instances a client gets
// the limit once per instance, which still bounds it.

// EmailLogin configures e-mail (magic link) logins.
type EmailLogin struct {
	// Mail is the SMTP relay the messages go through, and their sender.
	Mail mail.Config
	// LinkTTL is how long a link works; default DefaultLinkTTL.
	LinkTTL time.Duration
}

// DefaultLinkTTL is how long a login link works unless configured.
const DefaultLinkTTL = 15 * time.Minute

// Rate limits of magic-link requests, per project: per client, a burst of
// 30 and one every two seconds; per client and address, three at once and
// then one every two minutes; per address, ten at once and then one every
// ten minutes.
var (
	linkLimitPerClient        = ratelimit.Config{Every: 2 * time.Second, Burst: 30}
	linkLimitPerClientAddress = ratelimit.Config{Every: 2 * time.Minute, Burst: 3}
	linkLimitPerAddress       = ratelimit.Config{Every: 10 * time.Minute, Burst: 10}
)

// maxLinkTTL bounds link_ttl: a login link is a password sent in clear
// through mail servers, so it must not live long.
const maxLinkTTL = 24 * time.Hour

// emailLogin sends login links.
type emailLogin struct {
	sender  *mail.Sender
	ttl     time.Duration
	limits  [3]*ratelimit.Limiter // per client, per client and address, per address (linkLimit*)
	sending sync.WaitGroup        // messages on their way; tests wait for them
}

func newEmailLogin(cfg EmailLogin, now func() time.Time, log *zap.Logger) (*emailLogin, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.LinkTTL == 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	sender, err := mail.NewSender(cfg.Mail)
	if err != nil {
		return nil, err
	}
	e := &emailLogin{sender: sender, ttl: cfg.LinkTTL}
	for i, c := range []ratelimit.Config{linkLimitPerClient, linkLimitPerClientAddress, linkLimitPerAddress} {
		c.Now = now
		if e.limits[i], err = ratelimit.New(c); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Check reports what is wrong with cfg's own values (the SMTP settings
// are mail.NewSender's to check).
func (cfg EmailLogin) Check() error {
	if cfg.LinkTTL < 0 || cfg.LinkTTL > maxLinkTTL {
		return errors.New("email link_ttl must be positive and at most 24h")
	}
	return nil
}

// allow spends one request of client for address in p, tier by tier: a
// tier that refuses spends nothing of the ones after it.
func (e *emailLogin) allow(p *Project, client, address string) bool {
	keys := [3]string{limitKey(p, client), limitKey(p, client+"\n"+address), limitKey(p, address)}
	for i, l := range e.limits {
		if !l.Allow(keys[i]) {
			return false
		}
	}
	return true
}

// linkPayload is what a login link stands for, sealed in the store under
// the link token's hash.
type linkPayload struct {
	Project   string `json:"p"`
	Callback  string `json:"c"`
	ReturnURL string `json:"r,omitempty"`
	Email     string `json:"e"`
}

func linkName(token string) string { return "ml/" + relay.TokenKey(token) }

// serveRequestMagicLink answers #4.
func (n *Native) serveRequestMagicLink(w http.ResponseWriter, r *http.Request) {
	p := n.authProject(w, r, protocol.CodeInvalidAPIKeyMagic)
	if p == nil {
		return
	}
	if n.email == nil {
		protocol.WriteError(w, http.StatusNotImplemented, protocol.CodeNotSupported)
		return
	}
	var in struct {
		Email       string  `json:"email"`
		CallbackURL *string `json:"callbackUrl"`
		ReturnURL   *string `json:"returnUrl"`
	}
	if err := protocol.ReadJSON(r.Body, &in); err != nil || in.CallbackURL == nil {
		protocol.WriteError(w, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
		return
	}
	targets, t, err := n.checkCallback(r.Context(), p, *in.CallbackURL)
	if err != nil {
		writeCheckError(w, err)
		return
	}
	ret, err := n.checkReturnURL(targets, in.ReturnURL, t.URL)
	if err != nil {
		writeCheckError(w, err)
		return
	}
	addr, err := loginAddress(in.Email)
	if err != nil {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidRequest)
		return
	}
	client, err := n.clientOf(r)
	if err != nil {
		n.log.Info("magic link refused: malformed client header", zap.String("project", p.Slug))
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidRequest)
		return
	}
	if !n.email.allow(p, client, memberKey(addr.Address)) {
		n.log.Info("magic link refused: rate limited", zap.String("project", p.Slug), zap.String("client", client))
		n.countLogin(emailProvider, LoginRefused, protocol.CodeTooManyRequests)
		w.Header().Set("Retry-After", "120")
		protocol.WriteError(w, http.StatusTooManyRequests, protocol.CodeTooManyRequests)
		return
	}
	n.countLogin(emailProvider, LoginStarted, "")
	link := linkPayload{Project: p.Slug, Callback: t.URL, ReturnURL: ret, Email: addr.Address}
	n.email.sending.Add(1)
	go func() {
		defer n.email.sending.Done()
		n.sendLink(p, link)
	}()
	protocol.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// sendLink mints and sends the link of a member or of an address with a
// pending invitation (the login accepts it, in admit); for anyone else it
// does nothing. It runs after the reply.
func (n *Native) sendLink(p *Project, link linkPayload) {
	ctx, cancel := context.WithTimeout(context.Background(), mail.DefaultTimeout+5*time.Second)
	defer cancel()
	if ok, err := n.mayLogIn(ctx, p, link.Email); err != nil || !ok {
		n.log.Info("magic link not sent: not a member", zap.String("project", p.Slug), zap.Error(err))
		return
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		n.log.Error("minting a login link", zap.Error(err))
		return
	}
	token := "ml_" + base64.RawURLEncoding.EncodeToString(raw)
	sealed, _, err := n.seal.seal(purposeLink, link, n.email.ttl)
	if err == nil {
		err = n.cfg.Store.Put(ctx, linkName(token), []byte(sealed), n.email.ttl)
	}
	if err != nil {
		n.log.Error("storing a login link", zap.String("project", p.Slug), zap.Error(err))
		return
	}
	msg, err := mail.LoginMessage(mail.Login{To: link.Email, Site: p.Slug,
		Link: n.base + protocol.EmailVerify.Path + "?t=" + token, ValidFor: n.email.ttl})
	if err == nil {
		err = n.email.sender.Send(ctx, msg)
	}
	if err != nil {
		// The error names the SMTP step, never the link or the password.
		n.log.Warn("sending a login link failed", zap.String("project", p.Slug), zap.Error(err))
		return
	}
	n.log.Info("login link sent", zap.String("project", p.Slug))
}

// mayLogIn reports whether addr is a member of p or has a pending
// invitation to it.
func (n *Native) mayLogIn(ctx context.Context, p *Project, addr string) (bool, error) {
	role, err := n.roleOf(ctx, p, "", []string{addr})
	if err != nil || role != "" {
		return role != "", err
	}
	_, err = n.cfg.Store.Get(ctx, inviteName(p.Slug, addr))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
