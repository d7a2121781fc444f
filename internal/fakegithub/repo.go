package fakegithub

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Repo describes the repository the GraphQL API serves.
type Repo struct {
	Owner, Name string
	// ID is the GraphQL node id; derived from Owner/Name when empty.
	ID string
	// DefaultBranch is "main" when empty.
	DefaultBranch string
	// Private repositories are visible only to tokens with the repo scope
	// (others get NOT_FOUND, as on GitHub).
	Private bool
	// Files maps a path ("outstatic/config.json") to its content, on the
	// default branch. Folders are implied by the paths.
	Files map[string]string
	// Organization makes the owner an organization rather than a user.
	Organization bool
	// Tags are annotated tags (name → message), each on the default
	// branch's first commit.
	Tags map[string]string
}

// The ref namespaces the fake serves.
const (
	headsPrefix = "refs/heads/"
	tagsPrefix  = "refs/tags/"
)

// StockRepo is an Outstatic content repository as the stock dashboard
// expects it: outstatic/config.json, a collections.json with one
// collection "posts", and two posts (one published, one draft). There is
// no singletons.json, so the dashboard's first load also lists the
// singletons folder (and finds nothing). The repository is private, as
// most content repositories are.
func StockRepo(owner, name string) Repo {
	post := func(title, slug, status, date, text string) string {
		return "---\ntitle: '" + title + "'\nstatus: '" + status + "'\nauthor:\n  name: 'Acme Editor'\n  picture: ''\n" +
			"slug: '" + slug + "'\ndescription: '" + text + "'\ncoverImage: ''\npublishedAt: '" + date + "'\n---\n\n" + text + "\n"
	}
	return Repo{Owner: owner, Name: name, DefaultBranch: "main", Private: true, Files: map[string]string{
		"README.md":             "# " + name + "\n",
		"outstatic/config.json": "{\n  \"publicMediaPath\": \"images/\",\n  \"repoMediaPath\": \"public/images/\"\n}\n",
		"outstatic/content/collections.json": "[\n  {\n    \"title\": \"Posts\",\n    \"slug\": \"posts\",\n" +
			"    \"path\": \"outstatic/content/posts\",\n    \"parent\": null\n  }\n]\n",
		"outstatic/content/posts/hello-world.md": post("Hello World", "hello-world", "published",
			"2025-01-15T10:00:00.000Z", "The first post."),
		"outstatic/content/posts/second-post.md": post("Second Post", "second-post", "draft",
			"2025-02-01T09:30:00.000Z", "A draft."),
	}}
}

// commit is one commit; it keeps a full snapshot of the files.
type commit struct {
	oid, message string
	parent       *commit
	files        map[string]string
	when         time.Time
}

// tag is an annotated tag object.
type tag struct {
	oid, name, message string
	target             *commit
}

// gitRepo is the repository's state: branches pointing at commits, and
// tags.
type gitRepo struct {
	Repo
	branches map[string]*commit
	commits  map[string]*commit
	tags     map[string]*tag
}

func newGitRepo(r Repo, when time.Time) *gitRepo {
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	if r.ID == "" {
		sum := sha1.Sum([]byte(r.Owner + "/" + r.Name))
		r.ID = "R_kgDO" + base64.RawURLEncoding.EncodeToString(sum[:6])
	}
	files := map[string]string{}
	for p, c := range r.Files {
		files[strings.Trim(p, "/")] = c
	}
	g := &gitRepo{Repo: r, branches: map[string]*commit{}, commits: map[string]*commit{}, tags: map[string]*tag{}}
	first := g.newCommit(nil, files, "Initial commit", when)
	g.branches[r.DefaultBranch] = first
	for name, message := range r.Tags {
		body := fmt.Sprintf("object %s\ntype commit\ntag %s\ntagger Outstatic <outstatic@example.com> %d +0000\n\n%s\n",
			first.oid, name, when.Unix(), message)
		g.tags[name] = &tag{oid: gitHash("tag", body), name: name, message: message, target: first}
	}
	return g
}

// named reports whether owner/name is this repository (GitHub compares
// case-insensitively).
func (g *gitRepo) named(owner, name string) bool {
	return strings.EqualFold(owner, g.Owner) && strings.EqualFold(name, g.Name)
}

func (g *gitRepo) databaseID() int64 { return numericID(g.ID) }

// numericID is a stable positive database id for key.
func numericID(key string) int64 {
	sum := sha1.Sum([]byte(key))
	return int64(binary.BigEndian.Uint32(sum[:4]) >> 1)
}

