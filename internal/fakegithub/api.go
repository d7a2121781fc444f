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
		writeJSON(w, http.StatusOK, s.restUser(r, tok.user))
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

// restUser is GET /user, with GitHub's fields in GitHub's order.
func (s *Server) restUser(r *http.Request, u User) any {
	api := "http://" + r.Host + "/api/v3/users/" + u.Login
	type user struct {
		Login             string  `json:"login"`
		ID                int64   `json:"id"`
		NodeID            string  `json:"node_id"`
		AvatarURL         string  `json:"avatar_url"`
		GravatarID        string  `json:"gravatar_id"`
		URL               string  `json:"url"`
		HTMLURL           string  `json:"html_url"`
		FollowersURL      string  `json:"followers_url"`
		ReposURL          string  `json:"repos_url"`
		Type              string  `json:"type"`
		UserViewType      string  `json:"user_view_type"`
		SiteAdmin         bool    `json:"site_admin"`
		Name              *string `json:"name"`
		Company           *string `json:"company"`
		Blog              string  `json:"blog"`
		Location          *string `json:"location"`
		Email             *string `json:"email"`
		Hireable          *bool   `json:"hireable"`
		Bio               *string `json:"bio"`
		TwitterUsername   *string `json:"twitter_username"`
		NotificationEmail *string `json:"notification_email"`
		PublicRepos       int     `json:"public_repos"`
		PublicGists       int     `json:"public_gists"`
		Followers         int     `json:"followers"`
		Following         int     `json:"following"`
		CreatedAt         string  `json:"created_at"`
		UpdatedAt         string  `json:"updated_at"`
	}
	return user{Login: u.Login, ID: u.ID, NodeID: userNodeID(u), AvatarURL: avatarURL(u),
		URL: api, HTMLURL: "http://" + r.Host + "/" + u.Login, FollowersURL: api + "/followers",
		ReposURL: api + "/repos", Type: "User", UserViewType: "private", Name: nullable(u.Name),
		Email: nullable(u.Email), NotificationEmail: nullable(u.Email), PublicRepos: 1,
		CreatedAt: "2020-01-01T00:00:00Z", UpdatedAt: "2020-01-01T00:00:00Z"}
}

// restRepo is GET /repos/{owner}/{repo}: enough for a permission check.
func (s *Server) restRepo(w http.ResponseWriter, r *http.Request, tok *Token, rest string) {
	const doc = "https://docs.github.com/rest/repos/repos#get-a-repository"
	s.mu.Lock()
	g := s.git
	s.mu.Unlock()
	owner, name, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	// Private repositories do not exist for callers without the repo scope.
	if !g.named(owner, name) || (g.Private && (tok == nil || !tok.hasScope("repo"))) {
		apiError(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	perms := map[string]bool{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}
	out := map[string]any{
		"id": g.databaseID(), "node_id": g.ID, "name": g.Name, "full_name": g.Owner + "/" + g.Name,
		"private": g.Private, "html_url": "http://" + r.Host + "/" + g.Owner + "/" + g.Name,
		"owner":          map[string]any{"login": g.Owner, "type": "User"},
		"default_branch": g.DefaultBranch, "visibility": map[bool]string{true: "private", false: "public"}[g.Private],
	}
	if tok != nil {
		out["permissions"] = perms
	}
	writeJSON(w, http.StatusOK, out)
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
