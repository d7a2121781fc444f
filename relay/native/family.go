package native

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// Session families in the store. Nothing is written when a session is
// issued; a refresh writes the spent marker of the token it used, and a
// stolen token ends its family with a marker every check reads. Both live
// until the family's end, after which every token of the family is
// expired anyway, so the store holds at most one marker per refresh of a
// live family.

// refreshGrace is how long a spent refresh token still gets an answer: the
// dashboard and the site refresh concurrently (several tabs, several
// requests of one page), and all but the first would otherwise end the
// family. Within it, a re-presented token gets a new token of the same
// family; after it, the token is taken for stolen.
const refreshGrace = 30 * time.Second

// familySlack keeps markers a little past the family's end, so that no
// clock skew between instances lets a marker go before the tokens it
// guards.
const familySlack = time.Minute

// newSessionID draws a family or refresh token id: 128 random bits.
func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// familyTTL is how long a marker of c's family must be kept.
func (n *Native) familyTTL(c *sessionClaims) time.Duration {
	return max(time.Unix(c.End, 0).Sub(n.cfg.Now()), 0) + familySlack
}

// familyAlive reports errFamilyEnded for a family a reused token ended,
// given the read of its ended marker (SessionEndedName).
func familyAlive(ended *store.Op) error {
	switch err := ended.Err; {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("%w: %v", errUnavailable, err)
	}
	return errFamilyEnded
}

// spendOp marks c's refresh token spent, when a batch runs it: the
// spent marker, put only if there is none, holding when.
func (n *Native) spendOp(c *sessionClaims) *store.Op {
	at := strconv.AppendInt(nil, n.cfg.Now().UnixMilli(), 10) // JSON, as spendRefresh reads it
	return store.PutNewOp(roster.SessionSpentName(c.Family, c.ID), at, n.familyTTL(c))
}

// spendRefresh judges spend, c's spendOp once run. Of concurrent refreshes
// with one token, on any instances, exactly one spends it; the others, and
// any later one within refreshGrace, go on to a new token of the family. A
// token spent longer ago ends the family: its access tokens are refused
// at the parser from then on, and its refresh tokens at #7.
func (n *Native) spendRefresh(r *http.Request, c *sessionClaims, spend *store.Op) error {
	ctx := r.Context()
	now := n.cfg.Now()
	err := spend.Err
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("%w: %v", errUnavailable, err)
	}
	var spent int64
	data, err := n.cfg.Store.Get(ctx, roster.SessionSpentName(c.Family, c.ID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %v", errUnavailable, err)
	}
	if err == nil && json.Unmarshal(data, &spent) == nil && now.Sub(time.UnixMilli(spent)) <= refreshGrace {
		return nil
	}
	if err := n.cfg.Store.Put(ctx, roster.SessionEndedName(c.Family), []byte{1}, n.familyTTL(c)); err != nil {
		return fmt.Errorf("%w: %v", errUnavailable, err)
	}
	fields := []zap.Field{zap.String("project", c.Project), zap.String("login", c.Login)}
	if spent != 0 {
		fields = append(fields, zap.Duration("spent_ago", now.Sub(time.UnixMilli(spent)).Round(time.Second)))
	}
	n.log.Warn(r, "a spent refresh token came back: its session is ended", fields...)
	who := roster.MemberKey(c.Login)
	if who == "" {
		who = roster.MemberKey(c.Email)
	}
	n.roster.Audit().Record(ctx, audit.Event{Kind: audit.SessionReused, Project: c.Project, Member: who, By: who,
		Reason: protocol.CodeSessionRevoked,
		What:   fmt.Sprintf("a spent refresh token of %s came back: the session family is ended, taken for stolen", who)})
	return errFamilyEnded
}
