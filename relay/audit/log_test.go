package audit

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testwait"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// TestLogBoundsAndFilters: each project keeps at most MaxPerProject
// records, the oldest dropped; a query reads newest first, by kind,
// member and time, and pages; an event past the retention is not kept.
func TestLogBoundsAndFilters(t *testing.T) {
	ctx := context.Background()
	st := store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := New(Config{Store: st, Prefix: "auditlog/", MaxPerProject: 20, Retention: time.Hour, Now: func() time.Time { return now }})
	for i := range 40 {
		kind, member := KeyCreated, "ada"
		if i%2 == 1 {
			kind, member = MemberAdded, "bob"
		}
		now = now.Add(time.Second)
		l.Record(ctx, Event{Kind: kind, Project: "blog", Member: member, What: fmt.Sprint("event ", i)})
	}
	l.Record(ctx, Event{Kind: SignIn, Project: "docs", Member: "ada", What: "other project"})
	names, err := st.List(ctx, "auditlog/blog/")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 20+trimEvery {
		t.Fatalf("blog keeps %d records, bound 20 (+%d between trims)", len(names), trimEvery)
	}
	page, err := l.Read(ctx, Query{Projects: []string{"blog"}, Limit: 5})
	if err != nil || len(page.Events) != 5 || page.Events[0].What != "event 39" || page.Events[4].What != "event 35" {
		t.Fatalf("newest first: %+v %v", page, err)
	}
	page, _ = l.Read(ctx, Query{Projects: []string{"blog"}, Kind: MemberAdded, Member: "bob", Offset: 1, Limit: 2})
	if len(page.Events) != 2 || page.Events[0].What != "event 37" || page.Events[1].What != "event 35" {
		t.Fatalf("by kind and member, second page: %+v", page)
	}
	page, _ = l.Read(ctx, Query{Projects: []string{"blog"}, Since: now.Add(-2 * time.Second)})
	if page.Total != 3 {
		t.Fatalf("since: %d events, want 3", page.Total)
	}
	if page, _ := l.Read(ctx, Query{All: true, Kind: SignIn}); page.Total != 1 || page.Events[0].Project != "docs" {
		t.Fatalf("all projects: %+v", page)
	}
	if err := l.Import(ctx, Event{At: now.Add(-2 * time.Hour), Kind: MemberRemoved, Project: "blog", What: "old"}); err != nil {
		t.Fatal(err)
	}
	if page, _ := l.Read(ctx, Query{Projects: []string{"blog"}, Kind: MemberRemoved}); page.Total != 0 {
		t.Fatalf("an event past the retention was kept: %+v", page)
	}
}

// listCounter counts a store's Lists.
type listCounter struct {
	store.Store
	lists int
}

func (c *listCounter) List(ctx context.Context, prefix string) ([]string, error) {
	c.lists++
	return c.Store.List(ctx, prefix)
}

