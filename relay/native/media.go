package native

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// The media proxy (#10). For every session that did not log in with GitHub
// directly, the site fetches the repository's images through the relay
// with the session's access token (PROTOCOL.md §8). The relay reads the
// file from GitHub with the session's GitHub token, for the project's own
// repository only, and streams it back. The answer is made inert: a file
// in a repository is content anyone with push access wrote, so it is never
// served as HTML or script (a fixed Content-Type from an allow-list,
// nosniff, and a sandboxing CSP for a browser that opens it directly).

// Limits of the media proxy. Variables, so tests can lower them.
var (
	// mediaMaxBytes bounds a file: refused upfront by its Content-Length,
	// cut beyond it when GitHub sends none.
	mediaMaxBytes int64 = 25 << 20
	// mediaHeaderTimeout bounds the wait for GitHub's response headers.
	mediaHeaderTimeout = 15 * time.Second
	// mediaTimeout bounds the whole transfer.
	mediaTimeout = 2 * time.Minute
)

// Bounds of the names in a media path.
const (
	maxBranchLen  = 255
	maxSegmentLen = 255
	maxMediaPath  = 1024
	maxSegments   = 32
)

// mediaTypes are the Content-Types the proxy answers with, by extension.
// Anything else is application/octet-stream.
var mediaTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".avif": "image/avif", ".bmp": "image/bmp", ".ico": "image/x-icon",
	".svg": "image/svg+xml", ".mp4": "video/mp4", ".webm": "video/webm", ".ogv": "video/ogg",
	".mov": "video/quicktime", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".wav": "audio/wav",
	".m4a": "audio/mp4",
}

// mediaRequest is a checked media path.
type mediaRequest struct {
	owner, repo, branch string
	segments            []string // the file's path, one element per segment
}

// errMediaPath refuses a media path; it never says which rule it broke,
// the log does.
var errMediaPath = errors.New("invalid media path")

// parseMediaPath checks /outstatic/media/<owner>/<repo>/<branch>/<path>.
// The branch is one segment: the stock client joins the parts with "/",
// so a branch with a "/" in its name could not be told from the path.
func parseMediaPath(u *url.URL) (mediaRequest, string, error) {
	// Escapes that would change the path's shape once decoded are refused
	// outright, whatever the decoded form: an encoded "/" or "\" joins or
	// splits segments, an encoded "." makes dot segments the split below
	// does not see, and "%25" is double encoding, read once more by
	// whatever decodes after us.
	// EscapedPath, not RawPath: Go leaves RawPath empty when the path
	// was sent in the default encoding, as "%252E" is for a decoded "%2E".
	raw := strings.ToLower(u.EscapedPath())
	for _, bad := range []string{"%2f", "%5c", "%2e", "%25"} {
		if strings.Contains(raw, bad) {
			return mediaRequest{}, "encoded " + bad, errMediaPath
		}
	}
	rest, ok := strings.CutPrefix(u.Path, protocol.Media.Path)
	if !ok {
		return mediaRequest{}, "not a media path", errMediaPath
	}
	if len(rest) > maxMediaPath {
		return mediaRequest{}, "path too long", errMediaPath
	}
	segs := strings.Split(rest, "/")
	if len(segs) < 4 || len(segs) > maxSegments+3 {
		return mediaRequest{}, "wrong number of segments", errMediaPath
	}
	for _, s := range segs {
		if reason := badSegment(s); reason != "" {
			return mediaRequest{}, reason, errMediaPath
		}
	}
	m := mediaRequest{owner: segs[0], repo: segs[1], branch: segs[2], segments: segs[3:]}
	if !validRefName(m.branch) {
		return mediaRequest{}, "branch is not a valid ref name", errMediaPath
	}
	return m, "", nil
}

// badSegment says what is wrong with one path segment, or "".
func badSegment(s string) string {
	switch {
	case s == "":
		return "empty segment"
	case s == "." || s == "..":
		return "dot segment"
	case len(s) > maxSegmentLen:
		return "segment too long"
	case !utf8.ValidString(s):
		return "segment is not UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\\' || (r >= 0x80 && r < 0xa0) {
			return "control character or backslash"
		}
	}
	return ""
}

