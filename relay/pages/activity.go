package pages

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/relay/audit"
	"github.com/caddy-outstatic/caddy-outstatic/relay/roster"
)

// The Activity page, <project pages>/activity, for the project's owners
// (projects.manage): the project's audit log, newest first,
// activityPageSize events a page, filtered by member and by kind through
// the query (?member=, ?kind=, ?page=), so that it needs no JavaScript. A
// project made at run time shows only what happened since it was made,
// not what an earlier project of its slug left.

// activityPageSize is how many events a page shows.
const activityPageSize = 50

// activityData is the Activity page's.
type activityData struct {
	Events []audit.Event
	Kinds  []audit.Kind
	// The filters, as entered, and the error of one that does not parse.
	Kind, Member string
	Errors       map[string]string
	Total        int
	Page, Pages  int
	Prev, Next   string // the other pages' URLs, "" for none
}

// serveActivity shows the Activity page.
func (p *Pages) serveActivity(q *request) {
	if !p.authorize(q, protocol.PermProjects) {
		return
	}
	v := q.r.URL.Query()
	data := activityData{Kinds: audit.Kinds(), Errors: map[string]string{}, Page: 1,
		Kind: v.Get("kind"), Member: strings.TrimSpace(v.Get("member"))}
	query := audit.Query{Projects: []string{q.project.Slug}, Since: q.project.Created, Limit: activityPageSize}
	if data.Kind != "" {
		if query.Kind = audit.Kind(data.Kind); !audit.ValidKind(query.Kind) {
			data.Errors["kind"] = "There is no such kind of event."
		}
	}
	if data.Member != "" {
		if query.Member = roster.MemberKey(data.Member); query.Member == "" {
			data.Errors["member"] = "Enter a GitHub login or an e-mail address."
		}
	}
	if n, err := strconv.Atoi(v.Get("page")); err == nil && n > 1 {
		data.Page = n
	}
	if len(data.Errors) > 0 {
		p.render(q, http.StatusBadRequest, "activity", data)
		return
	}
	query.Offset = (data.Page - 1) * activityPageSize
	page, err := p.roster.AuditEvents(q.r.Context(), query)
	if err != nil {
		p.log.Error(q.r, "pages: reading the activity", zap.String("project", q.project.Slug), zap.Error(err))
		p.message(q.w, q.r, http.StatusServiceUnavailable, "Unavailable", "The activity cannot be read right now. Try again.")
		return
	}
	data.Events, data.Total = page.Events, page.Total
	data.Pages = max(1, (page.Total+activityPageSize-1)/activityPageSize)
	link := func(n int) string {
		w := url.Values{}
		if data.Kind != "" {
			w.Set("kind", data.Kind)
		}
		if data.Member != "" {
			w.Set("member", data.Member)
		}
		w.Set("page", strconv.Itoa(n))
		return q.base + "/activity?" + w.Encode()
	}
	if data.Page > 1 {
		data.Prev = link(data.Page - 1)
	}
	if data.Page < data.Pages {
		data.Next = link(data.Page + 1)
	}
	p.render(q, http.StatusOK, "activity", data)
}
