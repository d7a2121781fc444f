package gqlpolicy

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// Roles, enforced by the relay. A GitHub App's token can change anything
// in the repository, and a member's own token as much as GitHub grants
// them, so the relay itself holds every session, whatever its token, to
// what the member's role allows (protocol.Permissions): reads for every
// member, and each change by the permission it needs, from the paths a
// commit adds or deletes (gqlPermissions).
//
// Paths are read as outstatic 2.2.4 lays out a repository, below its
// Outstatic folder <monorepo_path>/outstatic:
//
//	config.json                            the project's settings
//	content/collections.json               the list of collections
//	content/singletons.json                the list of singletons
//	content/<collection>/schema.json       a collection's fields
//	content/_singletons/<slug>.schema.json a singleton's fields
//	content/metadata.json, media/media.json, documents, media files: content
//
// Documents and media may live anywhere (a collection's path, the media
// folder are settings of their own), so whatever is not one of the
// Outstatic files above is content. One exception, from the dashboard's
// own behaviour: saving a document that brings a new tag also rewrites its
// collection's schema (the tag's options), in the same commit; so a
// schema written (added, not deleted) in a commit that saves a document
// (.md, .mdx) counts as content. Another: the first save in a repository whose config.json has
// no mdExtension adds it there, in the same commit; that one change is let
// through after reading the current file (gqlconfig.go).

// Permissions that changes need.
const (
	permContent     = protocol.PermContent
	permCollections = protocol.PermCollections
	permSettings    = protocol.PermSettings
)

// gqlPermissions is the one table of what each operation needs beyond
// membership: a mutation by its root field; a commit by each path it
// touches (pathPermission). Queries need nothing more.
var gqlPermissions = map[string]string{
	"createRef":            permContent, // the dashboard's Create Branch
	"createCommitOnBranch": "",          // by path: pathPermission
}

// pathPermission is what changing path (in a repository whose Outstatic
// folder is ost) needs. Names compare as a checkout may read them
// (foldPath): a name that a case-insensitive file system takes for a
// protected file is no safer to let through.
func pathPermission(p, ost string) string {
	p = foldPath(strings.Trim(p, "/"))
	ost = foldPath(strings.Trim(ost, "/"))
	base := path.Base(p)
	switch {
	case p == ost+"/config.json":
		return permSettings
	case (base == "collections.json" || base == "singletons.json") && strings.HasPrefix(p, ost+"/"),
		isSchema(base):
		return permCollections
	}
	return permContent
}

// foldPath is p as the file systems of a checkout (or of an unpacked
// archive) may read it, for comparing with the Outstatic files' names:
// letters case-folded by Unicode's simple folding (so the long s U+017F
// is an s, as macOS and Windows take it, which strings.ToLower leaves
// alone), the code points HFS+ ignores dropped (git's own list, from its
// protection of .git), and each segment's trailing dots and spaces
// dropped, as Windows does.
func foldPath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if hfsIgnored(r) {
			continue
		}
		b.WriteRune(foldRune(r))
	}
	segs := strings.Split(b.String(), "/")
	for i, s := range segs {
		segs[i] = strings.TrimRight(s, ". ")
	}
	return strings.Join(segs, "/")
}

// foldRune is r's lower-case ASCII letter if r case-folds to one, else
// its lower case.
func foldRune(r rune) rune {
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return unicode.ToLower(f)
		}
	}
	return unicode.ToLower(r)
}

// hfsIgnored reports whether HFS+ leaves r out of a file name's
// comparison (git's next_hfs_char).
func hfsIgnored(r rune) bool {
	return r >= 0x200c && r <= 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x206a && r <= 0x206f || r == 0xfeff
}

// isSchema reports whether a file name is a collection's or a singleton's
// schema.
func isSchema(base string) bool {
	return base == "schema.json" || strings.HasSuffix(base, ".schema.json")
}

