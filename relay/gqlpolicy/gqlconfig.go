package gqlpolicy

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// The one settings change a role without settings.manage may make.
// outstatic 2.2.4's dashboard, saving a document in a repository whose
// config.json has no mdExtension, records the extension it chose there,
// in the same commit: without this, such a repository's first save by an
// editor, manager or author would be refused. So a commit that saves a
// document may also write config.json when the new file is the current
// one (read at the commit's base, expectedHeadOid, with the call's own
// token) with only mdExtension added; any other change, or any failure
// to read the current file, is refused as before.

// Bounds on reading the current config.json, for the ReadFile that does:
// a settings file is small, and a save should not wait long on it.
const (
	ConfigMaxBytes    = 64 << 10
	ConfigReadTimeout = 10 * time.Second
)

// mdExtensions are the values outstatic 2.2.4 writes to mdExtension.
var mdExtensions = map[string]bool{"md": true, "mdx": true}

// errConfigRead is any failure to read the current config.json: the
// change it was needed for is refused (fail closed).
var errConfigRead = errors.New("the current config.json could not be read")

// ReadFile reads a repository file at a revision (a commit ID or a
// branch), of at most ConfigMaxBytes, within ConfigReadTimeout.
type ReadFile func(rev, path string) ([]byte, error)

// isObjectID reports whether s is a full Git object ID (SHA-1 or SHA-256,
// hex), so that it names one commit and nothing else in an expression.
func isObjectID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// onlyAddsMDExtension reports, as an error, why the config.json write of
// a commit is more than adding mdExtension to the current file (nil: it
// is only that). contents is the addition's base64, as the commit input
// carries it.
func onlyAddsMDExtension(current []byte, contents string) error {
	raw, err := base64.StdEncoding.DecodeString(contents)
	if err != nil {
		return errors.New("config.json's new contents are not base64")
	}
	var before, after map[string]any
	if json.Unmarshal(current, &before) != nil || before == nil {
		return errors.New("the current config.json is not a JSON object")
	}
	if json.Unmarshal(raw, &after) != nil || after == nil {
		return errors.New("the new config.json is not a JSON object")
	}
	if _, ok := before["mdExtension"]; ok {
		return errors.New("config.json already has mdExtension")
	}
	ext, _ := after["mdExtension"].(string)
	if !mdExtensions[ext] {
		return errors.New("config.json's new mdExtension is not md or mdx")
	}
	delete(after, "mdExtension")
	if !reflect.DeepEqual(before, after) {
		return errors.New("config.json changes more than mdExtension")
	}
	return nil
}

// configAddition is the base64 contents of the one addition of path in
// a commit input (as coerced), if path is added exactly once and not
// deleted.
func configAddition(in map[string]any, path string) (string, bool) {
	changes, _ := in["fileChanges"].(map[string]any)
	var contents string
	seen := 0
	for _, kind := range []string{"additions", "deletions"} {
		list, _ := changes[kind].([]any)
		for _, x := range list {
			m, _ := x.(map[string]any)
			if p, _ := m["path"].(string); p != path {
				continue
			}
			seen++
			if kind == "deletions" {
				return "", false
			}
			contents, _ = m["contents"].(string)
		}
	}
	return contents, seen == 1
}

// allowConfigWrite checks a commit's write of config.json (at path) by a
// role without settings.manage: only adding mdExtension to the file the
// commit replaces, alongside a document.
func (v *Verdict) allowConfigWrite(a Access, path string, savesDocument bool) error {
	if !savesDocument {
		return errors.New("config.json written without a document")
	}
	contents, ok := configAddition(v.commit, path)
	if !ok {
		return errors.New("config.json is not added exactly once")
	}
	// The file at the commit's base, not at the branch's head now: GitHub
	// lands the commit only while the branch is still at expectedHeadOid,
	// so the file compared is exactly the one the commit replaces.
	base, _ := v.commit["expectedHeadOid"].(string)
	if !isObjectID(base) || a.ReadFile == nil {
		return errConfigRead
	}
	current, err := a.ReadFile(base, path)
	if err != nil {
		return fmt.Errorf("%w: %v", errConfigRead, err)
	}
	return onlyAddsMDExtension(current, contents)
}
