package verdict

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"go.uber.org/zap"
)

// maxBody bounds what is read of the service's answer: a project is a few
// hundred bytes, and a broken or hostile upstream must not fill memory.
const maxBody = 1 << 20

// userAgent names the plugin to the service.
const userAgent = "caddy-outstatic"

// result is what one check found.
type result struct {
	state    State // Valid, Invalid, or Unknown for any failure
	project  Project
	body     []byte
	status   int   // the HTTP status, 0 if none arrived
	err      error // why a check failed; never contains the key
	canceled bool  // aborted by Close, not a failure of the service
}

// fetch asks the service about key, within Timeout. Only a 200 carrying a
// project makes a key Valid, and only 401 or 403 make it Invalid; anything
// else is a failure, which says nothing about the key.
func (c *Cache) fetch(key string) result {
	ctx, cancel := context.WithTimeout(c.base, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint, nil)
	if err != nil {
		return result{err: fmt.Errorf("building key check: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)

	resp, err := c.client.Do(req)
	if err != nil {
		// The error names the URL and the cause; the key is only in a
		// header, and header errors do not quote values.
		return result{err: err, canceled: c.base.Err() != nil}
	}
	defer resp.Body.Close()

	switch resp.StatusCode {
	case http.StatusOK:
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		if err != nil {
			return result{status: resp.StatusCode, err: fmt.Errorf("reading project: %w", err), canceled: c.base.Err() != nil}
		}
		if len(body) > maxBody {
			return result{status: resp.StatusCode, err: errors.New("project answer larger than 1 MiB")}
		}
		p, err := parseProject(body)
		if err != nil {
			return result{status: resp.StatusCode, err: err}
		}
		if err := p.readExtension(body); err != nil {
			c.log.Warn("the key check's callback_origins or plan is not this plugin's extension; ignored", zap.Error(err))
		}
		return result{state: Valid, project: p, body: body, status: resp.StatusCode}
	case http.StatusUnauthorized, http.StatusForbidden:
		drain(resp.Body)
		return result{state: Invalid, status: resp.StatusCode}
	default:
		drain(resp.Body)
		return result{status: resp.StatusCode, err: fmt.Errorf("unexpected status %d", resp.StatusCode)}
	}
}

// parseProject accepts a body only if it is the service's project object:
// a 200 from a captive portal, a misrouted proxy or a half-deployed service
// must not make a key Valid.
func parseProject(body []byte) (Project, error) {
	var p Project
	if err := json.Unmarshal(body, &p); err != nil {
		return Project{}, fmt.Errorf("decoding project: %w", err)
	}
	if p.ProjectID == "" {
		return Project{}, errors.New("project answer has no project_id")
	}
	return p, nil
}

// extension is the part of the key check's answer that a native relay of
// this plugin adds (docs/protocol-extensions.md).
type extension struct {
	CallbackOrigins *[]string `json:"callback_origins"`
	Plan            *string   `json:"plan"`
}

// readExtension sets p's extension fields from body, the answer p was
// parsed from. A body whose fields of these names have other types leaves
// them unset and says why: the project itself is good.
func (p *Project) readExtension(body []byte) error {
	var ext extension
	if err := json.Unmarshal(body, &ext); err != nil {
		return fmt.Errorf("decoding the extension: %w", err)
	}
	if ext.CallbackOrigins != nil {
		p.CallbackOrigins, p.HasCallbackOrigins = *ext.CallbackOrigins, true
	}
	if ext.Plan != nil {
		p.Plan = *ext.Plan
	}
	return nil
}

// drain reads a little of an unwanted body so the connection can be reused.
func drain(r io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 4<<10))
}
