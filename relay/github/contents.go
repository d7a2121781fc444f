package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// A repository's files: its tree in one listing, and one file's bytes.

// contentsPath is the contents API's path of a file, its segments
// escaped, at ref. owner and repo are the project's own spelling.
func contentsPath(owner, repo string, segments []string, ref string) string {
	escaped := make([]string, len(segments))
	for i, s := range segments {
		escaped[i] = url.PathEscape(s)
	}
	return "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + "/contents/" +
		strings.Join(escaped, "/") + "?ref=" + url.QueryEscape(ref)
}

// Media asks the contents API for a raw file (method GET or HEAD) and
// returns GitHub's answer as it is, to stream on. The headers must arrive
// within headerTimeout (cancel then ends the request); ctx bounds the
// whole transfer. The client's own timeout is not used: it would cut a
// large file that is still arriving.
func (c *Client) Media(ctx context.Context, cancel context.CancelFunc, method, token, owner, repo, ref string, segments []string, headerTimeout time.Duration) (*http.Response, error) {
	client := *c.http
	client.Timeout = 0
	timer := time.AfterFunc(headerTimeout, cancel)
	res, err := c.rest(ctx, &client, method, contentsPath(owner, repo, segments, ref), token, "application/vnd.github.raw")
	if !timer.Stop() && err == nil {
		res.Body.Close()
		return nil, &Error{Op: method + " contents", Err: errors.New("no response headers in time")}
	}
	return res, err
}

// File reads one file's bytes at ref (the contents API, raw), of at most
// limit bytes.
func (c *Client) File(ctx context.Context, token, owner, repo, ref, path string, limit int64) ([]byte, error) {
	res, err := c.rest(ctx, c.http, http.MethodGet, contentsPath(owner, repo, strings.Split(path, "/"), ref), token, "application/vnd.github.raw")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	op := "contents " + path
	if res.StatusCode != http.StatusOK {
		return nil, &Error{Op: op, Status: res.StatusCode}
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("over %d bytes", limit)
	}
	if err != nil {
		return nil, &Error{Op: op, Status: res.StatusCode, Err: err}
	}
	return b, nil
}

// Tree lists every file of owner/repo at ref, with its size, in one call
// (GET /git/trees/{ref}?recursive=1) of at most max bytes; truncated says
// GitHub listed only part (it cuts at 100,000 entries or 7 MB). A branch
// that is not there is an *Error matching ErrNotFound.
func (c *Client) Tree(ctx context.Context, token, owner, repo, ref string, max int64) (files map[string]int64, truncated bool, err error) {
	path := "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + "/git/trees/" + url.PathEscape(ref) + "?recursive=1"
	var body struct {
		Tree []struct {
			Path string `json:"path"`
			Type string `json:"type"`
			Size int64  `json:"size"`
		} `json:"tree"`
		Truncated bool `json:"truncated"`
	}
	if err := c.getJSON(ctx, path, token, max, &body); err != nil {
		return nil, false, err
	}
	files = make(map[string]int64, len(body.Tree))
	for _, e := range body.Tree {
		if e.Type == "blob" {
			files[e.Path] = e.Size
		}
	}
	return files, body.Truncated, nil
}
