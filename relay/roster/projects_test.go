package roster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
)

// storeSnapshot is every record of st but the audit log's, by name.
func storeSnapshot(t *testing.T, r *Roster) map[string]string {
	t.Helper()
	ctx := context.Background()
	names, err := r.st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range names {
		if strings.HasPrefix(name, auditLogPrefix) {
			continue
		}
		data, err := r.st.Get(ctx, name)
		if err == nil {
			out[name] = string(data)
		}
	}
	return out
}

// TestProjectsMadeAtRunTime: a project made on one instance is served by
// the other once ProjectsTTL has passed, with its origin, key and owner;
// deleted, its key and members go and neither instance serves it; each
// change is in the audit log once, with no key in any record.
func TestProjectsMadeAtRunTime(t *testing.T) {
	storeKinds(t, func(t *testing.T, edit func(*Config)) {
		env := newRosterEnv(t, edit)
		ctx := context.Background()
		a, b := env.rosters[0], env.rosters[1]
		if p, err := b.Project(ctx, "docs"); p != nil || err != nil {
			t.Fatalf("docs before it is made: %v %v", p, err)
		}
		spec := ProjectSpec{Slug: "docs", Repo: "acme/docs", Origins: []string{"https://Docs.Example.com/outstatic"}, Owner: "ada"}
		if _, err := a.Stored().Create(ctx, spec, OperatorActor("cli:root@host")); err != nil {
			t.Fatal(err)
		}
		env.now.Add(int64(2 * ProjectsTTL))
		p, err := b.Project(ctx, "docs")
		if err != nil || p == nil || !p.Stored || !p.Pro || p.RepoOwner != "acme" || p.RepoSlug != "docs" {
			t.Fatalf("docs on the other instance: %+v %v", p, err)
		}
		if origins := b.Targets(ctx, p).Origins; len(origins) != 1 || origins[0].String() != "https://docs.example.com/outstatic" {
			t.Fatalf("docs' origins: %v", origins)
		}
		if role, err := b.RoleSince(ctx, p, "ada", nil, time.Time{}); err != nil || role != "owner" {
			t.Fatalf("docs' owner: %q %v", role, err)
		}
		key, _, err := b.CreateKey(ctx, "docs", false)
		if err != nil {
			t.Fatal(err)
		}
		if kp, err := a.ProjectForKey(ctx, key); err != nil || kp == nil || kp.Slug != "docs" {
			t.Fatalf("docs' key on the first instance: %v %v", kp, err)
		}
		if err := b.Stored().Delete(ctx, "docs", OperatorActor("admin-api")); err != nil {
			t.Fatal(err)
		}
		env.now.Add(int64(2 * ProjectsTTL))
		for i, r := range env.rosters {
			if p, err := r.Project(ctx, "docs"); p != nil || err != nil {
				t.Fatalf("instance %d still serves docs: %v %v", i, p, err)
			}
			if kp, _ := r.ProjectForKey(ctx, key); kp != nil {
				t.Fatalf("instance %d accepts the deleted project's key", i)
			}
		}
		if names, _ := env.st.List(ctx, membersName("docs")); len(names) != 0 {
			t.Fatalf("docs' members remain: %v", names)
		}

		page, err := a.AuditEvents(ctx, audit.Query{Projects: []string{"docs"}})
		if err != nil {
			t.Fatal(err)
		}
		count := map[audit.Kind]int{}
		for _, e := range page.Events {
			count[e.Kind]++
			data, _ := json.Marshal(e)
			if strings.Contains(string(data), key) || strings.Contains(string(data), key[len(key)-12:]) {
				t.Fatalf("a record holds the key: %s", data)
			}
		}
		want := map[audit.Kind]int{audit.ProjectCreated: 1, audit.MemberAdded: 1, audit.KeyCreated: 1, audit.ProjectDeleted: 1}
		for k, n := range want {
			if count[k] != n {
				t.Errorf("%s recorded %d times, want %d (all: %v)", k, count[k], n, count)
			}
		}
		if len(count) != len(want) {
			t.Errorf("unexpected kinds recorded: %v", count)
		}
	})
}