// TestLogLooksAtSizeOnlyWhenItCouldBeFull: a bucket's size is listed only
// when this instance's writes could have filled it, and a full bucket is
// trimmed to nine tenths, so 2,000 writes to a bucket of 1,000 list it a
// dozen times rather than once every trimEvery writes; the bound holds.
func TestLogLooksAtSizeOnlyWhenItCouldBeFull(t *testing.T) {
	ctx := context.Background()
	st := &listCounter{Store: store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic")}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := New(Config{Store: st, Prefix: "auditlog/", MaxPerProject: 1000, Retention: time.Hour, Now: func() time.Time { return now }})
	const writes = 2000
	for range writes {
		now = now.Add(time.Millisecond)
		l.Record(ctx, Event{Kind: SignIn, Project: "blog", Member: "ada"})
	}
	looks := st.lists
	names, err := st.Store.List(ctx, "auditlog/blog/")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 1000+trimEvery || len(names) < 900 {
		t.Fatalf("blog keeps %d records, want 900 to %d", len(names), 1000+trimEvery)
	}
	if looks > 15 {
		t.Fatalf("%d looks at the bucket's size for %d writes, want at most 15 (every %d writes would be %d)", looks, writes, trimEvery, writes/trimEvery)
	}
}

// blockingList holds every List until release is closed.
type blockingList struct {
	store.Store
	listing chan struct{} // receives once a List has begun
	release chan struct{}
}

func (b *blockingList) List(ctx context.Context, prefix string) ([]string, error) {
	b.listing <- struct{}{}
	<-b.release
	return b.Store.List(ctx, prefix)
}

// TestLogWritesDoNotWaitForALook: while one write looks at its bucket's
// size, the other writes to the bucket are kept without waiting for it.
func TestLogWritesDoNotWaitForALook(t *testing.T) {
	ctx := context.Background()
	st := &blockingList{
		Store:   store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic"),
		listing: make(chan struct{}, 1), release: make(chan struct{}),
	}
	l := New(Config{Store: st, Prefix: "auditlog/", MaxPerProject: 100, Retention: time.Hour})
	first := make(chan struct{})
	go func() { l.Record(ctx, Event{Kind: SignIn, Project: "blog", Member: "ada"}); close(first) }()
	testwait.Recv(t, "the first write's look", st.listing)
	second := make(chan struct{})
	go func() { l.Record(ctx, Event{Kind: SignIn, Project: "blog", Member: "bob"}); close(second) }()
	testwait.Recv(t, "the second write, during the look", second)
	close(st.release)
	testwait.Recv(t, "the first write", first)
	if names, err := st.Store.List(ctx, "auditlog/blog/"); err != nil || len(names) != 2 {
		t.Fatalf("kept %v, %v; want both records", names, err)
	}
}

// TestLogCountsOnlyLiveRecords: records past the retention that the store
// still holds (the file store lists names without reading them) do not
// count toward a bucket's bound: a bucket of live records under the bound
// loses none of them, whichever instance looks at its size.
func TestLogCountsOnlyLiveRecords(t *testing.T) {
	ctx := context.Background()
	st := store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic")
	const dead, bound = 10, 100
	old := time.Now().Add(-2 * time.Hour).UnixNano()
	for i := range dead {
		name := fmt.Sprintf("auditlog/blog/%020d.%s.-.%08x", old+int64(i), SignIn, i)
		if err := st.Put(ctx, name, []byte(`{}`), time.Nanosecond); err != nil {
			t.Fatal(err)
		}
	}
	testwait.Until(t, "the old records expire in the store", func() bool {
		names, err := st.List(ctx, "auditlog/blog/")
		return err == nil && len(names) == 0
	})
	if names, err := st.(store.NameLister).ListNames(ctx, "auditlog/blog/"); err != nil || len(names) != dead {
		t.Fatalf("the store lists %d names (%v); the test needs the %d expired ones listed", len(names), err, dead)
	}
	cfg := Config{Store: st, Prefix: "auditlog/", MaxPerProject: bound, Retention: time.Hour}
	for range bound - 6 {
		New(cfg).Record(ctx, Event{Kind: SignIn, Project: "blog", Member: "ada"})
	}
	// Each write above was a new instance's, which looks at once; this
	// last one finds 10 expired and 95 live records.
	New(cfg).Record(ctx, Event{Kind: SignIn, Project: "blog", Member: "bob"})
	if names, err := st.List(ctx, "auditlog/blog/"); err != nil || len(names) != bound-5 {
		t.Fatalf("blog keeps %d live records (%v), want all %d", len(names), err, bound-5)
	}
}

// countingStore counts the reads of a store that lists names.
type countingStore struct {
	store.Store
	names      store.NameLister
	gets, list atomic.Int32
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *countingStore) List(ctx context.Context, prefix string) ([]string, error) {
	c.list.Add(1)
	return c.Store.List(ctx, prefix)
}

func (c *countingStore) ListNames(ctx context.Context, prefix string) ([]string, error) {
	return c.names.ListNames(ctx, prefix)
}

// A read of the log on a store that lists names reads the records of its
// page alone, and counts the live ones by their names: a record past the
// retention that the store still holds is not among them.
func TestLogReadsOnlyItsPage(t *testing.T) {
	ctx := context.Background()
	st := store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "outstatic")
	old := time.Now().Add(-2 * time.Hour).UnixNano()
	for i := range 3 {
		name := fmt.Sprintf("auditlog/blog/%020d.%s.-.%08x", old+int64(i), SignIn, i)
		if err := st.Put(ctx, name, []byte(`{}`), time.Nanosecond); err != nil {
			t.Fatal(err)
		}
	}
	counting := &countingStore{Store: st, names: st.(store.NameLister)}
	log := New(Config{Store: counting, Prefix: "auditlog/", MaxPerProject: 100, Retention: time.Hour})
	for range 30 {
		log.Record(ctx, Event{Kind: SignIn, Project: "blog", Member: "ada"})
	}
	counting.gets.Store(0)
	counting.list.Store(0)
	page, err := log.Read(ctx, Query{Projects: []string{"blog"}, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 30 || len(page.Events) != 5 {
		t.Fatalf("page: total %d, %d events; want 30 and 5", page.Total, len(page.Events))
	}
	if gets, lists := counting.gets.Load(), counting.list.Load(); gets != 5 || lists != 0 {
		t.Fatalf("the read made %d Gets and %d Lists, want 5 and none", gets, lists)
	}
}
