package login

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// issuerMaxBody bounds each answer of an OpenID Connect issuer. Its
// discovery document and keys are a few KB and its token answer less; the
// library reads them whole (go-oidc without a bound, oauth2 up to 1 MB), so
// an issuer that answered 100 MB would be held in memory, several times
// over while it is decoded.
const issuerMaxBody = 1 << 20

// errBodyTooLarge is what reading past the bound returns.
var errBodyTooLarge = errors.New("answer larger than allowed")

// limitedClient is client whose every response body ends with
// errBodyTooLarge after max bytes: a bound for libraries that read answers
// whole. client is not changed; its timeout and other settings are kept.
func limitedClient(client *http.Client, max int64) *http.Client {
	c := *client
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = limitTransport{base: base, max: max}
	return &c
}

type limitTransport struct {
	base http.RoundTripper
	max  int64
}

// RoundTrip refuses an announced length over the bound at once and cuts an
// unannounced one off where it passes the bound.
func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if res.ContentLength > t.max {
		res.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes, at most %d", errBodyTooLarge, res.ContentLength, t.max)
	}
	res.Body = &limitedBody{ReadCloser: res.Body, left: t.max}
	return res, nil
}

// limitedBody reads at most left more bytes of its body.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// exactly the bound is fine: only a byte past it is refused
		var one [1]byte
		if n, err := b.ReadCloser.Read(one[:]); n == 0 {
			return 0, err // io.EOF: the body ended at the bound
		}
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