// TestProjectChangesRefused: a taken slug, a slug with '/' or "..", an
// origin with another path or a query, a bad repository, and a delete or
// a create of a project of the configuration are refused, each with its
// class and an error that says why, and nothing but the refusal's audit
// record is written.
func TestProjectChangesRefused(t *testing.T) {
	env := newRosterEnv(t, nil)
	ctx := context.Background()
	r := env.rosters[0]
	ok := ProjectSpec{Slug: "docs", Repo: "acme/docs", Origins: []string{"https://docs.example.com/outstatic"}}
	if _, err := r.Stored().Create(ctx, ok, OperatorActor("test")); err != nil {
		t.Fatal(err)
	}
	before := storeSnapshot(t, r)
	with := func(edit func(*ProjectSpec)) ProjectSpec { s := ok; edit(&s); return s }
	for _, c := range []struct {
		name  string
		do    func() error
		class error
		says  string
	}{
		{"a taken slug", func() error { _, err := r.Stored().Create(ctx, ok, OperatorActor("test")); return err }, ErrProjectExists, "exists already"},
		{"a slug with /", func() error {
			_, err := r.Stored().Create(ctx, with(func(s *ProjectSpec) { s.Slug = "docs/x" }), OperatorActor("test"))
			return err
		}, ErrBadProject, "slug"},
		{"a slug ..", func() error {
			_, err := r.Stored().Create(ctx, with(func(s *ProjectSpec) { s.Slug = ".." }), OperatorActor("test"))
			return err
		}, ErrBadProject, "slug"},
		{"an origin with another path", func() error {
			_, err := r.Stored().Create(ctx, with(func(s *ProjectSpec) { s.Slug, s.Origins = "wiki", []string{"https://wiki.example.com/admin"} }), OperatorActor("test"))
			return err
		}, ErrBadProject, "outstatic"},
		{"an origin with a query", func() error {
			_, err := r.Stored().Create(ctx, with(func(s *ProjectSpec) { s.Slug, s.Origins = "wiki", []string{"https://wiki.example.com/outstatic?x=1"} }), OperatorActor("test"))
			return err
		}, ErrBadProject, "wiki"},
		{"a repository without owner", func() error {
			_, err := r.Stored().Create(ctx, with(func(s *ProjectSpec) { s.Slug, s.Repo = "wiki", "wiki" }), OperatorActor("test"))
			return err
		}, ErrBadProject, "owner/name"},
		{"a create of the Caddyfile's slug", func() error {
			_, err := r.Stored().Create(ctx, with(func(s *ProjectSpec) { s.Slug = "blog" }), OperatorActor("test"))
			return err
		}, ErrProjectConfigured, "Caddyfile"},
		{"a delete of the Caddyfile's project", func() error { return r.Stored().Delete(ctx, "blog", OperatorActor("test")) }, ErrProjectConfigured, "Caddyfile"},
		{"a delete of a slug with ..", func() error { return r.Stored().Delete(ctx, "..", OperatorActor("test")) }, ErrBadProject, "slug"},
		{"a delete of no project", func() error { return r.Stored().Delete(ctx, "wiki", OperatorActor("test")) }, ErrUnknownProject, "no project wiki"},
	} {
		err := c.do()
		if !errors.Is(err, c.class) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %v saying %q", c.name, err, c.class, c.says)
		}
		if after := storeSnapshot(t, r); len(after) != len(before) {
			t.Fatalf("%s changed the store: %d records, were %d", c.name, len(after), len(before))
		} else {
			for name, v := range before {
				if after[name] != v {
					t.Fatalf("%s changed %s", c.name, name)
				}
			}
		}
	}
	page, err := r.AuditEvents(ctx, audit.Query{All: true, Kind: audit.ChangeRefused, Since: time.Unix(0, 0)})
	if err != nil || page.Total < 8 {
		t.Fatalf("refusals recorded: %d %v", page.Total, err)
	}
}
