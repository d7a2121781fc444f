package scan

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// Options bound a scan; zero values take the defaults.
type Options struct {
	// Root is the folder to scan, "" for the whole repository (a monorepo
	// project passes its package's path).
	Root string
	// MaxDirs bounds directory listings. Default 400.
	MaxDirs int
	// MaxFiles bounds documents read. Default 400.
	MaxFiles int
	// MaxBytes bounds the bytes read over all documents. Default 8 MiB.
	MaxBytes int64
	// MaxFileBytes skips documents the listing says are larger. Default 512 KiB.
	MaxFileBytes int64
	// MaxDocsPerFolder bounds the documents read per folder: their fields
	// are representative long before a blog's hundredth post. Default 25.
	MaxDocsPerFolder int
	// MaxDepth bounds how deep folders are walked below Root. Default 8.
	MaxDepth int
	// Reserve is how long before ctx's deadline the scan stops, to leave time
	// to answer. Default 3s.
	Reserve time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxDirs, 400)
	def(&o.MaxFiles, 400)
	def(&o.MaxDocsPerFolder, 25)
	def(&o.MaxDepth, 8)
	if o.MaxBytes <= 0 {
		o.MaxBytes = 8 << 20
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 512 << 10
	}
	if o.Reserve <= 0 {
		o.Reserve = 3 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Root = strings.Trim(path.Clean("/"+o.Root), "/")
}

// Result is the scan reply (#9), in the shape of Outstatic's
// ContentScanResult. HeadSHA and Branch are the caller's to fill in.
type Result struct {
	HeadSHA           string        `json:"headSha"`
	Branch            string        `json:"branch"`
	Truncated         bool          `json:"truncated"`
	ExistingOutstatic *Existing     `json:"existingOutstatic"`
	Suggestions       []*Suggestion `json:"suggestions"`
	Singletons        []*Suggestion `json:"singletons"`
	Warnings          []string      `json:"warnings"`
	Stats             Stats         `json:"stats"`
}

// Existing describes Outstatic content already in the repository.
type Existing struct {
	ContentPath          string `json:"contentPath"`
	MatchesProjectConfig bool   `json:"matchesProjectConfig"`
}

// Stats counts what the scan saw.
type Stats struct {
	// MarkdownFiles is how many .md and .mdx files the listings showed.
	MarkdownFiles int `json:"markdownFiles"`
	// ScannedFiles is how many of them were read.
	ScannedFiles int `json:"scannedFiles"`
}

// Suggestion is a proposed collection, or a singleton, in the shape of
// Outstatic's ContentSuggestion.
type Suggestion struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Slug  string `json:"slug"`
	// Path is the folder holding the documents.
	Path string `json:"path"`
	// DocCount is how many documents the folder holds (all of them, read
	// or not).
	DocCount    int      `json:"docCount"`
	Extensions  []string `json:"extensions"`
	SampleFiles []string `json:"sampleFiles"`
	Fields      []Field  `json:"fields"`
	// Tier is 1 for a layout a framework defines, 2 for a conventional
	// folder name, 3 otherwise.
	Tier      int    `json:"tier"`
	Framework string `json:"framework,omitempty"`
	// Confidence, 0 to 1, weighs the tier by how many documents read had
	// usable front matter.
	Confidence  float64  `json:"confidence"`
	Warnings    []string `json:"warnings"`
	Preselected bool     `json:"preselected"`
}

// skipDirs are never content: dependencies, build output, tooling.
var skipDirs = map[string]bool{
	"node_modules": true, "vendor": true, "dist": true, "build": true, "out": true,
	"coverage": true, "target": true, "tmp": true, "temp": true,
}

// skipFiles are repository documents, not site content.
var skipFiles = map[string]bool{
	"readme": true, "changelog": true, "license": true, "licence": true, "contributing": true,
	"code_of_conduct": true, "security": true, "support": true, "authors": true, "_index": true,
}

// conventional folder names for content.
var conventional = map[string]bool{
	"posts": true, "post": true, "blog": true, "articles": true, "news": true, "docs": true,
	"projects": true, "pages": true, "notes": true, "guides": true, "tutorials": true,
	"events": true, "recipes": true, "authors": true, "work": true, "portfolio": true,
	"content": true, "case-studies": true, "changelog": true, "team": true,
}

