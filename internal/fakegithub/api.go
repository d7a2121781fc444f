package fakegithub

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds what the fake reads of a request body.
const maxBody = 4 << 20

// readBody reads r's body and puts it back, so handlers can parse it again.
func readBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// apiError is the body of GitHub's REST error replies.
func apiError(w http.ResponseWriter, status int, message, doc string) {
	writeJSON(w, status, struct {
		Message string `json:"message"`
		Doc     string `json:"documentation_url"`
		Status  string `json:"status"`
	}{message, doc, fmt.Sprint(status)})
}

// apiHeaders sets what every api.github.com reply carries: CORS open to
// any origin (the API takes tokens, not cookies) and the rate-limit and
// media-type headers clients read.
func apiHeaders(w http.ResponseWriter, resource string) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Request-Id", strings.ToUpper(randomHex(8)+":"+randomHex(6)))
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4999")
	h.Set("X-RateLimit-Used", "1")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", resource)
}

// preflight answers a CORS preflight as api.github.com does.
func preflight(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since, Accept-Encoding, X-GitHub-OTP, X-Requested-With, User-Agent, GraphQL-Features, X-Github-Next-Global-ID, X-GitHub-Api-Version")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// credential extracts the token from Authorization: "token X", "Bearer X"
// (any case), or Basic with the token as password, as GitHub accepts.
func credential(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	if _, p, ok := r.BasicAuth(); ok {
		return p, true
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if strings.EqualFold(scheme, "token") || strings.EqualFold(scheme, "bearer") {
		return strings.TrimSpace(tok), true
	}
	return "", true
}

// authenticate finds the caller's token. ok is false when the request
// carried no credential at all; tok is nil when it carried a bad one.
func (s *Server) authenticate(r *http.Request) (tok *Token, ok bool) {
	v, ok := credential(r)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[v]; t != nil && (t.Expires.IsZero() || s.now().Before(t.Expires)) {
		c := *t
		return &c, true
	}
	return nil, true
}

// hasScope reports whether t was granted one of want, counting the scopes
// GitHub implies (repo ⊃ public_repo, user ⊃ read:user and user:email).
func (t *Token) hasScope(want ...string) bool {
	for _, have := range t.Scopes {
		for _, w := range want {
			if have == w || (have == "repo" && w == "public_repo") ||
				(have == "user" && (w == "read:user" || w == "user:email")) {
				return true
			}
		}
	}
	return false
}

// rest serves the REST API under /api/v3; p is the path below it.
func (s *Server) rest(w http.ResponseWriter, r *http.Request, p string) {
	apiHeaders(w, "core")
	if r.Method == http.MethodOptions {
		preflight(w)
		return
	}
	tok, sent := s.authenticate(r)
	if sent && tok == nil {
		apiError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return
	}
	if tok != nil {
		w.Header().Set("X-OAuth-Scopes", strings.Join(tok.Scopes, ", "))
	}
	const userDoc = "https://docs.github.com/rest/users/users#get-the-authenticated-user"
	const emailsDoc = "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user"
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	case p == "/user" && tok == nil:
		apiError(w, http.StatusUnauthorized, "Requires authentication", userDoc)
	case p == "/user":
		w.Header().Set("X-Accepted-OAuth-Scopes", "")
		writeJSON(w, http.StatusOK, restUser(r, tok.user))
	case p == "/user/emails" && tok == nil:
		apiError(w, http.StatusUnauthorized, "Requires authentication", emailsDoc)
	case p == "/user/emails":
		w.Header().Set("X-Accepted-OAuth-Scopes", "user, user:email")
		// GitHub answers 404, not 403, when the token lacks the scope.
		if !tok.hasScope("user:email") {
			apiError(w, http.StatusNotFound, "Not Found", emailsDoc)
			return
		}
		emails := tok.user.Emails
		if emails == nil {
			emails = []Email{}
		}
		writeJSON(w, http.StatusOK, emails)
	case strings.HasPrefix(p, "/repos/"):
		s.restRepo(w, r, tok, strings.TrimPrefix(p, "/repos/"))
	default:
		apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	}
}

// restRepo is GET /repos/{owner}/{repo}, and the collaborator check
// below it.
func (s *Server) restRepo(w http.ResponseWriter, r *http.Request, tok *Token, rest string) {
	const doc = "https://docs.github.com/rest/repos/repos#get-a-repository"
	const collaboratorDoc = "https://docs.github.com/rest/collaborators/collaborators#check-if-a-user-is-a-repository-collaborator"
	s.mu.Lock()
	g := s.git
	s.mu.Unlock()
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	collaborator := len(parts) == 4 && parts[2] == "collaborators"
	if len(parts) != 2 && !collaborator {
		apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}
	// Private repositories do not exist for callers without the repo scope.
	if !g.named(parts[0], parts[1]) || (g.Private && (tok == nil || !tok.hasScope("repo"))) {
		apiError(w, http.StatusNotFound, "Not Found", map[bool]string{false: doc, true: collaboratorDoc}[collaborator])
		return
	}
	if collaborator {
		// The fake's users hold every permission on the repository (see
		// permissions below), as does its owner: they are its
		// collaborators. The answer has no body, either way.
		if who := parts[3]; tok != nil && (strings.EqualFold(who, tok.Login) || strings.EqualFold(who, g.Owner)) {
			w.WriteHeader(http.StatusNoContent)
		} else {
			w.WriteHeader(http.StatusNotFound)
		}
		return
	}
	var perms map[string]bool
	if tok != nil {
		perms = map[string]bool{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}
	}
	writeJSON(w, http.StatusOK, restRepository(r, g, perms))
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// avatarURL is the user's avatar, or GitHub's default one for the id.
func avatarURL(u User) string {
	if u.AvatarURL != "" {
		return u.AvatarURL
	}
	return fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", u.ID)
}