// validRefName applies git check-ref-format's rules to a one-segment
// branch name, plus a bound on its length.
func validRefName(b string) bool {
	if b == "" || len(b) > maxBranchLen || b == "@" || strings.HasPrefix(b, ".") || strings.HasPrefix(b, "-") ||
		strings.HasSuffix(b, ".") || strings.HasSuffix(b, ".lock") || strings.Contains(b, "..") || strings.Contains(b, "@{") {
		return false
	}
	for _, r := range b {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("~^:?*[\\", r) {
			return false
		}
	}
	return true
}

// sameRepoName compares an owner or repository name as GitHub does: ASCII,
// case-insensitively. Names GitHub allows are ASCII; strings.EqualFold
// alone would also match "\u212a" (the Kelvin sign) with "k".
func sameRepoName(a, b string) bool {
	for i := 0; i < len(a); i++ {
		if a[i] >= utf8.RuneSelf {
			return false
		}
	}
	return strings.EqualFold(a, b)
}

// checkMediaPath refuses a media path that does not parse, before its
// session is checked.
func (n *Native) checkMediaPath(w http.ResponseWriter, r *http.Request) bool {
	if _, reason, err := parseMediaPath(r.URL); err != nil {
		n.log.Info(r, "media refused", zap.String("reason", reason))
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeInvalidMediaPath)
		return false
	}
	return true
}

// serveMedia answers #10 for a path checkMediaPath let through.
func (n *Native) serveMedia(w http.ResponseWriter, r *http.Request, c *sessionClaims, p *roster.Project) {
	m, _, _ := parseMediaPath(r.URL)
	if !sameRepoName(m.owner, p.RepoOwner) || !sameRepoName(m.repo, p.RepoSlug) {
		n.log.Info(r, "media refused", zap.String("project", p.Slug), zap.String("reason", "another repository"))
		protocol.WriteError(w, http.StatusForbidden, protocol.CodeRepositoryNotAllowed)
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), mediaTimeout)
	defer cancel()
	// The project's own spelling of the repository, never the request's.
	res, err := n.gh.Media(ctx, cancel, r.Method, c.token, p.RepoOwner, p.RepoSlug, m.branch, m.segments, mediaHeaderTimeout)
	if err != nil {
		n.log.Info(r, "github media failed", zap.String("project", p.Slug), zap.Error(err))
		protocol.WriteError(w, http.StatusBadGateway, protocol.CodeServiceUnavailable)
		return
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		// The session's GitHub token no longer works: the same answer as a
		// bad session, so a client that refreshes on it does.
		n.dropAppToken(c, p)
		n.refuseSession(w, r, "github refused the session's token")
		return
	case res.StatusCode == http.StatusNotFound:
		protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
		return
	case res.StatusCode != http.StatusOK:
		n.log.Info(r, "github media failed", zap.String("project", p.Slug), zap.Int("status", res.StatusCode))
		protocol.WriteError(w, http.StatusBadGateway, protocol.CodeServiceUnavailable)
		return
	case strings.HasPrefix(res.Header.Get("Content-Type"), "application/json"):
		// A folder: GitHub lists it as JSON whatever was asked for.
		protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotFound)
		return
	case res.ContentLength > mediaMaxBytes:
		protocol.WriteError(w, http.StatusRequestEntityTooLarge, protocol.CodeMediaTooLarge)
		return
	}

	h := w.Header()
	name := m.segments[len(m.segments)-1]
	ct := mediaTypes[strings.ToLower(path.Ext(name))]
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=300")
	if res.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(res.ContentLength, 10))
	}
	if etag := res.Header.Get("ETag"); etag != "" {
		h.Set("ETag", etag)
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	copied, err := io.Copy(flushWriter{w}, io.LimitReader(res.Body, mediaMaxBytes+1))
	if copied > mediaMaxBytes || err != nil {
		// The status is sent: the only way left to say the file is not
		// whole is to break the connection.
		if r.Context().Err() == nil {
			n.log.Info(r, "media stream cut", zap.String("project", p.Slug), zap.Int64("bytes", copied),
				zap.Bool("over_limit", copied > mediaMaxBytes), zap.NamedError("cause", err))
		}
		panic(http.ErrAbortHandler)
	}
}

// flushWriter flushes after every write, so a file streams to the site as
// it arrives from GitHub instead of waiting in a buffer.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if err == nil {
		_ = http.NewResponseController(f.w).Flush()
	}
	return n, err
}
