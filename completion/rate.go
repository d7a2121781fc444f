package completion

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultRate is the completion budget of one project when none is
// configured: 30 requests a minute, in a burst or spread out.
var DefaultRate = Rate{N: 30, Per: time.Minute}

// DefaultMaxKeys bounds how many projects a Limiter tracks at once.
const DefaultMaxKeys = 10000

// Rate is n requests per duration, with bursts of up to n.
type Rate struct {
	N   int
	Per time.Duration
}

// String gives the rate back in ParseRate's syntax.
func (r Rate) String() string { return strconv.Itoa(r.N) + "/" + r.Per.String() }

// ParseRate reads "<n>/<duration>", such as "30/1m" or "100/1h"; the
// duration is Go's (time.ParseDuration).
func ParseRate(s string) (Rate, error) {
	ns, ds, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want <n>/<duration>, such as 30/1m", s)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 || n > 1_000_000 {
		return Rate{}, fmt.Errorf("rate %q: the count must be a whole number from 1 to 1000000", s)
	}
	d, err := time.ParseDuration(ds)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return Rate{}, fmt.Errorf("rate %q: the duration must be from 1s to 24h, such as 1m", s)
	}
	return Rate{N: n, Per: d}, nil
}

// Limiter keeps a token bucket per key (a project): each key may make Rate.N
// requests in a burst, refilled evenly over Rate.Per. It is safe for
// concurrent use. Memory is bounded: past MaxKeys, buckets that have refilled
// completely are dropped (forgetting them changes nothing), then the least
// recently used.
type Limiter struct {
	rate    Rate
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

// NewLimiter returns a limiter allowing r per key; maxKeys <= 0 means
// DefaultMaxKeys, and now nil means time.Now (tests pass a fake clock).
func NewLimiter(r Rate, maxKeys int, now func() time.Time) (*Limiter, error) {
	if r.N < 1 || r.Per <= 0 {
		return nil, errors.New("completion rate must allow at least one request per positive duration")
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: r, maxKeys: maxKeys, now: now, buckets: map[string]*bucket{}}, nil
}

// Allow reports whether key may make a request now, and spends one if so.
func (l *Limiter) Allow(key string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.rate.Per/time.Duration(l.rate.N)), l.rate.N)}
		// A new bucket starts full as of now, not as of the zero time the
		// limiter would otherwise assume.
		b.lim.SetLimitAt(now, b.lim.Limit())
		l.buckets[key] = b
	}
	b.used = now
	return b.lim.AllowN(now, 1)
}

// evict makes room for one more bucket.
func (l *Limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.used) >= l.rate.Per {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.maxKeys {
		return
	}
	var oldest string
	var at time.Time
	for k, b := range l.buckets {
		if oldest == "" || b.used.Before(at) {
			oldest, at = k, b.used
		}
	}
	delete(l.buckets, oldest)
}

// Len is how many keys are tracked, for tests and metrics.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// RefuseRateLimited answers 429 with a text the dashboard shows.
func RefuseRateLimited(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "60")
	plain(w, http.StatusTooManyRequests, "Too many AI requests for this project, try again in a minute.")
}
