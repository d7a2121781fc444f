package fakegithub

// GitHub Apps: a registered App authenticates as itself with a JWT signed
// by its private key (RS256, iss = the App's id, iat/exp at most ten
// minutes apart), finds its installation on a repository, and mints
// installation tokens (ghs_, one hour) that act on the installation's
// repositories, or on those of them the request names. The relay uses this for sessions with no GitHub token of
// their own (Google and e-mail logins).
//
// An installation token is stored as an ordinary Token, so the REST,
// contents and GraphQL handlers need no change: it carries the "repo"
// scope when the installation covers the repository the fake serves, and
// no scope otherwise, which gives GitHub's answers for a repository the App
// is not installed on (a private one is Not Found, writes are refused).
//
// The App state lives beside Server, keyed by it, so that this feature adds
// a file instead of changing Server's fields; it could move into Server.

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// InstallationTokenTTL is how long an installation token lives (GitHub: one
// hour).
const InstallationTokenTTL = time.Hour

// appJWTMaxLifetime is GitHub's limit on exp - iat for an App's JWT.
const appJWTMaxLifetime = 10 * time.Minute

// appClockSkew is how far in the future iat may be; GitHub advises
// clients to backdate iat by 60 seconds for the same reason.
const appClockSkew = 60 * time.Second

// Installation is an App installed on some repositories.
type Installation struct {
	ID    int64
	AppID int64
	// Repos are "owner/name", compared case-insensitively.
	Repos []string
}

type registeredApp struct {
	slug string
	key  *rsa.PublicKey
}

type appState struct {
	mu            sync.Mutex
	apps          map[int64]*registeredApp
	installations map[int64]*Installation
	minted        map[int64]int // installation id → tokens minted
}

var appStates sync.Map // *Server → *appState

func (s *Server) apps() *appState {
	v, _ := appStates.LoadOrStore(s, &appState{apps: map[int64]*registeredApp{},
		installations: map[int64]*Installation{}, minted: map[int64]int{}})
	return v.(*appState)
}

// RegisterApp registers a GitHub App with id, slug (its bot is
// "<slug>[bot]") and the public half of its private key.
func (s *Server) RegisterApp(id int64, slug string, key *rsa.PublicKey) {
	a := s.apps()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.apps[id] = &registeredApp{slug: slug, key: key}
}

// Install installs App appID as installation id on repos ("owner/name").
func (s *Server) Install(appID, id int64, repos ...string) {
	a := s.apps()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.installations[id] = &Installation{ID: id, AppID: appID, Repos: repos}
}

// InstallationTokensMinted is how many tokens installation id has minted.
func (s *Server) InstallationTokensMinted(id int64) int {
	a := s.apps()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.minted[id]
}

// appAPI serves the GitHub App endpoints (the installation of a
// repository, installation tokens) from its Server's state.
type appAPI struct{ *Server }

// appRoute serves the App endpoints below /api/v3 and reports whether p
// was one of them.
func (s appAPI) appRoute(w http.ResponseWriter, r *http.Request, p string) bool {
	if rest, ok := strings.CutPrefix(p, "/app/installations/"); ok {
		id, tail, _ := strings.Cut(rest, "/")
		if tail != "access_tokens" {
			return false
		}
		apiHeaders(w, "core")
		if r.Method != http.MethodPost {
			apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
			return true
		}
		s.mintInstallationToken(w, r, id)
		return true
	}
	if rest, ok := strings.CutPrefix(p, "/repos/"); ok {
		parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
		if len(parts) != 3 || parts[2] != "installation" {
			return false
		}
		apiHeaders(w, "core")
		if r.Method != http.MethodGet {
			apiError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
			return true
		}
		s.repoInstallation(w, r, parts[0]+"/"+parts[1])
		return true
	}
	return false
}

const (
	installationDoc = "https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app"
	accessTokenDoc  = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
)

// appFromJWT verifies the request's App JWT, or answers the error itself.
func (s appAPI) appFromJWT(w http.ResponseWriter, r *http.Request, doc string) (int64, bool) {
	raw, ok := credential(r)
	if !ok || raw == "" {
		apiError(w, http.StatusUnauthorized, "A JSON web token could not be decoded", doc)
		return 0, false
	}
	id, problem := s.verifyAppJWT(raw)
	if problem != "" {
		apiError(w, http.StatusUnauthorized, problem, doc)
		return 0, false
	}
	return id, true
}

// verifyAppJWT applies GitHub's rules; a problem is GitHub's message for it.
func (s appAPI) verifyAppJWT(raw string) (appID int64, problem string) {
	a := s.apps()
	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.GetIssuer()
		id, err := strconv.ParseInt(iss, 10, 64)
		if err != nil {
			return nil, errors.New("bad iss")
		}
		a.mu.Lock()
		app := a.apps[id]
		a.mu.Unlock()
		if app == nil {
			return nil, errors.New("unknown app")
		}
		return app.key, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil || !tok.Valid {
		return 0, "A JSON web token could not be decoded"
	}
	if claims.IssuedAt == nil || claims.ExpiresAt == nil {
		return 0, "Missing 'issued at' or 'expiration time' claim"
	}
	now := s.now()
	iat, exp := claims.IssuedAt.Time, claims.ExpiresAt.Time
	switch {
	case iat.After(now.Add(appClockSkew)):
		return 0, "'Issued at' claim ('iat') must be an Integer representing a time in the past."
	case exp.Sub(iat) > appJWTMaxLifetime:
		return 0, "'Expiration time' claim ('exp') is too far in the future."
	case !now.Before(exp):
		return 0, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires."
	}
	id, _ := strconv.ParseInt(claims.Issuer, 10, 64)
	return id, ""
}

