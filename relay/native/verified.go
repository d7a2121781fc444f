package native

import (
	"context"
	"errors"

	"github.com/caddy-outstatic/caddy-outstatic/identity"
	"github.com/caddy-outstatic/caddy-outstatic/mail"
)

// ErrNotMember: a login of someone who is not a member of the project.
var ErrNotMember = errors.New("not a member of the project")

// CompleteVerifiedLogin ends the login of a person whose e-mail address a
// provider has verified (an e-mail link, Google): the callback must be one
// of the project's, the person is admitted as at any login (a pending
// invitation of the address is accepted), and the one-time exchange token
// for the callback is returned. The session it leads to carries no GitHub
// token: it reaches the repository through the relay's GitHub App.
func (n *Native) CompleteVerifiedLogin(ctx context.Context, project, callback, email, name string) (string, error) {
	p := n.projects[project]
	if p == nil {
		return "", ErrUnknownProject
	}
	t, err := n.targets(ctx, p).Check(callback)
	if err != nil {
		return "", err
	}
	key, err := identity.Email(email)
	if err != nil || !mail.ValidAddress(email) {
		return "", errors.New("not an e-mail address")
	}
	m := member{Email: email, Emails: []string{key}, Name: name}
	if m.Role, err = n.admit(ctx, p, m); err != nil {
		return "", err
	}
	if m.Role == "" {
		return "", ErrNotMember
	}
	return n.mintExchangeToken(ctx, exchangePayload{Project: p.Slug, Callback: t.URL, member: m})
}