type folder struct {
	dir   string
	files []string // document paths, sorted
}

type scanner struct {
	ctx context.Context
	// callCtx ends at ctx's deadline less the reserve, so that a Tree call
	// still running then is cut short, not only the calls after it.
	callCtx context.Context
	tree    Tree
	opt     Options
	res     *Result
	dirs    int
	bytes   int64
	stopped bool
	sizes   map[string]int64
	rootHas map[string]bool
}

// Scan walks tree below opt.Root and suggests collections and singletons.
// It answers partially, with Truncated and a warning, when a limit or ctx's
// deadline (less opt.Reserve) is reached; it fails only if Root cannot be
// listed at all.
func Scan(ctx context.Context, tree Tree, opt Options) (*Result, error) {
	opt.defaults()
	s := &scanner{ctx: ctx, tree: tree, opt: opt, sizes: map[string]int64{}, rootHas: map[string]bool{},
		res: &Result{Suggestions: []*Suggestion{}, Singletons: []*Suggestion{}, Warnings: []string{}}}
	s.callCtx = ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		s.callCtx, cancel = context.WithDeadline(ctx, dl.Add(-opt.Reserve))
		defer cancel()
	}
	folders, err := s.walk()
	if err != nil {
		return nil, err
	}
	s.suggest(folders)
	return s.res, nil
}

// stop reports whether the scan must end now, saying why once.
func (s *scanner) stop(limit string) bool {
	if s.stopped {
		return true
	}
	why := limit
	if err := s.callCtx.Err(); err != nil {
		why = "the time limit"
	} else if dl, ok := s.ctx.Deadline(); ok && s.opt.Now().After(dl.Add(-s.opt.Reserve)) {
		why = "the time limit"
	}
	if why == "" {
		return false
	}
	s.stopped = true
	s.res.Truncated = true
	s.res.Warnings = append(s.res.Warnings, "The scan stopped early at "+why+"; the suggestions are based on part of the repository.")
	return true
}

// walk lists folders breadth first and groups documents by folder.
func (s *scanner) walk() (map[string]*folder, error) {
	type item struct {
		dir   string
		depth int
	}
	folders := map[string]*folder{}
	queue := []item{{s.opt.Root, 0}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		limit := ""
		if s.dirs >= s.opt.MaxDirs {
			limit = fmt.Sprintf("%d folders", s.opt.MaxDirs)
		}
		if s.stop(limit) {
			break
		}
		s.dirs++
		entries, err := s.tree.List(s.callCtx, it.dir)
		if err != nil {
			if s.stop("") {
				break
			}
			if it.dir == s.opt.Root {
				return nil, fmt.Errorf("listing the scan root: %w", err)
			}
			s.res.Warnings = append(s.res.Warnings, "Folder "+it.dir+" could not be listed.")
			continue
		}
		var docs []string
		for _, e := range entries {
			if e.Name == "" || strings.ContainsAny(e.Name, "/\\") || e.Name == "." || e.Name == ".." {
				continue
			}
			p := path.Join(it.dir, e.Name)
			if it.dir == s.opt.Root {
				s.rootHas[e.Name] = true
			}
			if e.Dir {
				if strings.HasPrefix(e.Name, ".") || skipDirs[strings.ToLower(e.Name)] || it.depth+1 > s.opt.MaxDepth {
					continue
				}
				if p == "outstatic/content" || strings.HasSuffix(p, "/outstatic/content") {
					s.res.ExistingOutstatic = &Existing{ContentPath: p}
				}
				queue = append(queue, item{p, it.depth + 1})
				continue
			}
			ext := strings.ToLower(path.Ext(e.Name))
			if ext != ".md" && ext != ".mdx" {
				continue
			}
			s.res.Stats.MarkdownFiles++
			if skipFiles[strings.ToLower(strings.TrimSuffix(e.Name, path.Ext(e.Name)))] {
				continue
			}
			s.sizes[p] = e.Size
			docs = append(docs, p)
		}
		if len(docs) == 0 {
			continue
		}
		dir := it.dir
		// A page bundle (posts/hello/index.md, alone in its folder) is a
		// document of the folder above.
		if len(docs) == 1 && dir != s.opt.Root {
			if base := strings.ToLower(path.Base(docs[0])); base == "index.md" || base == "index.mdx" {
				dir = path.Dir(dir)
				if dir == "." {
					dir = ""
				}
			}
		}
		// Date buckets (posts/2024/05/a.md) are one collection with the
		// folder above them, not one collection per year or month.
		for dir != s.opt.Root && dateBucket.MatchString(path.Base(dir)) {
			dir = path.Dir(dir)
			if dir == "." {
				dir = ""
			}
		}
		f := folders[dir]
		if f == nil {
			f = &folder{dir: dir}
			folders[dir] = f
		}
		f.files = append(f.files, docs...)
	}
	return folders, nil
}

