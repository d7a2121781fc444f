package roster

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-outstatic/caddy-outstatic/store"
)

func TestCheckSlug(t *testing.T) {
	for _, s := range []string{"blog", "b", "blog-x", "blog_x", "2024", "a-_-b", strings.Repeat("a", MaxSlug)} {
		if err := CheckSlug(s); err != nil {
			t.Errorf("CheckSlug(%q): %v", s, err)
		}
	}
	for s, suggestion := range map[string]string{
		"": "", "blog/x": "blog-x", "..": "", ".": "", "blog/../x": "blog-x", "Blog": "blog", "BLOG": "blog",
		"-blog": "blog", "_blog": "blog", "blog x": "blog-x", "blog.x": "blog-x", "bl\u00f6g": "bl-g", "\u212Ablog": "blog",
		"blog\x00": "blog", "blog%2fx": "blog-2fx", strings.Repeat("a", MaxSlug+1): strings.Repeat("a", MaxSlug),
	} {
		err := CheckSlug(s)
		if err == nil {
			t.Errorf("CheckSlug(%q) accepted", s)
			continue
		}
		if !strings.Contains(err.Error(), "lowercase letters, digits") {
			t.Errorf("CheckSlug(%q): %v does not say the rule", s, err)
		}
		if has := strings.Contains(err.Error(), "(e.g. \""+suggestion+"\")"); has != (suggestion != "") || (suggestion == "" && strings.Contains(err.Error(), "e.g.")) {
			t.Errorf("CheckSlug(%q): %v; want the suggestion %q", s, err, suggestion)
		}
		if suggestion != "" && CheckSlug(suggestion) != nil {
			t.Errorf("the suggestion %q for %q is not a slug", suggestion, s)
		}
	}
}

// New applies the slug rule: a project made by any door has a slug whose
// store records no other slug's overlap.
func TestNewRefusesBadSlugs(t *testing.T) {
	for _, slug := range []string{"", "blog/x", "..", "Blog", "blog x"} {
		_, err := New(Config{Store: store.NewStorage(&certmagic.FileStorage{Path: t.TempDir()}, "o"), Projects: []*Project{{Slug: slug}}})
		if err == nil || !strings.Contains(err.Error(), "project slug") {
			t.Errorf("slug %q: %v", slug, err)
		}
	}
}

// slugNames are every store name and list prefix built from a slug.
func slugNames(slug string) []string {
	return []string{KeyRecordName(slug), keyLockName(slug), membersName(slug), membersLockName(slug),
		originsName(slug), originsLockName(slug), invitePrefix(slug), inviteName(slug, "a@example.com"), legacyMembersLogPrefix(slug),
		auditLogPrefix + slug + "/"}
}

// overlap names a store name of a that is a name of b, or a list prefix
// of a that a name of b starts with; "" for none.
func overlap(a, b string) string {
	for _, na := range slugNames(a) {
		for _, nb := range slugNames(b) {
			if na == nb || strings.HasSuffix(na, "/") && strings.HasPrefix(nb, na) {
				return na + " and " + nb
			}
		}
	}
	return ""
}

// No name of one slug starts with a list prefix of another, nor is any
// name of one slug a name of another, for slugs that prefix each other.
func TestSlugStoreNamesDoNotOverlap(t *testing.T) {
	if overlap("blog", "blog/x") == "" {
		t.Fatal("overlap misses the records of blog/x under blog's")
	}
	slugs := []string{"blog", "blog-x", "blog_x", "blog2", "b", "blogx"}
	for _, a := range slugs {
		for _, b := range slugs {
			if o := overlap(a, b); a != b && o != "" {
				t.Errorf("%s and %s: %s overlap", a, b, o)
			}
		}
	}
}

// Projects whose slugs prefix each other keep their own invitations,
// members and changes log, in every store.
func TestPrefixSlugsStayApart(t *testing.T) {
	storeKinds(t, func(t *testing.T, edit func(*Config)) {
		slugs := []string{"blog", "blog-x", "blog_x", "blogx"}
		env := newRosterEnv(t, func(c *Config) {
			if edit != nil {
				edit(c)
			}
			for _, s := range slugs[1:] {
				p := testProject()
				p.Slug = s
				c.Projects = append(c.Projects, p)
			}
		})
		ctx := context.Background()
		n := env.rosters[0]
		for _, s := range slugs {
			if _, _, _, err := n.Invite(ctx, s, "lin-"+s+"@example.com", "author", OperatorActor("test")); err != nil {
				t.Fatal(err)
			}
			if _, err := n.AddMember(ctx, s, "kim-"+s+"@example.com", "editor", OperatorActor("test")); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range slugs {
			inv, err := n.Invitations(ctx, s)
			if err != nil || len(inv) != 1 || inv[0].Email != "lin-"+s+"@example.com" {
				t.Errorf("%s: invitations %v, %v", s, inv, err)
			}
			log, err := n.MemberLog(ctx, s)
			if err != nil || len(log) != 2 || !strings.Contains(log[0].What+log[1].What, "lin-"+s+"@") ||
				!strings.Contains(log[0].What+log[1].What, "kim-"+s+"@") {
				t.Errorf("%s: log %v, %v", s, log, err)
			}
			members, err := n.Members(ctx, s)
			var stored []string
			for _, m := range members {
				if m.Source == "store" {
					stored = append(stored, m.Who)
				}
			}
			if err != nil || !slices.Equal(stored, []string{"kim-" + s + "@example.com"}) {
				t.Errorf("%s: stored members %v, %v", s, stored, err)
			}
		}
	})
}
