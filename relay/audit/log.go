package audit

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/internal/batching"
	"github.com/caddy-outstatic/caddy-outstatic/relay"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// The records in the store. Each event is one record, named
// <Prefix><bucket>/<time>.<kind>.<member>.<tail>: the bucket is the
// project's slug (RelayBucket for the relay's own events), the time the
// event's in Unix nanoseconds, zero-padded so that names sort by it, the
// member a hash of the member's key ("-" for none), the tail random. A
// query filters by time, kind and member from the names alone and reads
// only the records it answers with. Every record expires after the
// retention; each bucket keeps at most MaxPerProject of them, the oldest
// dropped first. Looking at a bucket's size means listing it (on the file
// store its directory, by the names alone: a record past the retention
// that is still there counts by the time in its name), so an instance
// looks only once its own writes could have filled the bucket (at least
// trimEvery writes apart: a bucket may briefly hold that many more, per
// instance writing to it), and a full bucket is trimmed to nine tenths of
// the bound, which leaves a tenth of it to write before the next look.

// Defaults of a Log.
const (
	DefaultRetention     = 90 * 24 * time.Hour
	DefaultMaxPerProject = 10000
)

// RelayBucket holds the events of no project. No slug starts with '_'.
const RelayBucket = "_relay"

// trimEvery is the fewest writes to a bucket an instance makes between two
// looks at its size.
const trimEvery = 16

// Config configures a Log.
type Config struct {
	// Store keeps the records; nil keeps none (the zap log only).
	Store store.Store
	// Prefix starts every record's name; it ends with '/'.
	Prefix string
	// Logger writes every event, at Info.
	Logger *zap.Logger
	// Retention is how long a record is kept; default DefaultRetention.
	Retention time.Duration
	// MaxPerProject bounds the records of one project; default
	// DefaultMaxPerProject.
	MaxPerProject int
	Now           func() time.Time
}

// Log records events. It is safe for concurrent use.
type Log struct {
	cfg    Config
	mu     sync.Mutex
	last   int64          // the newest name's time: names keep their order under a stopped clock
	budget map[string]int // per bucket, writes left before the next look at its size
	// trimming holds the buckets being looked at: a write that finds
	// its bucket's budget spent while another looks does not wait.
	trimming map[string]bool
	// writes shares one store batch among the records written at once
	// (on Redis, one round trip): each Record still returns only once
	// its own record is written.
	writes batching.Batches[*store.Op]
}

// New builds a Log.
func New(cfg Config) *Log {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.MaxPerProject <= 0 {
		cfg.MaxPerProject = DefaultMaxPerProject
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Log{cfg: cfg, budget: map[string]int{}, trimming: map[string]bool{}}
}

// Retention is how long records are kept.
func (l *Log) Retention() time.Duration { return l.cfg.Retention }

// Record writes e to the log and the store, completed with its time and,
// where it names nobody, the actor ctx carries. A store that fails loses
// the record there (the failure is logged), never the action recorded.
func (l *Log) Record(ctx context.Context, e Event) {
	if l == nil {
		return
	}
	a := ActorOf(ctx)
	if e.By == "" {
		e.By, e.Operator = a.By, a.Operator
	}
	if e.ClientIP == "" {
		e.ClientIP = a.ClientIP
	}
	if e.At.IsZero() {
		e.At = l.cfg.Now().UTC()
	}
	l.cfg.Logger.Info(string(e.Kind), e.fields()...)
	if l.cfg.Store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if err := l.put(ctx, e, l.cfg.Retention); err != nil {
		l.cfg.Logger.Error("keeping an audit record", zap.String("kind", string(e.Kind)), zap.String("project", e.Project), zap.Error(err))
	}
}

// Import keeps e, an event recorded elsewhere (an older log), in the
// store under its own time, for what is left of the retention; it is not
// written to the zap log again. An event past the retention is dropped.
func (l *Log) Import(ctx context.Context, e Event) error {
	left := l.cfg.Retention - l.cfg.Now().Sub(e.At)
	if l.cfg.Store == nil || left <= 0 {
		return nil
	}
	return l.put(ctx, e, left)
}

// writeTimeout bounds the writing of a batch of records.
const writeTimeout = 5 * time.Second

// put stores e for ttl, then keeps its bucket within bounds.
func (l *Log) put(ctx context.Context, e Event, ttl time.Duration) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	bucket := bucketOf(e.Project)
	name := l.cfg.Prefix + bucket + "/" + l.recordName(e)
	op := store.PutOp(name, data, ttl)
	err = l.writes.Do(ctx, op, func(ops []*store.Op) {
		// The batch holds other callers' records: it runs on its own
		// bound, not on the cancellation of whichever caller made it.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		defer cancel()
		l.cfg.Store.Batch(bctx, ops...)
	})
	if err != nil {
		return err
	}
	if op.Err != nil {
		return op.Err
	}
	l.mu.Lock()
	left := l.budget[bucket] - 1 // a bucket not looked at yet: at once
	l.budget[bucket] = left
	look := left < 0 && !l.trimming[bucket]
	if look {
		l.trimming[bucket] = true
	}
	l.mu.Unlock()
	if look {
		err = l.trim(ctx, bucket)
		l.mu.Lock()
		delete(l.trimming, bucket)
		l.mu.Unlock()
	}
	return err
}

// recordName names e's record within its bucket.
func (l *Log) recordName(e Event) string {
	at := e.At.UnixNano()
	l.mu.Lock()
	if at <= l.last && l.cfg.Now().Sub(e.At) < time.Minute {
		// a stopped or coarse clock: the order of recording
		at = l.last + 1
	}
	l.last = max(l.last, at)
	l.mu.Unlock()
	tail := make([]byte, 4)
	_, _ = rand.Read(tail)
	return fmt.Sprintf("%020d.%s.%s.%s", at, e.Kind, memberTag(e.Member), hex.EncodeToString(tail))
}

