package scan

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"sort"
	"strings"
)

var slugJunk = regexp.MustCompile(`[^a-z0-9]+`)

func slugify(s string) string {
	return strings.Trim(slugJunk.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// suggest turns folders into collections (two or more documents) and
// singletons (one document with front matter).
func (s *scanner) suggest(folders map[string]*folder) {
	dirs := make([]string, 0, len(folders))
	for d := range folders {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	slugs := map[string]bool{}
	single := map[string]bool{}
	for _, d := range dirs {
		f := folders[d]
		sort.Strings(f.files)
		docs, warns := s.read(f)
		tier, framework := s.classify(d)
		if len(f.files) == 1 || pagesFolder(d, f, folders) {
			// A lone file without front matter is a note, not content.
			for _, di := range docs {
				if di.ok {
					s.singleton(d, di, tier, framework, single)
				}
			}
			continue
		}
		flds, fw := fields(docs)
		warns = append(warns, fw...)
		good := 0
		for _, di := range docs {
			if di.ok {
				good++
			}
		}
		if len(docs) < len(f.files) && s.stopped {
			warns = append(warns, fmt.Sprintf("Only %d of %d documents were read.", len(docs), len(f.files)))
		}
		sg := &Suggestion{
			Path: d, DocCount: len(f.files), Extensions: extensions(f.files),
			SampleFiles: f.files[:min(3, len(f.files))], Fields: flds, Warnings: warns,
			Tier: tier, Framework: framework,
		}
		if sg.Warnings == nil {
			sg.Warnings = []string{}
		}
		share := 0.5
		if len(docs) > 0 {
			share = float64(good) / float64(len(docs))
		}
		sg.Confidence = confidence(tier, share)
		name := path.Base(d)
		if d == "" {
			name = "pages"
		}
		sg.Slug = unique(slugs, slugify(name), d)
		sg.ID, sg.Title = "collection:"+d, humanize(sg.Slug)
		sg.Preselected = sg.Confidence >= 0.6
		s.res.Suggestions = append(s.res.Suggestions, sg)
	}
	sort.SliceStable(s.res.Suggestions, func(i, j int) bool {
		return s.res.Suggestions[i].DocCount > s.res.Suggestions[j].DocCount
	})
}

// singleton suggests one document as a singleton.
func (s *scanner) singleton(dir string, di docInfo, tier int, framework string, taken map[string]bool) {
	flds, warns := fields([]docInfo{di})
	if warns == nil {
		warns = []string{}
	}
	base := path.Base(di.path)
	slug := unique(taken, slugify(strings.TrimSuffix(base, path.Ext(base))), di.path)
	s.res.Singletons = append(s.res.Singletons, &Suggestion{
		ID: "singleton:" + di.path, Title: humanize(slug), Slug: slug, Path: dir, DocCount: 1,
		Extensions: extensions([]string{di.path}), SampleFiles: []string{di.path}, Fields: flds,
		Tier: tier, Framework: framework, Confidence: confidence(tier, 1), Warnings: warns,
	})
}

// maxPages is how many documents a folder above collections may hold and
// still be read as separate pages.
const maxPages = 3

// pagesFolder reports whether d's few documents sit above collections
// (content/about.md beside content/posts/): those are the site's pages, each
// a singleton, not a collection of their own.
func pagesFolder(d string, f *folder, folders map[string]*folder) bool {
	if len(f.files) > maxPages {
		return false
	}
	for k, other := range folders {
		if k != d && len(other.files) >= 2 && (d == "" || strings.HasPrefix(k, d+"/")) {
			return true
		}
	}
	return false
}

func confidence(tier int, share float64) float64 {
	return math.Round(map[int]float64{1: 0.9, 2: 0.75, 3: 0.5}[tier]*share*100) / 100
}

// unique makes slug distinct among taken by prefixing the name of the folder
// above p (the collection's folder, or the singleton's file), then a number.
func unique(taken map[string]bool, slug, p string) string {
	if slug == "" {
		slug = "content"
	}
	if taken[slug] {
		if parent := slugify(path.Base(path.Dir(p))); parent != "" {
			slug = parent + "-" + slug
		}
	}
	base := slug
	for i := 2; taken[slug]; i++ {
		slug = fmt.Sprintf("%s-%d", base, i)
	}
	taken[slug] = true
	return slug
}

// classify recognises the layouts of the frameworks Outstatic users come from.
func (s *scanner) classify(dir string) (tier int, framework string) {
	rel := strings.TrimPrefix(strings.TrimPrefix(dir, s.opt.Root), "/")
	segs := strings.Split(rel, "/")
	has := func(names ...string) bool {
		for _, n := range names {
			if s.rootHas[n] {
				return true
			}
		}
		return false
	}
	switch {
	case strings.HasPrefix(rel, "outstatic/content/"):
		return 1, "legacy"
	case strings.HasPrefix(rel, "src/content/"):
		return 1, "astro"
	case segs[0] == "_posts" || segs[0] == "_drafts" || has("_config.yml") && strings.HasPrefix(segs[0], "_"):
		return 1, "jekyll"
	case segs[0] == "content" && has("hugo.toml", "hugo.yaml", "hugo.json", "config.toml"):
		return 1, "hugo"
	case segs[0] == "pages" && has("theme.config.js", "theme.config.jsx", "theme.config.ts", "theme.config.tsx"):
		return 1, "nextra"
	}
	for _, seg := range segs {
		if conventional[strings.ToLower(strings.TrimPrefix(seg, "_"))] {
			return 2, "convention"
		}
	}
	return 3, ""
}

func extensions(files []string) []string {
	var md, mdx bool
	for _, f := range files {
		if strings.EqualFold(path.Ext(f), ".mdx") {
			mdx = true
		} else {
			md = true
		}
	}
	out := []string{}
	if md {
		out = append(out, "md")
	}
	if mdx {
		out = append(out, "mdx")
	}
	return out
}
