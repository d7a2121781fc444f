package fakegithub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// reply is a GraphQL reply; Data stays raw for the caller's own struct.
type reply struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Type       string         `json:"type"`
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
		Locations  []pos          `json:"locations"`
	} `json:"errors"`
}

// post sends a GraphQL request as graphql-request does (JSON body with
// query, variables and operationName) and decodes the data into out.
func post(t *testing.T, url, token, op, query string, vars map[string]any, out any) reply {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars, "operationName": op})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", op, resp.StatusCode)
	}
	var r reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if out != nil && r.Data != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			t.Fatalf("%s: %v in %s", op, err, r.Data)
		}
	}
	return r
}

func noErrors(t *testing.T, op string, r reply) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("%s: errors %+v", op, r.Errors)
	}
}

// Shapes the dashboard reads.
type (
	blob struct {
		Text      string `json:"text"`
		CommitURL string `json:"commitUrl"`
	}
	fileData struct {
		Repository struct {
			ID     string `json:"id"`
			Object *blob  `json:"object"`
		} `json:"repository"`
	}
	treeData struct {
		Repository struct {
			Object *struct {
				Entries []struct {
					Name, Type, Path string
					Object           *struct {
						Text    *string `json:"text"`
						Oid     string  `json:"oid"`
						Entries []struct{ Path, Type string }
					} `json:"object"`
				} `json:"entries"`
			} `json:"object"`
		} `json:"repository"`
	}
)

func TestDashboardFirstLoad(t *testing.T) {
	s := start(t)
	q := DashboardDocuments()
	tok := s.IssueToken("read:user", "user:email", "repo")
	repo := map[string]any{"owner": "acme", "name": "blog"}
	with := func(k, v string) map[string]any { return map[string]any{"owner": "acme", "name": "blog", k: v} }

	var info struct {
		Repository struct {
			ID               string
			DefaultBranchRef struct {
				Name   string
				Target struct{ Oid string }
			}
		}
	}
	noErrors(t, "GetRepoInfo", post(t, s.GraphQLURL(), tok, "GetRepoInfo", q["GetRepoInfo"], repo, &info))
	if info.Repository.ID == "" || info.Repository.DefaultBranchRef.Name != "main" || len(info.Repository.DefaultBranchRef.Target.Oid) != 40 {
		t.Errorf("GetRepoInfo %+v", info)
	}
	if info.Repository.DefaultBranchRef.Target.Oid != s.Head("") {
		t.Errorf("target oid %s, head %s", info.Repository.DefaultBranchRef.Target.Oid, s.Head(""))
	}

	var cfg, cols, singles fileData
	noErrors(t, "File", post(t, s.GraphQLURL(), tok, "File", q["File"], with("filePath", "main:outstatic/config.json"), &cfg))
	var config map[string]string
	if cfg.Repository.Object == nil || json.Unmarshal([]byte(cfg.Repository.Object.Text), &config) != nil || config["repoMediaPath"] != "public/images/" {
		t.Errorf("config.json %+v", cfg)
	}
	if u := cfg.Repository.Object.CommitURL; !strings.HasPrefix(u, "https://github.com/acme/blog/commit/") {
		t.Errorf("commitUrl %q", u)
	}
	noErrors(t, "File", post(t, s.GraphQLURL(), tok, "File", q["File"], with("filePath", "main:outstatic/content/collections.json"), &cols))
	var collections []struct{ Title, Slug, Path string }
	if cols.Repository.Object == nil || json.Unmarshal([]byte(cols.Repository.Object.Text), &collections) != nil ||
		len(collections) != 1 || collections[0].Slug != "posts" || collections[0].Path != "outstatic/content/posts" {
		t.Errorf("collections.json %+v", cols)
	}
	r := post(t, s.GraphQLURL(), tok, "File", q["File"], with("filePath", "main:outstatic/content/singletons.json"), &singles)
	noErrors(t, "File", r)
	if singles.Repository.Object != nil || !strings.Contains(string(r.Data), `"object":null`) {
		t.Errorf("singletons.json should be object: null, got %s", r.Data)
	}

	var content treeData
	noErrors(t, "Collections", post(t, s.GraphQLURL(), tok, "Collections", q["Collections"], with("contentPath", "main:outstatic/content"), &content))
	if e := content.Repository.Object.Entries; len(e) != 2 || e[0].Name != "collections.json" || e[0].Type != "blob" || e[1].Name != "posts" || e[1].Type != "tree" {
		t.Errorf("Collections %+v", content)
	}
	var none treeData
	noErrors(t, "Documents", post(t, s.GraphQLURL(), tok, "Documents", q["Documents"], with("contentPath", "main:outstatic/content/singletons"), &none))
	if none.Repository.Object != nil {
		t.Errorf("missing folder: %+v", none)
	}
	var posts treeData
	noErrors(t, "Documents", post(t, s.GraphQLURL(), tok, "Documents", q["Documents"], with("contentPath", "main:outstatic/content/posts"), &posts))
	e := posts.Repository.Object.Entries
	if len(e) != 2 || e[0].Name != "hello-world.md" || e[0].Object == nil || e[0].Object.Text == nil ||
		!strings.HasPrefix(*e[0].Object.Text, "---\ntitle: 'Hello World'\nstatus: 'published'") {
		t.Errorf("Documents %+v", posts)
	}

	var ops []string
	for _, c := range s.Queries() {
		ops = append(ops, c.OperationName+" "+fmtVars(c.Variables))
	}
	want := "GetRepoInfo name=blog owner=acme|File filePath=main:outstatic/config.json name=blog owner=acme|" +
		"File filePath=main:outstatic/content/collections.json name=blog owner=acme|File filePath=main:outstatic/content/singletons.json name=blog owner=acme|" +
		"Collections contentPath=main:outstatic/content name=blog owner=acme|Documents contentPath=main:outstatic/content/singletons name=blog owner=acme|" +
		"Documents contentPath=main:outstatic/content/posts name=blog owner=acme"
	if got := strings.Join(ops, "|"); got != want {
		t.Errorf("recorded\n%s\nwant\n%s", got, want)
	}
}

