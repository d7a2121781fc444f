package login

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestLimitedClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") != "" {
			w.(http.Flusher).Flush() // no Content-Length: the bound is met while reading
		}
		_, _ = io.WriteString(w, strings.Repeat("x", n))
	}))
	defer srv.Close()
	base := srv.Client()
	c := limitedClient(base, 100)
	if c == base || base.Transport == c.Transport {
		t.Fatal("limitedClient changed the client it was given")
	}
	for _, tc := range []struct {
		query string
		ok    bool
	}{
		{"n=100", true}, {"n=100&chunked=1", true}, {"n=0", true},
		{"n=101", false}, {"n=101&chunked=1", false}, {"n=100000&chunked=1", false},
	} {
		res, err := c.Get(srv.URL + "/?" + tc.query)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(res.Body)
			res.Body.Close()
		}
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, errBodyTooLarge) || len(body) > 100 {
			t.Errorf("%s: %d bytes, err %v", tc.query, len(body), err)
		}
	}
}
