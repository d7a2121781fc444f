package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/internal/testclock"
)

func post(title, date, extra string) string {
	return "---\ntitle: \"" + title + "\"\ndate: " + date + "\n" + extra + "---\n\nBody of " + title + ".\n"
}

// blogRepo is a Next.js blog as people really have them.
func blogRepo() MapTree {
	return MapTree{
		"README.md":                     "# My site\n",
		"package.json":                  "{}",
		"content/posts/hello-world.md":  post("Hello World", "2024-01-05", "coverImage: /images/hello.jpg\ntags:\n  - intro\n  - news\nauthor:\n  name: Ada\n  picture: /a.png\ndraft: false\n"),
		"content/posts/second.md":       post("Second", "2024-02-10T09:00:00Z", "coverImage: https://cdn.example.com/x.webp?w=800\ntags: [go]\nauthor:\n  name: Ada\ndraft: true\nexcerpt: |\n  A longer\n  excerpt.\n"),
		"content/posts/third.mdx":       post("Third", "\"2024-03-01\"", "tags: []\nauthor:\n  name: Bob\ndraft: false\nexcerpt: short\n"),
		"content/projects/alpha.md":     "---\ntitle: Alpha\nyear: 2021\nurl: https://alpha.example.com\nfeatured: true\nstack: [go, react]\n---\nAlpha.\n",
		"content/projects/beta.md":      "---\ntitle: Beta\nyear: 2023\nurl: https://beta.example.com\nstack: [rust]\nthumbnail: https://img.example.com/beta\n---\nBeta.\n",
		"content/about.md":              "---\ntitle: About me\nportrait: /me.png\n---\nHi.\n",
		"notes/todo.md":                 "just a note, no front matter\n",
		"node_modules/pkg/README.md":    "---\ntitle: no\n---\n",
		"node_modules/pkg/a.md":         "---\ntitle: no\n---\n",
		".github/ISSUE_TEMPLATE/bug.md": "---\nname: Bug\n---\n",
		"public/images/hello.jpg":       "jpeg",
	}
}