func fmtVars(v map[string]any) string {
	var parts []string
	for _, k := range []string{"branch", "contentPath", "filePath", "first", "name", "owner"} {
		if x, ok := v[k]; ok {
			b, _ := json.Marshal(x)
			parts = append(parts, k+"="+strings.Trim(string(b), `"`))
		}
	}
	return strings.Join(parts, " ")
}

func TestDashboardLaterOperations(t *testing.T) {
	s := start(t)
	q := DashboardDocuments()
	tok := s.IssueToken("repo")
	url := s.URL() + "/api/v3/graphql" // the github.com-style endpoint
	vars := func(kv ...string) map[string]any {
		m := map[string]any{"owner": "acme", "name": "blog"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	var doc struct {
		Repository struct {
			FileMD  *blob `json:"fileMD"`
			FileMDX *blob `json:"fileMDX"`
		}
	}
	noErrors(t, "Document", post(t, url, tok, "Document", q["Document"],
		vars("mdPath", "main:outstatic/content/posts/hello-world.md", "mdxPath", "main:outstatic/content/posts/hello-world.mdx"), &doc))
	if doc.Repository.FileMD == nil || doc.Repository.FileMDX != nil {
		t.Errorf("Document %+v", doc)
	}
	var files treeData
	noErrors(t, "Files", post(t, url, tok, "Files", q["Files"], vars("contentPath", "main:outstatic"), &files))
	if e := files.Repository.Object.Entries; len(e) != 2 || e[0].Path != "outstatic/config.json" || e[1].Path != "outstatic/content" ||
		len(e[1].Object.Entries) != 2 || e[1].Object.Entries[1].Path != "outstatic/content/posts" {
		t.Errorf("Files %+v", files)
	}
	var multi struct {
		Repository map[string]json.RawMessage
	}
	noErrors(t, "GetMultipleFileInformation", post(t, url, tok, "GetMultipleFileInformation", q["GetMultipleFileInformation"],
		map[string]any{"owner": "acme", "name": "blog", "singleton0": "main:outstatic/content/_singletons/about.md"}, &multi))
	if f := string(multi.Repository["folder0"]); !strings.Contains(f, `"path":"outstatic/content/posts/hello-world.md","type":"blob","object":{"oid":"`) ||
		!strings.Contains(f, `"commitUrl":"https://github.com/acme/blog/commit/`) || string(multi.Repository["singleton0"]) != "null" {
		t.Errorf("GetMultipleFileInformation %s", multi.Repository)
	}

	// Create a branch as the dashboard does: Oid, then CreateBranch.
	var oid struct {
		Repository struct {
			ID  string
			Ref struct {
				Target struct {
					History struct{ Nodes []struct{ Oid string } }
				}
			}
		}
	}
	noErrors(t, "Oid", post(t, url, tok, "Oid", q["Oid"], vars("branch", "main"), &oid))
	head := oid.Repository.Ref.Target.History.Nodes[0].Oid
	if head != s.Head("main") {
		t.Errorf("Oid %+v", oid)
	}
	branch := map[string]any{"repositoryId": oid.Repository.ID, "name": "refs/heads/drafts", "oid": head}
	var created struct {
		CreateRef struct{ Ref struct{ Name string } }
	}
	noErrors(t, "CreateBranch", post(t, url, tok, "CreateBranch", q["CreateBranch"], branch, &created))
	if created.CreateRef.Ref.Name != "drafts" {
		t.Errorf("CreateBranch %+v", created)
	}
	// For Pro sessions the dashboard sends other variables (branchName, and
	// name = the repository): GitHub itself would take "blog" as the ref.
	r := post(t, url, tok, "CreateBranch", q["CreateBranch"], map[string]any{"repositoryId": oid.Repository.ID,
		"branchName": "refs/heads/x", "oid": head, "owner": "acme", "name": "blog"}, nil)
	if len(r.Errors) != 1 || r.Errors[0].Type != "UNPROCESSABLE" || !strings.Contains(string(r.Data), `"createRef":null`) {
		t.Errorf("Pro variables: %+v %s", r.Errors, r.Data)
	}
	r = post(t, url, tok, "CreateBranch", q["CreateBranch"], map[string]any{"repositoryId": oid.Repository.ID, "oid": head}, nil)
	if len(r.Errors) != 1 || r.Errors[0].Message != "Variable $name of type String! was provided invalid value" || r.Data != nil {
		t.Errorf("missing $name: %+v", r)
	}
	var branches struct {
		Repository struct {
			Refs struct{ Nodes []struct{ Name string } }
		}
	}
	noErrors(t, "GetBranches", post(t, url, tok, "GetBranches", q["GetBranches"], map[string]any{"owner": "acme", "name": "blog", "first": 10, "query": ""}, &branches))
	if n := branches.Repository.Refs.Nodes; len(n) != 2 || n[0].Name != "drafts" || n[1].Name != "main" {
		t.Errorf("GetBranches %+v", branches)
	}

	// Save a post on the new branch, then read it back.
	input := map[string]any{
		"branch":          map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "drafts"},
		"message":         map[string]any{"headline": "create document third [outstatic:content]"},
		"fileChanges":     map[string]any{"additions": []any{map[string]any{"path": "outstatic/content/posts/third.md", "contents": base64.StdEncoding.EncodeToString([]byte("---\ntitle: 'Third'\n---\n"))}}},
		"expectedHeadOid": head,
	}
	var commit struct {
		CreateCommitOnBranch struct{ Commit struct{ Oid string } }
	}
	noErrors(t, "createCommit", post(t, url, tok, "createCommit", q["createCommit"], map[string]any{"input": input}, &commit))
	if got := commit.CreateCommitOnBranch.Commit.Oid; got == head || got != s.Head("drafts") || s.Head("main") != head {
		t.Errorf("createCommit %+v", commit)
	}
	if text, ok := s.File("drafts", "outstatic/content/posts/third.md"); !ok || !strings.HasPrefix(text, "---\ntitle: 'Third'") {
		t.Errorf("saved file %q %v", text, ok)
	}
	r = post(t, url, tok, "createCommit", q["createCommit"], map[string]any{"input": input}, nil)
	if len(r.Errors) != 1 || r.Errors[0].Type != "STALE_DATA" || !strings.Contains(string(r.Data), `"createCommitOnBranch":null`) {
		t.Errorf("stale commit: %+v %s", r.Errors, r.Data)
	}
}

func TestGraphQLErrors(t *testing.T) {
	s := start(t)
	q := DashboardDocuments()
	full, narrow := s.IssueToken("repo"), s.IssueToken("read:user", "user:email")
	repo := map[string]any{"owner": "acme", "name": "blog"}
	check := func(name string, r reply, typ, msg string, data bool) {
		t.Helper()
		if len(r.Errors) == 0 || r.Errors[0].Type != typ || !strings.Contains(r.Errors[0].Message, msg) || (r.Data != nil) != data {
			t.Errorf("%s: %+v data=%s", name, r.Errors, r.Data)
		}
	}
	check("unknown repo", post(t, s.GraphQLURL(), full, "GetRepoInfo", q["GetRepoInfo"], map[string]any{"owner": "acme", "name": "nope"}, nil),
		"NOT_FOUND", "Could not resolve to a Repository with the name 'acme/nope'.", true)
	check("private repo, no repo scope", post(t, s.GraphQLURL(), narrow, "GetRepoInfo", q["GetRepoInfo"], repo, nil),
		"NOT_FOUND", "Could not resolve to a Repository", true)
	check("unknown field", post(t, s.GraphQLURL(), full, "", "query { repository(owner:\"acme\", name:\"blog\") { nope } }", nil, nil), // GitHub refuses: no field nope
		"", "Field 'nope' doesn't exist on type 'Repository'", false)
	check("unknown operation", post(t, s.GraphQLURL(), full, "Other", q["File"], repo, nil), "", `No operation named "Other"`, false)
	check("parse error", post(t, s.GraphQLURL(), full, "", "query {", nil, nil), "", "Unexpected end of document", false)
	check("empty document", post(t, s.GraphQLURL(), full, "", "# nothing", nil, nil), "", "Unexpected end of document", false)
	r := post(t, s.GraphQLURL(), full, "", "query {\n  repository(owner: ) { id } }", nil, nil)
	check("parse error inside", r, "", "Parse error", false)
	if len(r.Errors) != 1 || len(r.Errors[0].Locations) != 1 || r.Errors[0].Locations[0].Line != 2 {
		t.Errorf("parse error location: %+v", r.Errors)
	}
	// block strings and escapes are read as GraphQL reads them
	var info struct{ Repository struct{ Name string } }
	noErrors(t, "block", post(t, s.GraphQLURL(), full, "", "query { repository(owner: \"\"\"\n    acme\n  \"\"\", name: \"\\u0062log\") { name } }", nil, &info))
	if info.Repository.Name != "blog" {
		t.Errorf("block string and escape: %+v", info)
	}
	check("missing variable", post(t, s.GraphQLURL(), full, "File", q["File"], repo, nil), "", "Variable $filePath of type String! was provided invalid value", false)
	commit := map[string]any{"branch": map[string]any{"repositoryNameWithOwner": "acme/blog", "branchName": "main"},
		"message": map[string]any{"headline": "x"}, "expectedHeadOid": s.Head("")}
	check("mutation without scope", post(t, s.GraphQLURL(), narrow, "createCommit", q["createCommit"], map[string]any{"input": commit}, nil),
		"INSUFFICIENT_SCOPES", "The 'createCommitOnBranch' field requires one of the following scopes: ['repo']", false)

	// No operationName: the name is read from the document for the log.
	var v struct{ Viewer struct{ Login, Name string } }
	noErrors(t, "Me", post(t, s.GraphQLURL(), full, "", "query Me { viewer { login name } }", nil, &v))
	if v.Viewer.Login != "acme" || s.Queries()[len(s.Queries())-1].OperationName != "Me" {
		t.Errorf("viewer %+v", v)
	}

	for _, tc := range []struct{ auth, msg string }{{"", "requires you to be authenticated"}, {"Bearer gho_bad", "Bad credentials"}} {
		req, _ := http.NewRequest(http.MethodPost, s.GraphQLURL(), strings.NewReader(`{"query":"{ viewer { login } }"}`))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Message string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body.Message, tc.msg) {
			t.Errorf("auth %q: %d %+v", tc.auth, resp.StatusCode, body)
		}
	}
}
