package native

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/relay/github"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
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

// githubLockTTL bounds a renewal; githubWait is how long a call waits for
// another instance's renewal.
const (
	githubLockTTL = 30 * time.Second
	githubWait    = 10 * time.Second
)

// freshGitHub makes c carry a GitHub token that has not expired: the one
// it has, one another call renewed, or one renewed now.
func (n *Native) freshGitHub(r *http.Request, c *sessionClaims) error {
	if !c.Credential.Expired(n.cfg.Now()) {
		return nil
	}
	// Calls of one family on this instance share one renewal; it outlives
	// the request that started it, so the others are not cut short.
	have := c.Credential
	v, err, _ := n.renewals.Do(c.Family, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), githubWait+5*time.Second)
		defer cancel()
		// The renewal's entries name the request that began it.
		return n.renewGitHub(ctx, c, have, n.log.ID.Field(r))
	})
	if err != nil {
		return err
	}
	c.Credential = v.(github.Credential)
	return nil
}

// renewGitHub returns the newest credential of c's family that has not
// expired, renewing with GitHub when there is none; id is the request_id
// of its log entries.
func (n *Native) renewGitHub(ctx context.Context, c *sessionClaims, have github.Credential, id zap.Field) (github.Credential, error) {
	best, err := n.newerGitHub(ctx, c.Family, have)
	if err != nil || !best.Expired(n.cfg.Now()) {
		return best, err
	}
	deadline := time.Now().Add(githubWait)
	for {
		err := n.cfg.Store.PutNew(ctx, roster.SessionRenewingName(c.Family), []byte{1}, githubLockTTL)
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
		if best, err = n.newerGitHub(ctx, c.Family, best); err != nil || !best.Expired(n.cfg.Now()) {
			return best, err
		}
	}
	defer func() { _ = n.cfg.Store.Delete(context.WithoutCancel(ctx), roster.SessionRenewingName(c.Family)) }()
	// A renewal may have finished between the last read and the lock.
	if best, err = n.newerGitHub(ctx, c.Family, best); err != nil || !best.Expired(n.cfg.Now()) {
		return best, err
	}
	if best.Refresh == "" {
		return best, errGitHubEnded
	}
	renewed, err := n.gh.Renew(ctx, best.Refresh)
	if err != nil {
		if github.Refused(err) {
			n.log.Log.Info("github refused to renew a user token", zap.String("project", c.Project), zap.String("login", c.Login), zap.Error(err), id)
			return best, errGitHubEnded
		}
		return best, fmt.Errorf("%w: renewing a github token: %v", errUnavailable, err)
	}
	sealed, _, err := n.seal.Seal(seal.GitHub, renewed, n.familyTTL(c))
	if err == nil {
		err = n.cfg.Store.Put(ctx, roster.SessionGitHubName(c.Family), []byte(sealed), n.familyTTL(c))
	}
	if err != nil {
		// GitHub has spent the old refresh token: the session can use the
		// new token for this call, but no other call will find it.
		n.log.Log.Error("keeping a renewed github token", zap.String("project", c.Project), zap.Error(err), id)
	}
	n.log.Log.Debug("github token renewed", zap.String("project", c.Project), zap.String("login", c.Login), id)
	return renewed, nil
}

// newerGitHub returns the family's stored credential when it is newer
// than have, else have.
func (n *Native) newerGitHub(ctx context.Context, family string, have github.Credential) (github.Credential, error) {
	data, err := n.cfg.Store.Get(ctx, roster.SessionGitHubName(family))
	if errors.Is(err, store.ErrNotFound) {
		return have, nil
	}
	if err != nil {
		return have, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	var stored github.Credential
	// A renewal GitHub answered without an expiry does not expire.
	if n.seal.Open(seal.GitHub, string(data), &stored) != nil || (stored.Expiry != 0 && stored.Expiry <= have.Expiry) {
		return have, nil
	}
	return stored, nil
}
