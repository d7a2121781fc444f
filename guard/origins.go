package guard

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/requestlog"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
	"github.com/caddy-outstatic/caddy-outstatic/verdict"
)

// The callback origins the guard accepts. A guard with a key learns them
// from the relay's key check (the callback_origins extension, which a
// native relay answers and the stock client ignores), cached with the
// key's verdict and refreshed with it; origins written in the guard's own
// config narrow them: only an origin both allow is accepted. Without a
// learned list (no key, a service that sends none, no verdict yet, a key
// refused) the guard's own origins are the set, and a guard without any
// has none: it refuses every auth route, whatever the Host, until the
// relay answers.

// originSet is the callback origins the guard accepts at one moment, with
// everything that reads them: the route table, the callback targets.
type originSet struct {
	origins []validate.Origin
	strict  bool
	// none says, when origins is empty, why: the reason logged with each
	// refused auth route.
	none string
}

// targets are the set as callback targets, for return URLs.
func (s *originSet) targets() validate.Targets {
	return validate.Targets{Origins: s.origins, Strict: s.strict}
}

// matchSite returns the origin whose site the browser is on, or nil.
func (s *originSet) matchSite(scheme, hostport string) *validate.Origin {
	for i := range s.origins {
		if s.origins[i].MatchesSite(scheme, hostport) {
			return &s.origins[i]
		}
	}
	return nil
}

// Reasons a guard has no callback origins, as its log says them.
const (
	noneWaiting  = "waiting for the relay: its key check has not answered (yet, or within stale_grace), and the guard has no callback_origin of its own"
	noneRefused  = "the relay refused the key, and the guard has no callback_origin of its own"
	noneNotSent  = "the service's key check answers no callback origins (outstatic.com sends none): set callback_origin in the guard"
	noneAtRelay  = "the relay answers no callback origins for the project: add one on its API Keys page or with caddy outstatic origin add"
	noneNarrowed = "no callback origin is allowed both by the guard's callback_origin and by the relay"
	noneNoKey    = "the guard has no callback_origin, and no api_key to learn them with"
)

// learnedOrigins computes the set from each new verdict, once: a request
// costs an atomic load and a comparison.
type learnedOrigins struct {
	local  []validate.Origin
	strict bool
	log    *requestlog.Logger // the guard's

	mu   sync.Mutex // one computation at a time
	last atomic.Pointer[learnedFrom]
}

// learnedFrom is the set computed from one verdict.
type learnedFrom struct {
	from verdictID
	set  *originSet
}

// verdictID tells verdicts apart: a check's answer is a body of its own,
// so a verdict refreshed (or dropped) has another, and a stale one the
// same.
type verdictID struct {
	state verdict.State
	body  *byte
}

func idOf(v verdict.Verdict) verdictID {
	id := verdictID{state: v.State}
	if v.State == verdict.Valid && len(v.Body) > 0 {
		id.body = &v.Body[0]
	}
	return id
}

// setFor returns the set for v, computing it when v is a verdict not seen
// last time, and logging what changed.
func (l *learnedOrigins) setFor(r *http.Request, v verdict.Verdict) *originSet {
	id := idOf(v)
	if last := l.last.Load(); last != nil && last.from == id {
		return last.set
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	last := l.last.Load()
	if last != nil && last.from == id {
		return last.set
	}
	set, notes := combine(l.local, v)
	set.strict = l.strict
	if last == nil || !sameSet(last.set, set) {
		l.report(r, set, notes, v)
	}
	l.last.Store(&learnedFrom{from: id, set: set})
	return set
}

// note is something about the relay's list worth a log line: an origin
// it answered that does not parse, or one of the guard's own it does not
// allow.
type note struct {
	msg, origin string
	err         error
}

// combine is the one rule: the relay's origins, narrowed by the guard's
// own; the guard's own when the relay has given none.
func combine(local []validate.Origin, v verdict.Verdict) (*originSet, []note) {
	if v.State != verdict.Valid || !v.Project.HasCallbackOrigins {
		if len(local) > 0 {
			return &originSet{origins: local}, nil
		}
		switch {
		case v.State == verdict.Invalid:
			return &originSet{none: noneRefused}, nil
		case v.State == verdict.Valid:
			return &originSet{none: noneNotSent}, nil
		}
		return &originSet{none: noneWaiting}, nil
	}
	var notes []note
	var learned []validate.Origin
	for _, raw := range v.Project.CallbackOrigins {
		o, err := validate.ParseOrigin(raw)
		if err != nil {
			notes = append(notes, note{msg: "the relay answered a callback origin that is not one; ignored", err: err})
			continue
		}
		if !slices.Contains(learned, o) {
			learned = append(learned, o)
		}
	}
	set := &originSet{origins: learned}
	if len(local) > 0 {
		set.origins = nil
		for _, o := range local {
			if slices.Contains(learned, o) {
				set.origins = append(set.origins, o)
				continue
			}
			notes = append(notes, note{msg: "callback origin refused: the relay does not allow it for the project", origin: o.String()})
		}
	}
	switch {
	case len(set.origins) > 0:
	case len(learned) == 0:
		set.none = noneAtRelay
	default:
		set.none = noneNarrowed
	}
	return set, notes
}

// sameSet reports whether a and b accept the same origins for the same
// reason.
func sameSet(a, b *originSet) bool {
	return a.none == b.none && slices.Equal(a.origins, b.origins)
}

// report logs a new set and what the guard made of the relay's list, in
// the entries of r, the request that found it.
func (l *learnedOrigins) report(r *http.Request, set *originSet, notes []note, v verdict.Verdict) {
	for _, n := range notes {
		fields := []zap.Field{zap.String("project", v.Project.ProjectSlug)}
		if n.origin != "" {
			fields = append(fields, zap.String("origin", n.origin))
		}
		if n.err != nil {
			fields = append(fields, zap.Error(n.err))
		}
		l.log.Warn(r, n.msg, fields...)
	}
	if len(set.origins) == 0 {
		l.log.Warn(r, "no callback origins: auth routes are refused with project-url-not-configured", zap.String("reason", set.none))
		return
	}
	names := make([]string, len(set.origins))
	for i, o := range set.origins {
		names[i] = o.String()
	}
	fields := []zap.Field{zap.Strings("origins", names)}
	if v.State == verdict.Valid && v.Project.HasCallbackOrigins {
		fields = append(fields, zap.String("project", v.Project.ProjectSlug), zap.String("plan", v.Project.Plan),
			zap.Bool("narrowed", len(l.local) > 0))
		l.log.Info(r, "callback origins from the relay", fields...)
		return
	}
	l.log.Info(r, "callback origins from the guard's config", fields...)
}

// reachesAuthAPI reports whether r's path reaches an Outstatic API route
// under any base path once cleaned and case folded, in either reading of
// it (foldedViews): what a guard that knows no callback origin must
// refuse, as it cannot tell the site's base path.
func reachesAuthAPI(r *http.Request) bool {
	if !containsFold(r.URL.Path, "outstatic") {
		return false
	}
	for _, folded := range foldedViews(r.URL) {
		if strings.Contains(folded+"/", "/api/outstatic/") {
			return true
		}
	}
	return false
}
