package relay

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// StoreCallbacks is a CallbackMemory in a store shared by several Caddy
// instances, for a guard and a relay that do not run in one process: the
// guard that saw a token arrive records it, and whichever relay instance
// the site calls reads it. A seen marker, kept apart from the record, makes
// a replay visible to every guard.
type StoreCallbacks struct {
	Store store.Store
	TTL   time.Duration
	// Timeout bounds each store call, so a slow store degrades a login
	// rather than hanging it. Default 2s.
	Timeout time.Duration
	Logger  *zap.Logger
}

func (s StoreCallbacks) ctx() (context.Context, context.CancelFunc) {
	d := s.Timeout
	if d <= 0 {
		d = 2 * time.Second
	}
	return context.WithTimeout(context.Background(), d)
}

func (s StoreCallbacks) log() *zap.Logger {
	if s.Logger == nil {
		return zap.NewNop()
	}
	return s.Logger
}

// Remember records that token arrived at callbackURL, once. When the store
// fails, it reports the token as new: refusing would lock every user out
// during a store outage, and the service's own single use still holds.
func (s StoreCallbacks) Remember(token, callbackURL string) bool {
	ctx, cancel := s.ctx()
	defer cancel()
	h := tokenKey(token)
	err := s.Store.PutNew(ctx, "seen/"+h, []byte{1}, s.TTL)
	if errors.Is(err, store.ErrExists) {
		return false
	}
	if err != nil {
		s.log().Warn("recording a token's callback", zap.Error(err))
		return true
	}
	if err := s.Store.Put(ctx, "callbacks/"+h, []byte(callbackURL), s.TTL); err != nil {
		s.log().Warn("recording a token's callback", zap.Error(err))
	}
	return true
}

// SpendBinding marks the binding id used until expires, once across every
// instance sharing the store. When the store fails it reports the binding
// as unused, for the reason Remember does: the signed cookie has been
// checked and its browser told to drop it.
func (s StoreCallbacks) SpendBinding(id string, expires time.Time) bool {
	ttl := time.Until(expires)
	if ttl <= 0 {
		return false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	err := s.Store.PutNew(ctx, "bindings/"+tokenKey(id), []byte{1}, ttl)
	if errors.Is(err, store.ErrExists) {
		return false
	}
	if err != nil {
		s.log().Warn("recording a spent login binding", zap.Error(err))
	}
	return true
}

// Take returns the callback recorded for token and removes it.
func (s StoreCallbacks) Take(token string) (string, bool) {
	ctx, cancel := s.ctx()
	defer cancel()
	v, err := s.Store.Take(ctx, "callbacks/"+tokenKey(token))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log().Warn("reading a token's callback", zap.Error(err))
		}
		return "", false
	}
	return string(v), true
}

var (
	_ CallbackMemory = StoreCallbacks{}
	_ BindingMemory  = StoreCallbacks{}
	_ CallbackMemory = (*MemoryCallbacks)(nil)
	_ BindingMemory  = (*MemoryCallbacks)(nil)
)
