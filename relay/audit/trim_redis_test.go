package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testredis"
	"github.com/caddy-outstatic/caddy-outstatic/store"
)

// TestLogTrimsInOneBatch: on Redis, the trim of a full bucket drops its
// oldest records in one round trip, whatever their number, and keeps the
// newest nine tenths of the bound.
func TestLogTrimsInOneBatch(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	rc := testredis.Client(t, srv.Addr)
	var trips testredis.RoundTrips
	rc.AddHook(&trips)
	st := store.NewRedis(rc, "outstatic")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const bound = 100
	for i := range bound + 10 { // records an earlier instance wrote
		at := now.Add(time.Duration(i) * time.Millisecond)
		e := Event{At: at, Kind: SignIn, Project: "blog", Member: "ada", What: "earlier"}
		if err := st.Put(ctx, "auditlog/blog/"+New(Config{}).recordName(e), []byte(`{}`), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	trips.Take()
	now = now.Add(time.Second)
	l := New(Config{Store: st, Prefix: "auditlog/", MaxPerProject: bound, Retention: time.Hour, Now: func() time.Time { return now }})
	l.Record(ctx, Event{Kind: SignIn, Project: "blog", Member: "bob", What: "newest"})
	var dels []string
	for _, trip := range trips.Take() {
		if strings.HasPrefix(trip, "DEL ") {
			dels = append(dels, trip)
		}
	}
	if len(dels) != 1 || strings.Count(dels[0], "DEL ") != bound+11-(bound-bound/10) {
		t.Errorf("the trim's deletions: %d round trips %q, want one of %d", len(dels), dels, bound+11-(bound-bound/10))
	}
	names, err := st.List(ctx, "auditlog/blog/")
	if err != nil || len(names) != bound-bound/10 || !strings.Contains(names[len(names)-1], memberTag("bob")) {
		t.Fatalf("kept %d records (%v), want %d ending with the newest", len(names), err, bound-bound/10)
	}
}