// repoInstallation is GET /repos/{owner}/{repo}/installation.
func (s appAPI) repoInstallation(w http.ResponseWriter, r *http.Request, full string) {
	appID, ok := s.appFromJWT(w, r, installationDoc)
	if !ok {
		return
	}
	a := s.apps()
	a.mu.Lock()
	var found *Installation
	for _, inst := range a.installations {
		if inst.AppID == appID && covers(inst, full) {
			found = inst
			break
		}
	}
	a.mu.Unlock()
	if found == nil {
		apiError(w, http.StatusNotFound, "Not Found", installationDoc)
		return
	}
	owner, _, _ := strings.Cut(full, "/")
	a.mu.Lock()
	slug := a.apps[appID].slug
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": found.ID, "app_id": found.AppID, "app_slug": slug, "target_id": accountID(owner), "target_type": "User",
		"account":              simpleUser(r, owner, accountID(owner), "https://avatars.githubusercontent.com/"+owner),
		"repository_selection": "selected", "single_file_name": nil, "events": []string{},
		"access_tokens_url": fmt.Sprintf("http://%s/api/v3/app/installations/%d/access_tokens", r.Host, found.ID),
		"repositories_url":  fmt.Sprintf("http://%s/api/v3/installation/repositories", r.Host),
		"html_url":          fmt.Sprintf("http://%s/settings/installations/%d", r.Host, found.ID),
		"permissions":       map[string]string{"contents": "write", "metadata": "read"},
		"created_at":        restCreated, "updated_at": restCreated, "suspended_by": nil, "suspended_at": nil,
	})
}

// mintInstallationToken is POST /app/installations/{id}/access_tokens.
func (s appAPI) mintInstallationToken(w http.ResponseWriter, r *http.Request, idStr string) {
	appID, ok := s.appFromJWT(w, r, accessTokenDoc)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(idStr, 10, 64)
	a := s.apps()
	a.mu.Lock()
	inst := a.installations[id]
	if err != nil || inst == nil || inst.AppID != appID {
		a.mu.Unlock()
		apiError(w, http.StatusNotFound, "Not Found", accessTokenDoc)
		return
	}
	slug := a.apps[appID].slug
	repos, ok := scopedRepos(inst, readBody(r))
	if !ok {
		a.mu.Unlock()
		apiError(w, http.StatusUnprocessableEntity,
			"There is at least one repository that does not exist or is not accessible to the parent installation.", accessTokenDoc)
		return
	}
	a.minted[id]++
	a.mu.Unlock()

	s.mu.Lock()
	served := s.git
	var scopes []string
	if covers(&Installation{Repos: repos}, s.git.Owner+"/"+s.git.Name) {
		scopes = []string{"repo"}
	}
	now := s.now()
	t := &Token{Value: "ghs_" + randomString(36), Login: slug + "[bot]", Scopes: scopes, Created: now,
		Expires: now.Add(InstallationTokenTTL), user: User{Login: slug + "[bot]", Name: slug}}
	s.issued++
	t.seq = s.issued
	s.tokens[t.Value] = t
	s.mu.Unlock()

	// Each repository as GitHub describes one; those the fake does not
	// serve only by their names.
	list := make([]map[string]any, len(repos))
	for i, full := range repos {
		g := served
		if owner, name, _ := strings.Cut(full, "/"); !served.named(owner, name) {
			g = newGitRepo(Repo{Owner: owner, Name: name, Private: true}, now)
		}
		list[i] = restRepository(r, g, nil)
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": t.Value, "expires_at": t.Expires.UTC().Format(time.RFC3339),
		"permissions":          map[string]string{"contents": "write", "metadata": "read"},
		"repository_selection": "selected", "repositories": list,
	})
}

// scopedRepos are the repositories a token minted with body reaches: those
// its "repositories" names (names in the installation's account, compared
// without case), or all of inst's when it names none; ok is false when one
// it names is not installed on.
func scopedRepos(inst *Installation, body []byte) (repos []string, ok bool) {
	var req struct {
		Repositories []string `json:"repositories"`
	}
	if len(bytes.TrimSpace(body)) > 0 && json.Unmarshal(body, &req) != nil {
		return nil, false
	}
	if len(req.Repositories) == 0 {
		return append([]string(nil), inst.Repos...), true
	}
	for _, name := range req.Repositories {
		found := ""
		for _, full := range inst.Repos {
			if _, n, _ := strings.Cut(full, "/"); strings.EqualFold(n, name) {
				found = full
			}
		}
		if found == "" {
			return nil, false
		}
		repos = append(repos, found)
	}
	return repos, true
}

func covers(inst *Installation, full string) bool {
	for _, r := range inst.Repos {
		if strings.EqualFold(r, full) {
			return true
		}
	}
	return false
}
