package audit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

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