func TestScanBlog(t *testing.T) {
	res, err := Scan(context.Background(), blogRepo(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Truncated || len(res.Warnings) != 0 {
		t.Errorf("truncated %v, warnings %v", res.Truncated, res.Warnings)
	}
	if len(res.Suggestions) != 2 {
		t.Fatalf("suggestions %s", js(res.Suggestions))
	}
	posts, projects := res.Suggestions[0], res.Suggestions[1]
	wantPosts := &Suggestion{
		ID: "collection:content/posts", Title: "Posts", Slug: "posts", Path: "content/posts", DocCount: 3,
		Extensions:  []string{"md", "mdx"},
		SampleFiles: []string{"content/posts/hello-world.md", "content/posts/second.md", "content/posts/third.mdx"},
		Fields: []Field{
			{Name: "title", Title: "Title", FieldType: "String", DataType: "string", Required: true},
			{Name: "date", Title: "Date", FieldType: "Date", DataType: "date", Required: true},
			{Name: "coverImage", Title: "Cover Image", FieldType: "Image", DataType: "image"},
			{Name: "tags", Title: "Tags", FieldType: "Array", DataType: "array", Required: true, ItemType: "String"},
			{Name: "draft", Title: "Draft", FieldType: "Boolean", DataType: "boolean", Required: true},
			{Name: "excerpt", Title: "Excerpt", FieldType: "Text", DataType: "string"},
		},
		Tier: 2, Framework: "convention", Confidence: 0.75, Preselected: true,
		Warnings: []string{`field "author" holds nested values that Outstatic fields cannot hold; it is left out`},
	}
	if !reflect.DeepEqual(posts, wantPosts) {
		t.Errorf("posts:\n got %s\nwant %s", js(posts), js(wantPosts))
	}
	wantProjectFields := []Field{
		{Name: "title", Title: "Title", FieldType: "String", DataType: "string", Required: true},
		{Name: "year", Title: "Year", FieldType: "Number", DataType: "number", Required: true},
		{Name: "url", Title: "Url", FieldType: "String", DataType: "string", Required: true},
		{Name: "featured", Title: "Featured", FieldType: "Boolean", DataType: "boolean"},
		{Name: "stack", Title: "Stack", FieldType: "Array", DataType: "array", Required: true, ItemType: "String"},
		{Name: "thumbnail", Title: "Thumbnail", FieldType: "Image", DataType: "image"},
	}
	if projects.Slug != "projects" || projects.DocCount != 2 || !reflect.DeepEqual(projects.Fields, wantProjectFields) {
		t.Errorf("projects: %s", js(projects))
	}
	if len(res.Singletons) != 1 {
		t.Fatalf("singletons %s", js(res.Singletons))
	}
	about := res.Singletons[0]
	if about.Slug != "about" || about.Title != "About" || about.Path != "content" ||
		!reflect.DeepEqual(about.SampleFiles, []string{"content/about.md"}) ||
		!reflect.DeepEqual(about.Fields, []Field{
			{Name: "title", Title: "Title", FieldType: "String", DataType: "string", Required: true},
			{Name: "portrait", Title: "Portrait", FieldType: "Image", DataType: "image", Required: true},
		}) {
		t.Errorf("about: %s", js(about))
	}
	// README.md and notes/todo.md are seen but are no content; node_modules
	// and .github are never walked.
	if res.Stats != (Stats{MarkdownFiles: 8, ScannedFiles: 7}) {
		t.Errorf("stats %+v", res.Stats)
	}
}

// TestScanReplyShape checks the JSON members the dashboard reads.
func TestScanReplyShape(t *testing.T) {
	res, err := Scan(context.Background(), MapTree{"a/x.md": "---\nt: 1\n---\n", "a/y.md": "no front matter"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	b, _ := json.Marshal(res)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"headSha", "branch", "truncated", "existingOutstatic", "suggestions", "singletons", "warnings", "stats"} {
		if _, ok := m[k]; !ok {
			t.Errorf("reply lacks %q: %s", k, b)
		}
	}
	sg := m["suggestions"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "title", "slug", "path", "docCount", "extensions", "sampleFiles", "fields", "tier", "confidence", "warnings", "preselected"} {
		if _, ok := sg[k]; !ok {
			t.Errorf("suggestion lacks %q: %s", k, b)
		}
	}
	f := sg["fields"].([]any)[0].(map[string]any)
	if !reflect.DeepEqual(f, map[string]any{"name": "t", "title": "T", "fieldType": "Number", "dataType": "number", "required": true}) {
		t.Errorf("field %v", f)
	}
	if sg["confidence"].(float64) != 0.25 || sg["preselected"].(bool) {
		t.Errorf("half the documents without front matter in a tier-3 folder: %s", b)
	}
	if got := sg["warnings"].([]any); len(got) != 1 || !strings.Contains(got[0].(string), "1 of 2 documents") {
		t.Errorf("warnings %v", got)
	}
}

func TestScanFrameworks(t *testing.T) {
	doc := "---\ntitle: x\n---\n"
	tests := []struct {
		name      string
		tree      MapTree
		slug      string
		framework string
		tier      int
		docs      int
	}{
		{"astro", MapTree{"astro.config.mjs": "", "src/content/blog/a.md": doc, "src/content/blog/b.mdx": doc}, "blog", "astro", 1, 2},
		{"jekyll", MapTree{"_config.yml": "", "_posts/2024-01-01-a.md": doc, "_posts/2024-01-02-b.md": doc}, "posts", "jekyll", 1, 2},
		{"hugo-bundles", MapTree{"hugo.toml": "", "content/posts/_index.md": doc, "content/posts/a/index.md": doc, "content/posts/b/index.md": doc, "content/posts/b/pic.png": ""}, "posts", "hugo", 1, 2},
		{"nextra", MapTree{"theme.config.tsx": "", "pages/index.mdx": doc, "pages/guide.mdx": doc}, "pages", "nextra", 1, 2},
		{"legacy", MapTree{"outstatic/content/posts/a.md": doc, "outstatic/content/posts/b.md": doc}, "posts", "legacy", 1, 2},
		{"date-buckets", MapTree{"blog/2023/a.md": doc, "blog/2024/01/b.md": doc, "blog/2024/02/c.md": doc, "blog/c.md": doc}, "blog", "convention", 2, 4},
		{"other", MapTree{"stuff/things/a.md": doc, "stuff/things/b.md": doc}, "things", "", 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Scan(context.Background(), tt.tree, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Suggestions) != 1 {
				t.Fatalf("suggestions %s", js(res.Suggestions))
			}
			s := res.Suggestions[0]
			if s.Slug != tt.slug || s.Framework != tt.framework || s.Tier != tt.tier || s.DocCount != tt.docs {
				t.Errorf("got %s", js(s))
			}
			if (tt.name == "legacy") != (res.ExistingOutstatic != nil) {
				t.Errorf("existingOutstatic %+v", res.ExistingOutstatic)
			}
		})
	}
}

func TestScanPagesBesideCollections(t *testing.T) {
	doc := "---\ntitle: x\n---\n"
	res, err := Scan(context.Background(), MapTree{
		"index.md": doc, "about.md": "---\ntitle: About\nphoto: me.jpg\n---\n", "notes.md": "no front matter",
		"posts/a.md": doc, "posts/b.md": doc,
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Suggestions) != 1 || res.Suggestions[0].Slug != "posts" {
		t.Errorf("suggestions %s", js(res.Suggestions))
	}
	var got []string
	for _, s := range res.Singletons {
		got = append(got, s.Slug+"="+strings.Join(s.SampleFiles, ",")+"/"+fmt.Sprint(len(s.Fields)))
	}
	if want := []string{"about=about.md/2", "index=index.md/1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("singletons %v, want %v", got, want)
	}
}

func TestScanSlugsUnique(t *testing.T) {
	doc := "---\ntitle: x\n---\n"
	res, err := Scan(context.Background(), MapTree{
		"en/blog/a.md": doc, "en/blog/b.md": doc, "fr/blog/a.md": doc, "fr/blog/b.md": doc,
		"en/about.md": doc, "fr/about.md": doc,
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for _, s := range append(res.Suggestions, res.Singletons...) {
		slugs = append(slugs, s.Slug)
	}
	if want := []string{"blog", "fr-blog", "about", "fr-about"}; !reflect.DeepEqual(slugs, want) {
		t.Errorf("slugs %v, want %v", slugs, want)
	}
}

func TestScanRoot(t *testing.T) {
	doc := "---\ntitle: x\n---\n"
	tree := MapTree{"apps/site/posts/a.md": doc, "apps/site/posts/b.md": doc, "apps/other/posts/c.md": doc, "apps/other/posts/d.md": doc}
	res, err := Scan(context.Background(), tree, Options{Root: "/apps/site/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Suggestions) != 1 || res.Suggestions[0].Path != "apps/site/posts" {
		t.Errorf("suggestions %s", js(res.Suggestions))
	}
	if _, err := Scan(context.Background(), tree, Options{Root: "nope"}); err == nil {
		t.Error("a root that cannot be listed is not an error")
	}
}

// slowTree makes every call take a step of a fake clock, to test the
// deadline without sleeping.
type slowTree struct {
	Tree
	clock *testclock.Clock
	step  time.Duration
	calls atomic.Int64
}

func (s *slowTree) List(ctx context.Context, dir string) ([]Entry, error) {
	s.clock.Advance(s.step)
	s.calls.Add(1)
	return s.Tree.List(ctx, dir)
}

func (s *slowTree) Read(ctx context.Context, p string) ([]byte, error) {
	s.clock.Advance(s.step)
	s.calls.Add(1)
	return s.Tree.Read(ctx, p)
}

func bigRepo(folders, perFolder int) MapTree {
	m := MapTree{}
	for f := range folders {
		for d := range perFolder {
			m[fmt.Sprintf("content/c%02d/doc%03d.md", f, d)] = "---\ntitle: T\nn: 1\n---\n"
		}
	}
	return m
}

func TestScanDeadlineAnswersPartially(t *testing.T) {
	// The fake clock starts now: the context's own timer runs on the real
	// clock and must not fire while the test runs.
	start := time.Now()
	clock := testclock.New(start)
	tree := &slowTree{Tree: bigRepo(10, 10), clock: clock, step: time.Second}
	// 30 s allowed, 3 s reserve: at one second a call, about 27 calls.
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(30*time.Second))
	defer cancel()
	res, err := Scan(ctx, tree, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "time limit") {
		t.Fatalf("truncated %v, warnings %v", res.Truncated, res.Warnings)
	}
	if n := tree.calls.Load(); n > 28 {
		t.Errorf("%d calls after the deadline less the reserve", n)
	}
	if len(res.Suggestions) == 0 || res.Suggestions[0].DocCount != 10 || len(res.Suggestions[0].Fields) != 2 {
		t.Errorf("no useful partial answer: %s", js(res.Suggestions))
	}
}

// hangTree never answers a Read until its context ends, and records that
// context's deadline.
type hangTree struct {
	MapTree
	deadlines chan time.Time
}

func (h hangTree) Read(ctx context.Context, p string) ([]byte, error) {
	if d, ok := ctx.Deadline(); ok {
		select {
		case h.deadlines <- d:
		default:
		}
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestScanCutsHangingCalls: a Tree call in flight at the deadline less the
// reserve is cancelled, and the scan answers what it has while the
// caller's context still runs. The reserve is an hour, so that the
// caller's deadline cannot pass before the answer however slow the
// machine, and the hung call's own deadline shows what cut it.
func TestScanCutsHangingCalls(t *testing.T) {
	const reserve = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), reserve+300*time.Millisecond)
	defer cancel()
	caller, _ := ctx.Deadline()
	tree := hangTree{MapTree: bigRepo(2, 3), deadlines: make(chan time.Time, 1)}
	res, err := Scan(ctx, tree, Options{Reserve: reserve})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-tree.deadlines:
		if !d.Equal(caller.Add(-reserve)) {
			t.Errorf("the hung call's deadline is %v, want the caller's less the reserve (%v)", d, caller.Add(-reserve))
		}
	default:
		t.Error("no Tree call was cut: the scan did not meet the hanging Read")
	}
	if !res.Truncated || len(res.Suggestions) != 2 || res.Suggestions[0].DocCount != 3 {
		t.Errorf("partial answer: %s", js(res))
	}
	if ctx.Err() != nil {
		t.Error("the caller's context ran out")
	}
}

func TestScanLimits(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"files", Options{MaxFiles: 5}, "5 files"},
		{"bytes", Options{MaxBytes: 100}, "100 bytes read"},
		{"dirs", Options{MaxDirs: 3}, "3 folders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Scan(context.Background(), bigRepo(5, 5), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Truncated || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], tt.want) {
				t.Fatalf("truncated %v, warnings %v", res.Truncated, res.Warnings)
			}
			if tt.opt.MaxFiles > 0 && res.Stats.ScannedFiles != tt.opt.MaxFiles {
				t.Errorf("read %d files", res.Stats.ScannedFiles)
			}
		})
	}
	// Per folder: 25 by default, however many there are; the count is all.
	res, _ := Scan(context.Background(), bigRepo(1, 60), Options{})
	if res.Truncated || res.Stats.ScannedFiles != 25 || res.Suggestions[0].DocCount != 60 {
		t.Errorf("per-folder cap: %+v %s", res.Stats, js(res.Suggestions))
	}
	// A file the listing says is huge is not read.
	tree := bigRepo(1, 3)
	tree["content/c00/huge.md"] = "---\ntitle: x\n---\n" + strings.Repeat("x", 600<<10)
	res, _ = Scan(context.Background(), tree, Options{})
	if res.Stats.ScannedFiles != 3 || res.Suggestions[0].DocCount != 4 || !strings.Contains(strings.Join(res.Suggestions[0].Warnings, "\n"), "not read") {
		t.Errorf("huge file: %+v %s", res.Stats, js(res.Suggestions))
	}
}

func TestScanCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Scan(ctx, bigRepo(2, 2), Options{})
	if err != nil || !res.Truncated {
		t.Fatalf("res %+v, err %v", res, err)
	}
}

type failTree struct{ MapTree }

func (f failTree) Read(ctx context.Context, p string) ([]byte, error) {
	if strings.HasSuffix(p, "b.md") {
		return nil, errors.New("boom: token ghp_secret")
	}
	return f.MapTree.Read(ctx, p)
}

func TestScanReadErrorsAreWarnings(t *testing.T) {
	doc := "---\ntitle: x\n---\n"
	res, err := Scan(context.Background(), failTree{MapTree{"posts/a.md": doc, "posts/b.md": doc, "posts/c.md": doc}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(res.Suggestions[0].Warnings, "\n")
	if !strings.Contains(w, "posts/b.md could not be read") || strings.Contains(w, "ghp_") {
		t.Errorf("warnings %q", w)
	}
}

func TestHumanize(t *testing.T) {
	for in, want := range map[string]string{
		"coverImage": "Cover Image", "cover_image": "Cover Image", "cover-image": "Cover Image",
		"title": "Title", "publishedAt": "Published At", "seo.title": "Seo Title", "élan": "Élan", "h1Title": "H1 Title",
	} {
		if got := humanize(in); got != want {
			t.Errorf("humanize(%q) = %q, want %q", in, got, want)
		}
	}
}

func js(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// TestPathTreeMatchesMapTree: a scan over the flat path list gives the same
// answer as over the map, reading only documents.
func TestPathTreeMatchesMapTree(t *testing.T) {
	repo := blogRepo()
	files := map[string]int64{}
	for p, body := range repo {
		files[p] = int64(len(body))
	}
	var reads []string
	pt := NewPathTree(files, func(ctx context.Context, p string) ([]byte, error) {
		reads = append(reads, p)
		return repo.Read(ctx, p)
	})
	want, err := Scan(context.Background(), repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Scan(context.Background(), pt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("path tree:\n%s\nmap tree:\n%s", js(got), js(want))
	}
	for _, p := range reads {
		if !strings.HasSuffix(p, ".md") && !strings.HasSuffix(p, ".mdx") {
			t.Errorf("read %s", p)
		}
	}
	if _, err := pt.List(context.Background(), "nope"); err == nil {
		t.Error("listing a missing folder succeeded")
	}
}
