package guard

import (
	"io"
	"net/http"
	"strings"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
)

// Default names of the headers the guard owns.
const (
	defaultProHeader      = "X-Outstatic-Pro"
	defaultFeaturesHeader = "X-Outstatic-Features"
	defaultProjectHeader  = "X-Outstatic-Project"
)

// ProFeatures is what a Pro verdict turns on, in X-Outstatic-Features.
const ProFeatures = "ai-completions,email-login,social-login,github-relay,callback-origins,members"

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

// headerStripper removes every client copy of the owned headers: the flags
// and protocol.ClientIPHeader, which the guard sends the service itself
// and the app has no business seeing from a client.
type headerStripper struct {
	// folded holds the owned names lowercased with "_" and "." as "-".
	folded []string
}

func newHeaderStripper(names HeaderNames) headerStripper {
	return headerStripper{folded: []string{foldHeader(names.Pro), foldHeader(names.Features), foldHeader(names.Project),
		foldHeader(protocol.ClientIPHeader)}}
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
			if protocol.FoldEqual(key, owned) {
				delete(h, key)
				break
			}
		}
	}
}

// stripRequest removes client copies of the owned headers from r: from its
// header, and from its trailers, which a reverse proxy forwards to the app
// as it forwards headers (and which Node merges into the same object).
// Declared trailers are known now; their values, and any the client sends
// without declaring them, arrive only when the body has been read, so the
// body is wrapped to remove them at its end.
func (s headerStripper) stripRequest(r *http.Request) {
	s.strip(r.Header)
	s.stripTrailerHeader(r.Header)
	if r.Trailer == nil {
		// With nothing declared, net/http keeps what arrives after the
		// body on its own request, out of reach of r and its copies.
		return
	}
	s.strip(r.Trailer)
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &trailerStripper{ReadCloser: r.Body, trailer: r.Trailer, s: s}
	}
}

// stripTrailerHeader removes the owned names from a Trailer header that
// net/http left in place (it does so when the body is not chunked), so
// that no later hop takes them as declared.
func (s headerStripper) stripTrailerHeader(h http.Header) {
	vv, ok := h["Trailer"]
	if !ok {
		return
	}
	var kept []string
	for _, v := range vv {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name != "" && !s.owns(name) {
				kept = append(kept, name)
			}
		}
	}
	if len(kept) == 0 {
		delete(h, "Trailer")
		return
	}
	h["Trailer"] = []string{strings.Join(kept, ", ")}
}

// owns reports whether name is one of the owned headers in some spelling.
func (s headerStripper) owns(name string) bool {
	for _, owned := range s.folded {
		if protocol.FoldEqual(name, owned) {
			return true
		}
	}
	return false
}

// trailerStripper removes the owned headers from the request's trailers
// when the body ends: net/http fills the trailer map in the Read that
// returns io.EOF, before the caller (reverse_proxy) copies it.
type trailerStripper struct {
	io.ReadCloser
	trailer http.Header
	s       headerStripper
}

func (t *trailerStripper) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if err != nil {
		t.s.strip(t.trailer)
	}
	return n, err
}