// ref finds a ref by its qualified name ("refs/heads/main", "refs/tags/v1")
// or its short name (a branch first, as git does), or nil.
func (g *gitRepo) ref(name string) *refObj {
	switch {
	case strings.HasPrefix(name, headsPrefix) && g.branches[strings.TrimPrefix(name, headsPrefix)] != nil:
		return &refObj{g, headsPrefix, strings.TrimPrefix(name, headsPrefix)}
	case strings.HasPrefix(name, tagsPrefix) && g.tags[strings.TrimPrefix(name, tagsPrefix)] != nil:
		return &refObj{g, tagsPrefix, strings.TrimPrefix(name, tagsPrefix)}
	case g.branches[name] != nil:
		return &refObj{g, headsPrefix, name}
	case g.tags[name] != nil:
		return &refObj{g, tagsPrefix, name}
	}
	return nil
}

// newCommit records a commit whose oid is the git hash of a real commit
// object over the files' tree, so oids look and behave like git's.
func (g *gitRepo) newCommit(parent *commit, files map[string]string, message string, when time.Time) *commit {
	body := "tree " + treeOID(files, "") + "\n"
	if parent != nil {
		body += "parent " + parent.oid + "\n"
	}
	sig := fmt.Sprintf("Outstatic <outstatic@example.com> %d +0000\n", when.Unix())
	body += "author " + sig + "committer " + sig + "\n" + message + "\n"
	c := &commit{oid: gitHash("commit", body), message: message, parent: parent, files: files, when: when}
	g.commits[c.oid] = c
	return c
}

// resolveRev finds the commit a revision names: a branch or tag (short
// or qualified), HEAD, or a full commit oid.
func (g *gitRepo) resolveRev(rev string) *commit {
	if rev == "HEAD" {
		rev = g.DefaultBranch
	}
	if r := g.ref(rev); r != nil && r.prefix == tagsPrefix {
		return g.tags[r.name].target
	} else if r != nil {
		return g.branches[r.name]
	}
	return g.commits[rev]
}

// object resolves a Git object expression ("main:path/to/file", "main:",
// "main", "v1") to a commit, tree, blob or annotated tag, or nil.
func (g *gitRepo) object(expr string) gitObject {
	rev, path, hasPath := strings.Cut(expr, ":")
	c := g.resolveRev(rev)
	if c == nil {
		return nil
	}
	if r := g.ref(rev); !hasPath && r != nil && r.prefix == tagsPrefix {
		return &tagObj{g, g.tags[r.name]}
	}
	if !hasPath {
		return &commitObj{g, c}
	}
	path = strings.Trim(path, "/")
	if path == "" {
		return &treeObj{g, c, ""}
	}
	if text, ok := c.files[path]; ok {
		return &blobObj{g, path, text}
	}
	for p := range c.files {
		if strings.HasPrefix(p, path+"/") {
			return &treeObj{g, c, path}
		}
	}
	return nil
}

// entries lists the tree at dir in git's order (names compared with "/"
// appended to subtrees).
func entries(files map[string]string, dir string) (names []string, isTree map[string]bool) {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	isTree = map[string]bool{}
	for p := range files {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		name, _, sub := strings.Cut(rest, "/")
		if _, seen := isTree[name]; !seen {
			names = append(names, name)
		}
		isTree[name] = isTree[name] || sub
	}
	key := func(n string) string {
		if isTree[n] {
			return n + "/"
		}
		return n
	}
	sort.Slice(names, func(i, j int) bool { return key(names[i]) < key(names[j]) })
	return names, isTree
}

// treeOID is the git hash of the tree at dir.
func treeOID(files map[string]string, dir string) string {
	names, isTree := entries(files, dir)
	var b strings.Builder
	for _, n := range names {
		p := joinPath(dir, n)
		mode, oid := "100644", gitHash("blob", files[p])
		if isTree[n] {
			mode, oid = "40000", treeOID(files, p)
		}
		raw, _ := hex.DecodeString(oid)
		b.WriteString(mode + " " + n + "\x00" + string(raw))
	}
	return gitHash("tree", b.String())
}

// gitHash is git's object id: SHA-1 of "<kind> <size>\0<content>".
func gitHash(kind, content string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("%s %d\x00%s", kind, len(content), content)))
	return hex.EncodeToString(sum[:])
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// nodeID makes a GitHub-style global node id for an object of kind.
func nodeID(kind, key string) string {
	sum := sha1.Sum([]byte(key))
	return kind + "_kwDO" + base64.RawURLEncoding.EncodeToString(sum[:9])
}

// userNodeID is the user's node id (REST node_id, GraphQL id).
func userNodeID(u User) string {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(u.ID))
	return "U_kgDO" + base64.RawURLEncoding.EncodeToString(b[4:])
}
