package outstatic

import (
	"net/http"
	"strings"
)

// Default names of the headers the guard owns.
const (
	defaultProHeader      = "X-Outstatic-Pro"
	defaultFeaturesHeader = "X-Outstatic-Features"
	defaultProjectHeader  = "X-Outstatic-Project"
)

// proFeatures is what a Pro verdict turns on, in X-Outstatic-Features.
const proFeatures = "ai-completions,email-login,social-login,github-relay,callback-origins,members"

// HeaderNames are the names of the request headers the guard sets for the
// app. Clients cannot send them: every copy a client sends is removed.
type HeaderNames struct {
	// Pro is set to "true" when the key is verified Pro.
	// Default: X-Outstatic-Pro.
	Pro string `json:"pro,omitempty"`
	// Features lists the Pro features, comma-separated.
	// Default: X-Outstatic-Features.
	Features string `json:"features,omitempty"`
	// Project carries the project id. Default: X-Outstatic-Project.
	Project string `json:"project,omitempty"`
}

func (h HeaderNames) withDefaults() HeaderNames {
	if h.Pro == "" {
		h.Pro = defaultProHeader
	}
	if h.Features == "" {
		h.Features = defaultFeaturesHeader
	}
	if h.Project == "" {
		h.Project = defaultProjectHeader
	}
	return h
}

// canonical puts the names in Go's canonical form, so that setting them
// replaces rather than adds beside a differently spelled copy.
func (h HeaderNames) canonical() HeaderNames {
	return HeaderNames{
		Pro:      http.CanonicalHeaderKey(h.Pro),
		Features: http.CanonicalHeaderKey(h.Features),
		Project:  http.CanonicalHeaderKey(h.Project),
	}
}

// headerStripper removes every client copy of the owned headers.
type headerStripper struct {
	// folded holds the owned names lowercased with "_" and "." as "-".
	folded []string
}

func newHeaderStripper(names HeaderNames) headerStripper {
	return headerStripper{folded: []string{foldHeader(names.Pro), foldHeader(names.Features), foldHeader(names.Project)}}
}

// foldHeader maps the spellings a server or framework may treat as one
// header to a single form: case, and "_" or "." standing for "-" (Node and
// several proxies convert between them).
func foldHeader(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if c == '_' || c == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}

// strip deletes the owned headers in every spelling from h. Go has
// canonicalized only the "-" spellings, so every key is compared; the
// comparison does not allocate, as it runs on every request.
func (s headerStripper) strip(h http.Header) {
	for key := range h {
		for _, owned := range s.folded {
			if foldEqual(key, owned) {
				delete(h, key)
				break
			}
		}
	}
}

// foldEqual reports whether foldHeader(key) == folded.
func foldEqual(key, folded string) bool {
	if len(key) != len(folded) {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '.':
			c = '-'
		}
		if c != folded[i] {
			return false
		}
	}
	return true
}
