package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Exchange tokens (PROTOCOL.md §2, #5): what every login ends with. A
// token is 256 random bits, opaque; what it stands for is sealed in the
// store under its hash, for exchangeTTL, and taken once on every instance
// that shares the store.

// enter admits m, logged in by provider, to p and mints the exchange token
// for callback (and the checked return URL): the one way a login becomes a
// token. It returns m with its role; ErrNotMember for a user who is not a
// member. The sign-in is recorded in the audit log, admitted or refused.
func (l *Logins) enter(ctx context.Context, provider string, p *roster.Project, callback, returnURL string, m Member) (string, Member, error) {
	token, m, err := l.admit(ctx, p, callback, returnURL, m)
	reason := ""
	switch {
	case errors.Is(err, ErrNotMember):
		reason = protocol.CodeNotCollaborator
	case err != nil:
		reason = protocol.CodeServiceUnavailable
	}
	l.recordSignIn(ctx, provider, p, m, reason, false)
	return token, m, err
}

// admit is enter's work. A member whose role the configuration gives
// keeps it whatever the invitations do, so their exchange token is stored
// in one batch with the invitations' take; anyone else's once admitted.
func (l *Logins) admit(ctx context.Context, p *roster.Project, callback, returnURL string, m Member) (string, Member, error) {
	failed := func(err error) (string, Member, error) {
		return "", m, fmt.Errorf("minting an exchange token: %w", err)
	}
	x := Exchange{Project: p.Slug, Callback: callback, ReturnURL: returnURL, Member: m}
	var token string
	var mint []*store.Op
	if x.Role = roster.ConfiguredRole(p, m.Login, m.Emails); x.Role != "" {
		t, op, err := l.exchangeToken(x)
		if err != nil {
			return failed(err)
		}
		token, mint = t, []*store.Op{op}
	}
	role, err := l.cfg.Roster.Admit(ctx, p, m.Login, m.Emails, mint...)
	if err != nil {
		return "", m, fmt.Errorf("checking a member: %w", err)
	}
	if m.Role = role; role == "" {
		return "", m, ErrNotMember
	}
	if mint == nil {
		x.Member = m
		t, op, err := l.exchangeToken(x)
		if err != nil {
			return failed(err)
		}
		l.cfg.Store.Batch(ctx, op)
		token, mint = t, []*store.Op{op}
	}
	if err := mint[0].Err; err != nil {
		return failed(err)
	}
	return token, m, nil
}

// Exchange is what an exchange token stands for, sealed in the store.
type Exchange struct {
	Project  string `json:"p"`
	Callback string `json:"c"`
	// ReturnURL, checked, is exchange-token's return_url (e-mail and
	// OpenID Connect logins that were given a returnUrl).
	ReturnURL string `json:"ru,omitempty"`
	Member
}

// exchangeToken draws a token, 256 random bits, opaque, and returns it
// with the store operation that keeps the sealed payload under its hash
// for exchangeTTL: the token is good once a batch has run it.
func (l *Logins) exchangeToken(payload Exchange) (string, *store.Op, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	token := "xt_" + base64.RawURLEncoding.EncodeToString(raw)
	sealed, _, err := l.cfg.Seal.Seal(seal.Token, payload, exchangeTTL)
	if err != nil {
		return "", nil, err
	}
	return token, store.PutOp(roster.ExchangeName(token), []byte(sealed), exchangeTTL), nil
}

// ErrNoExchange: an exchange token that is not one, spent, expired, or
// of a project the relay no longer serves.
var ErrNoExchange = errors.New("no such exchange token")

// TakeExchange spends token, once on every instance that shares the
// store, and returns what it stands for and its project; with, if any, are
// sent to the store in one batch with the take. A failure of the store is
// neither: it wraps roster.ErrUnavailable.
func (l *Logins) TakeExchange(ctx context.Context, token string, with ...*store.Op) (Exchange, *roster.Project, error) {
	var x Exchange
	take := store.TakeOp(roster.ExchangeName(token))
	l.cfg.Store.Batch(ctx, append([]*store.Op{take}, with...)...)
	data, err := take.Value, take.Err
	switch {
	case errors.Is(err, store.ErrNotFound):
		return x, nil, ErrNoExchange
	case err != nil:
		return x, nil, fmt.Errorf("%w: taking an exchange token: %v", roster.ErrUnavailable, err)
	}
	if err := l.cfg.Seal.Open(seal.Token, string(data), &x); err != nil {
		return x, nil, ErrNoExchange
	}
	p, err := l.cfg.Roster.Project(ctx, x.Project)
	switch {
	case err != nil:
		return x, nil, err
	case p == nil:
		return x, nil, ErrNoExchange
	}
	return x, p, nil
}

// CompleteVerified ends the login of a person whose e-mail address a
// provider has verified (an e-mail link, Google) and returns the one-time
// exchange token for callback, which must be one of the project's: the
// person is admitted as at any login (a pending invitation of the address
// is accepted). The session it leads to carries no GitHub token: it
// reaches the repository through the relay's GitHub App.
func (l *Logins) CompleteVerified(ctx context.Context, project, callback, email, name string) (string, error) {
	p, err := l.cfg.Roster.Project(ctx, project)
	switch {
	case err != nil:
		return "", err
	case p == nil:
		return "", roster.ErrUnknownProject
	}
	t, err := l.cfg.Roster.Targets(ctx, p).Check(callback)
	if err != nil {
		return "", err
	}
	key, err := identity.Email(email)
	if err != nil || !mail.ValidAddress(email) {
		return "", errors.New("not an e-mail address")
	}
	token, _, err := l.enter(ctx, "email", p, t.URL, "", Member{Email: email, Emails: []string{key}, Name: name})
	return token, err
}
