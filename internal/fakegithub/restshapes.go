package fakegithub

import (
	"hash/fnv"
	"net/http"
	"strings"
)

// The REST objects the fake answers, with every field GitHub's published
// REST description requires (testdata/github-rest, which the tests check
// the replies against): a client that reads any of them finds it, with
// the type GitHub gives it.

// restCreated is the creation and update time of the fake's users and
// repositories.
const restCreated = "2020-01-01T00:00:00Z"

// simpleUser is GitHub's simple-user for login: what the REST API puts
// wherever it names an account (a repository's owner, /user's head).
func simpleUser(r *http.Request, login string, id int64, avatar string) map[string]any {
	api := "http://" + r.Host + "/api/v3/users/" + login
	return map[string]any{
		"login": login, "id": id, "node_id": userNodeID(User{ID: id}), "avatar_url": avatar, "gravatar_id": "",
		"url": api, "html_url": "http://" + r.Host + "/" + login,
		"followers_url": api + "/followers", "following_url": api + "/following{/other_user}",
		"gists_url": api + "/gists{/gist_id}", "starred_url": api + "/starred{/owner}{/repo}",
		"subscriptions_url": api + "/subscriptions", "organizations_url": api + "/orgs",
		"repos_url": api + "/repos", "events_url": api + "/events{/privacy}",
		"received_events_url": api + "/received_events", "type": "User", "user_view_type": "public",
		"site_admin": false,
	}
}

// restUser is GET /user: GitHub's private-user, the authenticated user's
// own view of their account.
func restUser(r *http.Request, u User) map[string]any {
	out := simpleUser(r, u.Login, u.ID, avatarURL(u))
	for k, v := range map[string]any{
		"user_view_type": "private", "name": nullable(u.Name), "company": nil, "blog": "", "location": nil,
		"email": nullable(u.Email), "notification_email": nullable(u.Email), "hireable": nil, "bio": nil,
		"twitter_username": nil, "public_repos": 1, "public_gists": 0, "followers": 0, "following": 0,
		"created_at": restCreated, "updated_at": restCreated, "private_gists": 0, "total_private_repos": 1,
		"owned_private_repos": 1, "disk_usage": 1, "collaborators": 0, "two_factor_authentication": true,
	} {
		out[k] = v
	}
	return out
}

// accountID is the id of an account the fake knows only by its login
// (a repository's owner that is not the signed-in user): stable, positive.
func accountID(login string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(login)))
	return int64(h.Sum32()>>1) + 1
}

// restRepository is GET /repos/{owner}/{repo}: GitHub's full-repository.
// permissions is nil for a caller without a token.
func restRepository(r *http.Request, g *gitRepo, permissions map[string]bool) map[string]any {
	full := g.Owner + "/" + g.Name
	web := "http://" + r.Host + "/" + full
	api := "http://" + r.Host + "/api/v3/repos/" + full
	out := map[string]any{
		"id": g.databaseID(), "node_id": g.ID, "name": g.Name, "full_name": full, "private": g.Private,
		"owner":    simpleUser(r, g.Owner, accountID(g.Owner), "https://avatars.githubusercontent.com/"+g.Owner),
		"html_url": web, "description": nil, "fork": false, "url": api, "homepage": nil, "language": nil,
		"clone_url": web + ".git", "git_url": "git://" + r.Host + "/" + full + ".git",
		"ssh_url": "git@" + r.Host + ":" + full + ".git", "svn_url": web, "mirror_url": nil,
		"default_branch": g.DefaultBranch, "visibility": map[bool]string{true: "private", false: "public"}[g.Private],
		"forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0, "watchers_count": 0,
		"open_issues": 0, "open_issues_count": 0, "network_count": 0, "subscribers_count": 1, "size": 1,
		"has_issues": true, "has_downloads": true, "has_projects": true, "has_wiki": true, "has_pages": false, "has_discussions": false,
		"archived": false, "disabled": false, "license": nil, "topics": []string{},
		"pushed_at": restCreated, "created_at": restCreated, "updated_at": restCreated,
	}
	for field, path := range map[string]string{
		"archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
		"blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
		"collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
		"commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
		"contents_url": "/contents/{+path}", "contributors_url": "/contributors",
		"deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
		"forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
		"git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}",
		"issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}",
		"labels_url": "/labels{/name}", "languages_url": "/languages", "merges_url": "/merges",
		"milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
		"pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}", "stargazers_url": "/stargazers",
		"statuses_url": "/statuses/{sha}", "subscribers_url": "/subscribers", "subscription_url": "/subscription",
		"tags_url": "/tags", "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
	} {
		out[field] = api + path
	}
	if permissions != nil {
		out["permissions"] = permissions
	}
	return out
}