// memberTag names a member in a record's name: a short hash of the key,
// "-" for none.
func memberTag(member string) string {
	if member == "" {
		return "-"
	}
	return relay.TokenKey(member)[:12]
}

// bucketOf is the bucket of a project's events.
func bucketOf(project string) string {
	if project == "" {
		return RelayBucket
	}
	return project
}

// trim looks at bucket's size: past MaxPerProject, it drops the oldest
// records down to nine tenths of it. It then sets how many writes this
// instance makes before the next look: as many as the bucket has room for.
func (l *Log) trim(ctx context.Context, bucket string) error {
	names, err := l.names(ctx, l.cfg.Prefix+bucket+"/")
	if err != nil {
		return err
	}
	// Names sort by time: those past the retention come first and do not
	// count (a store that lists names only may still hold them).
	cutoff := Query{Since: l.cfg.Now().Add(-l.cfg.Retention)}
	dead := sort.Search(len(names), func(i int) bool {
		_, ok := l.matches(names[i], cutoff)
		return ok
	})
	kept := len(names) - dead
	if kept > l.cfg.MaxPerProject {
		kept = l.cfg.MaxPerProject - l.cfg.MaxPerProject/10
		// one batch: on Redis, one round trip for the lot
		drop := make([]*store.Op, len(names)-kept)
		for i, name := range names[:len(drop)] {
			drop[i] = store.DeleteOp(name)
		}
		l.cfg.Store.Batch(ctx, drop...)
		for _, op := range drop {
			if op.Err != nil {
				return op.Err
			}
		}
	}
	l.mu.Lock()
	l.budget[bucket] = max(l.cfg.MaxPerProject-kept, trimEvery)
	l.mu.Unlock()
	return nil
}

// names are the names of the records under prefix, sorted, read from the
// names alone where the store can (the file store's List reads every
// record): records past the retention may be among them.
func (l *Log) names(ctx context.Context, prefix string) ([]string, error) {
	if nl, ok := l.cfg.Store.(store.NameLister); ok {
		return nl.ListNames(ctx, prefix)
	}
	return l.cfg.Store.List(ctx, prefix)
}

// Query selects events. The zero Query is every event of the relay's own
// bucket.
type Query struct {
	// Projects are the projects whose events to read; with All, every
	// project's and the relay's own.
	Projects []string
	All      bool
	// Since leaves out what happened before it.
	Since time.Time
	// Kind, if set, is the one kind to read.
	Kind Kind
	// Member, if set, is the key of the one member to read the events of.
	Member string
	// Offset skips that many of the newest; Limit bounds the answer
	// (default and at most MaxPerProject).
	Offset, Limit int
}

// Page is what a query answers: events, newest first, and how many match
// in all.
type Page struct {
	Events []Event `json:"events"`
	Total  int     `json:"total"`
}

// listed is one record's name, read.
type listed struct {
	name string
	at   int64
}

// Read answers q from the store.
func (l *Log) Read(ctx context.Context, q Query) (Page, error) {
	page := Page{Events: []Event{}}
	if l.cfg.Store == nil {
		return page, nil
	}
	prefixes := []string{l.cfg.Prefix}
	if !q.All {
		prefixes = nil
		for _, p := range q.Projects {
			prefixes = append(prefixes, l.cfg.Prefix+bucketOf(p)+"/")
		}
		if len(q.Projects) == 0 {
			prefixes = []string{l.cfg.Prefix + RelayBucket + "/"}
		}
	}
	// A record's name holds its time: one past the retention (which a
	// store listing names only may still hold) does not match.
	live := q
	if cutoff := l.cfg.Now().Add(-l.cfg.Retention); live.Since.Before(cutoff) {
		live.Since = cutoff
	}
	var match []listed
	for _, prefix := range prefixes {
		names, err := l.names(ctx, prefix)
		if err != nil {
			return page, err
		}
		for _, name := range names {
			if rec, ok := l.matches(name, live); ok {
				match = append(match, rec)
			}
		}
	}
	slices.SortFunc(match, func(a, b listed) int {
		if c := cmp.Compare(b.at, a.at); c != 0 {
			return c
		}
		return strings.Compare(b.name, a.name)
	})
	page.Total = len(match)
	limit := q.Limit
	if limit <= 0 || limit > l.cfg.MaxPerProject {
		limit = l.cfg.MaxPerProject
	}
	if q.Offset > 0 {
		match = match[min(q.Offset, len(match)):]
	}
	match = match[:min(limit, len(match))]
	for _, rec := range match {
		data, err := l.cfg.Store.Get(ctx, rec.name)
		if err != nil {
			continue // expired since the list
		}
		var e Event
		if json.Unmarshal(data, &e) == nil {
			page.Events = append(page.Events, e)
		}
	}
	return page, nil
}

// matches reads a record's name and reports whether q selects it.
func (l *Log) matches(name string, q Query) (listed, bool) {
	rest := strings.TrimPrefix(name, l.cfg.Prefix)
	_, base, ok := strings.Cut(rest, "/")
	parts := strings.Split(base, ".")
	if !ok || len(parts) != 4 {
		return listed{}, false
	}
	at, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return listed{}, false
	}
	switch {
	case !q.Since.IsZero() && at < q.Since.UnixNano():
		return listed{}, false
	case q.Kind != "" && Kind(parts[1]) != q.Kind:
		return listed{}, false
	case q.Member != "" && parts[2] != memberTag(q.Member):
		return listed{}, false
	}
	return listed{name: name, at: at}, true
}