// docInfo is what one read document gave.
type docInfo struct {
	path  string
	pairs []Pair
	ok    bool // had usable front matter
}

// read reads up to MaxDocsPerFolder documents of f.
func (s *scanner) read(f *folder) (docs []docInfo, warnings []string) {
	bad := 0
	skipped := 0
	for _, p := range f.files {
		if len(docs) >= s.opt.MaxDocsPerFolder {
			break
		}
		if sz := s.sizes[p]; sz > s.opt.MaxFileBytes {
			skipped++
			continue
		}
		limit := ""
		switch {
		case s.res.Stats.ScannedFiles >= s.opt.MaxFiles:
			limit = fmt.Sprintf("%d files", s.opt.MaxFiles)
		case s.bytes >= s.opt.MaxBytes:
			limit = fmt.Sprintf("%d bytes read", s.opt.MaxBytes)
		}
		if s.stop(limit) {
			break
		}
		body, err := s.tree.Read(s.callCtx, p)
		if err != nil {
			if s.stop("") {
				break
			}
			warnings = append(warnings, "File "+p+" could not be read.")
			continue
		}
		s.res.Stats.ScannedFiles++
		s.bytes += int64(len(body))
		pairs, has, err := ReadFrontMatter(body)
		if err != nil || !has {
			bad++
			if err != nil {
				warnings = append(warnings, "File "+p+": "+err.Error()+".")
			}
			docs = append(docs, docInfo{path: p})
			continue
		}
		docs = append(docs, docInfo{path: p, pairs: pairs, ok: true})
	}
	if bad > 0 {
		warnings = append(warnings, fmt.Sprintf("%d of %d documents read have no usable front matter.", bad, len(docs)))
	}
	if skipped > 0 {
		warnings = append(warnings, fmt.Sprintf("%d documents over %d bytes were not read.", skipped, s.opt.MaxFileBytes))
	}
	return docs, warnings
}

// fields infers the fields of a folder's documents, in first-seen order.
func fields(docs []docInfo) (out []Field, warnings []string) {
	stats := map[string]*fieldStats{}
	var order []string
	n := 0
	for _, d := range docs {
		if !d.ok {
			continue
		}
		n++
		for _, p := range d.pairs {
			st := stats[p.Key]
			if st == nil {
				st = &fieldStats{name: p.Key, kinds: map[string]int{}}
				stats[p.Key] = st
				order = append(order, p.Key)
			}
			switch {
			case p.Value.Kind == KindNull:
			case p.Value.Kind == KindObject:
				st.present++
				st.objects++
			case p.Value.Kind == KindString && strings.TrimSpace(p.Value.Str) == "":
				// An empty string says the field exists, not its type.
				st.present++
			default:
				st.present++
				st.kinds[kindOf(p.Key, p.Value)]++
			}
		}
	}
	out = []Field{}
	for _, k := range order {
		f, w, ok := stats[k].field(n)
		if w != "" {
			warnings = append(warnings, w)
		}
		if ok {
			out = append(out, f)
		} else if len(stats[k].kinds) == 0 && stats[k].objects == 0 {
			// Always empty: offer it as text rather than drop a field the
			// author meant to have.
			f.FieldType, f.DataType, f.Required = "String", "string", false
			out = append(out, f)
		}
	}
	return out, warnings
}

// dateBucket matches a year, month or day folder name.
var dateBucket = regexp.MustCompile(`^(19|20)\d\d$|^\d{1,2}$`)
