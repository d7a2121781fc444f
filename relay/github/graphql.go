package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// GraphQL sends one GraphQL request to GitHub with token and returns
// GitHub's answer as it is, for the caller to pass on. An error means
// GitHub did not answer.
func (c *Client) GraphQL(ctx context.Context, token string, body []byte) (*http.Response, error) {
	req, err := request(ctx, http.MethodPost, c.app.GraphQLURL, token, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Op: "graphql", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, &Error{Op: "graphql", Err: err}
	}
	return res, nil
}

// query asks GitHub one of the relay's own GraphQL documents and decodes
// its data into out, reading at most max bytes.
func (c *Client) query(ctx context.Context, token, op, document string, vars map[string]string, max int64, out any) error {
	body, err := json.Marshal(map[string]any{"query": document, "variables": vars, "operationName": op})
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	res, err := c.GraphQL(ctx, token, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return &Error{Op: op, Status: res.StatusCode}
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, max)).Decode(&struct {
		Data any `json:"data"`
	}{out}); err != nil {
		return &Error{Op: op, Status: res.StatusCode, Err: err}
	}
	return nil
}

// The relay's own GraphQL documents; they validate against GitHub's
// schema (the package's tests check it).
const (
	// RepositoryIDQuery asks for the node ID of a repository.
	RepositoryIDQuery = `query RepositoryID($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id } }`
	// RepositoryFileQuery reads one file of a repository at a revision.
	RepositoryFileQuery = `query RepositoryFile($owner: String!, $name: String!, $expression: String!) {
  repository(owner: $owner, name: $name) { object(expression: $expression) { ... on Blob { text byteSize isBinary isTruncated } } } }`
)

// ErrRepositoryHidden: GitHub does not show the repository to the token.
var ErrRepositoryHidden = errors.New("github does not show the project's repository to this member")

// RepositoryID is the node ID of owner/name, as the token sees it.
func (c *Client) RepositoryID(ctx context.Context, token, owner, name string) (string, error) {
	var out struct {
		Repository *struct {
			ID string `json:"id"`
		} `json:"repository"`
	}
	if err := c.query(ctx, token, "RepositoryID", RepositoryIDQuery, map[string]string{"owner": owner, "name": name}, 1<<20, &out); err != nil {
		return "", err
	}
	if out.Repository == nil || out.Repository.ID == "" {
		return "", ErrRepositoryHidden
	}
	return out.Repository.ID, nil
}

// Errors of RepositoryFile, besides an *Error.
var (
	errNoFile    = errors.New("no such file")
	errFileLarge = errors.New("too large or binary")
)

// RepositoryFile reads the text file expression names (<rev>:<path>) in
// owner/name, of at most max bytes.
func (c *Client) RepositoryFile(ctx context.Context, token, owner, name, expression string, max int) ([]byte, error) {
	var out struct {
		Repository *struct {
			Object *struct {
				Text        *string
				ByteSize    int
				IsBinary    bool
				IsTruncated bool
			}
		}
	}
	vars := map[string]string{"owner": owner, "name": name, "expression": expression}
	if err := c.query(ctx, token, "RepositoryFile", RepositoryFileQuery, vars, 4*int64(max), &out); err != nil {
		return nil, err
	}
	r := out.Repository
	switch {
	case r == nil || r.Object == nil || r.Object.Text == nil:
		return nil, errNoFile
	case r.Object.IsBinary || r.Object.IsTruncated || r.Object.ByteSize > max || len(*r.Object.Text) > max:
		return nil, errFileLarge
	}
	return []byte(*r.Object.Text), nil
}