// isDocument reports whether path is a document the dashboard saves.
func isDocument(p string) bool {
	p = strings.ToLower(p)
	return strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".mdx")
}

// Access is who sends a request, for Authorize.
type Access struct {
	// Role is the member's role in the project.
	Role string
	// MonorepoPath is the project's monorepo_path: the repository's
	// Outstatic folder is <MonorepoPath>/outstatic.
	MonorepoPath string
	// CoAuthor, if not "", is the e-mail address a commit made with the
	// App's token credits (Co-authored-by), with Name.
	Name, CoAuthor string
	// ReadFile reads the repository's current files, with the call's
	// token, for the one settings change any role may make (gqlconfig.go).
	ReadFile ReadFile
}

// Authorize refuses a change a's role does not allow, and credits the
// member of a commit made with the App's token.
func (v *Verdict) Authorize(a Access) error {
	if v.mutation == "" {
		return nil
	}
	need, ok := gqlPermissions[v.mutation]
	if !ok {
		return refuse("mutation %s has no permission", quoteName(v.mutation))
	}
	if need != "" && !protocol.Grants(a.Role, need) {
		return refuse("role %s lacks %s", a.Role, need)
	}
	if v.mutation != "createCommitOnBranch" {
		return nil
	}
	ost := strings.Trim(path.Join(a.MonorepoPath, "outstatic"), "/")
	changes, saves := commitPaths(v.commit)
	for _, c := range changes {
		p := c.path
		if !plainRepoPath(p) {
			return refuse("a commit path is not a plain repository path")
		}
		need := pathPermission(p, ost)
		if need == permCollections && saves && !c.deleted && isSchema(path.Base(foldPath(p))) {
			need = permContent // a new tag's options, saved with its document
		}
		if need == permSettings && !protocol.Grants(a.Role, need) {
			if err := v.allowConfigWrite(a, p, saves); err != nil {
				return refuse("role %s lacks %s for a change to %s (%v)", a.Role, need, quoteName(path.Base(p)), err)
			}
			continue
		}
		if !protocol.Grants(a.Role, need) {
			return refuse("role %s lacks %s for a change to %s", a.Role, need, quoteName(path.Base(p)))
		}
	}
	if a.CoAuthor == "" {
		return nil
	}
	// Only the input as a variable is rewritten: the stock dashboard's.
	msg, _ := v.commit["message"].(map[string]any)
	if !v.commitVar || msg == nil {
		return refuse("a commit made with the app's token must pass its input as a variable")
	}
	body, _ := msg["body"].(string)
	msg["body"] = AddCoAuthorToBody(body, a.Name, a.CoAuthor)
	return v.encode()
}

// fileChange is one path a commit adds or deletes.
type fileChange struct {
	path    string
	deleted bool
}

// commitPaths are the paths a commit input, as coerced (a lone addition
// or deletion is already the list of one GitHub sees), adds or deletes (a
// path that is not a string counts as the empty path, which is refused),
// and whether it adds a document. Only an added schema counts as a new
// tag's options: the dashboard deletes a schema only with the
// collection or singleton it describes.
func commitPaths(in map[string]any) (paths []fileChange, savesDocument bool) {
	changes, _ := in["fileChanges"].(map[string]any)
	for _, kind := range []string{"additions", "deletions"} {
		list, _ := changes[kind].([]any)
		for _, x := range list {
			m, _ := x.(map[string]any)
			p, _ := m["path"].(string)
			paths = append(paths, fileChange{path: p, deleted: kind == "deletions"})
			savesDocument = savesDocument || (kind == "additions" && isDocument(p))
		}
	}
	return paths, savesDocument
}

// plainRepoPath accepts a path as git stores it: segments separated by
// single slashes, none empty, "." or "..", no backslash or control
// character; so no spelling of a path escapes pathPermission.
func plainRepoPath(p string) bool {
	p = strings.Trim(p, "/")
	if p == "" || strings.ContainsAny(p, "\\\x00") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f {
				return false
			}
		}
	}
	return true
}
