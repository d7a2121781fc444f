package native

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/caddy-outstatic/caddy-outstatic/relay/seal"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Expiring GitHub tokens. A GitHub App's user token expires after eight
// hours and comes with a refresh token that renews it. GitHub's refresh
// tokens are single use, and renewing also ends the old access token, so
// a renewal cannot be left to whichever instance meets the expired token
// first: the renewed token goes to the store, under the session family,
// where every instance (a parser call, a session refresh) finds it, and
// one renewal per family runs at a time, across instances. A session
// refresh embeds the renewed token in the new session, so the parser
// renews or reads the store only between a renewal and the next refresh.

// githubEarly renews a token this long before GitHub's expiry, so that a
// call made with it does not race the expiry.
const githubEarly = time.Minute

// githubLockTTL bounds a renewal; githubWait is how long a call waits for
// another instance's renewal.
const (
	githubLockTTL = 30 * time.Second
	githubWait    = 10 * time.Second
)

func githubName(family string) string     { return "sessions/github/" + family }
func githubLockName(family string) string { return "sessions/renewing/" + family }

// githubCredential is the user's GitHub token as last renewed.
type githubCredential struct {
	Token   string `json:"g"`
	Refresh string `json:"gr,omitempty"`
	Expiry  int64  `json:"gx,omitempty"`
}

func (m *member) credential() githubCredential {
	return githubCredential{Token: m.GitHub, Refresh: m.GitHubRefresh, Expiry: m.GitHubExpiry}
}

func (m *member) adopt(cred githubCredential) {
	m.GitHub, m.GitHubRefresh, m.GitHubExpiry = cred.Token, cred.Refresh, cred.Expiry
}

// expired reports whether cred is due for renewal; a token without an
// expiry never is.
func (cred githubCredential) expired(now time.Time) bool {
	return cred.Expiry != 0 && now.Add(githubEarly).Unix() >= cred.Expiry
}

// freshGitHub makes c carry a GitHub token that has not expired: the one
// it has, one another call renewed, or one renewed now.
func (n *Native) freshGitHub(ctx context.Context, c *sessionClaims) error {
	if !c.credential().expired(n.cfg.Now()) {
		return nil
	}
	// Calls of one family on this instance share one renewal; it outlives
	// the request that started it, so the others are not cut short.
	have := c.credential()
	v, err, _ := n.renewals.Do(c.Family, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), githubWait+5*time.Second)
		defer cancel()
		return n.renewGitHub(ctx, c, have)
	})
	if err != nil {
		return err
	}
	c.adopt(v.(githubCredential))
	return nil
}

// renewGitHub returns the newest credential of c's family that has not
// expired, renewing with GitHub when there is none.
func (n *Native) renewGitHub(ctx context.Context, c *sessionClaims, have githubCredential) (githubCredential, error) {
	best, err := n.newerGitHub(ctx, c.Family, have)
	if err != nil || !best.expired(n.cfg.Now()) {
		return best, err
	}
	deadline := time.Now().Add(githubWait)
	for {
		err := n.cfg.Store.PutNew(ctx, githubLockName(c.Family), []byte{1}, githubLockTTL)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrExists) {
			return best, fmt.Errorf("%w: %v", errUnavailable, err)
		}
		// Another instance is renewing: its token will be in the store.
		if time.Now().After(deadline) {
			return best, fmt.Errorf("%w: waiting for another instance to renew a github token", errUnavailable)
		}
		select {
		case <-ctx.Done():
			return best, fmt.Errorf("%w: %v", errUnavailable, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if best, err = n.newerGitHub(ctx, c.Family, best); err != nil || !best.expired(n.cfg.Now()) {
			return best, err
		}
	}
	defer func() { _ = n.cfg.Store.Delete(context.WithoutCancel(ctx), githubLockName(c.Family)) }()
	// A renewal may have finished between the last read and the lock.
	if best, err = n.newerGitHub(ctx, c.Family, best); err != nil || !best.expired(n.cfg.Now()) {
		return best, err
	}
	if best.Refresh == "" {
		return best, errGitHubEnded
	}
	tok, err := n.github.oauth.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, n.cfg.Client), &oauth2.Token{RefreshToken: best.Refresh}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			n.log.Info("github refused to renew a user token", zap.String("project", c.Project), zap.String("login", c.Login), zap.Error(redactErr(err)))
			return best, errGitHubEnded
		}
		return best, fmt.Errorf("%w: renewing a github token: %v", errUnavailable, redactErr(err))
	}
	renewed := githubCredential{Token: tok.AccessToken, Refresh: tok.RefreshToken, Expiry: n.github.expiry(tok)}
	if renewed.Refresh == "" {
		renewed.Refresh = best.Refresh
	}
	sealed, _, err := n.seal.Seal(seal.GitHub, renewed, n.familyTTL(c))
	if err == nil {
		err = n.cfg.Store.Put(ctx, githubName(c.Family), []byte(sealed), n.familyTTL(c))
	}
	if err != nil {
		// GitHub has spent the old refresh token: the session can use the
		// new token for this call, but no other call will find it.
		n.log.Error("keeping a renewed github token", zap.String("project", c.Project), zap.Error(err))
	}
	n.log.Debug("github token renewed", zap.String("project", c.Project), zap.String("login", c.Login))
	return renewed, nil
}

// newerGitHub returns the family's stored credential when it is newer
// than have, else have.
func (n *Native) newerGitHub(ctx context.Context, family string, have githubCredential) (githubCredential, error) {
	data, err := n.cfg.Store.Get(ctx, githubName(family))
	if errors.Is(err, store.ErrNotFound) {
		return have, nil
	}
	if err != nil {
		return have, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	var stored githubCredential
	// A renewal GitHub answered without an expiry does not expire.
	if n.seal.Open(seal.GitHub, string(data), &stored) != nil || (stored.Expiry != 0 && stored.Expiry <= have.Expiry) {
		return have, nil
	}
	return stored, nil
}
