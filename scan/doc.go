// Package scan suggests Outstatic collections and singletons from the
// Markdown already in a repository: the content scan (service endpoint #9,
// POST /outstatic/scan) that the dashboard uses when a site is set up from
// existing content. Its reply has the shape of Outstatic's ContentScanResult
// (packages/outstatic/src/types/content-scan.ts), so the stock dashboard
// reads it unchanged.
//
// The repository is read through Tree, so this package knows nothing of
// GitHub; the relay implements Tree over the GitHub API for the project's
// repository and branch (NewPathTree takes the one-call recursive tree
// listing and a function that fetches a file), and fills in HeadSHA and
// Branch.
//
// Rules:
//
//   - A document is a .md or .mdx file, except repository documents
//     (README, CHANGELOG, LICENSE, CONTRIBUTING, ...) and Hugo's _index.md.
//     Hidden folders, node_modules, vendor and build output are not walked.
//   - A page bundle, an index.md alone in its folder (posts/hello/index.md),
//     is a document of the folder above, and documents in date folders
//     (posts/2024/05/a.md) are documents of the first folder above that is
//     not a year, month or day.
//   - A folder holding two or more documents is a collection, named after
//     the folder ("_posts" gives "posts"). A folder holding exactly one is a
//     singleton, named after the file, provided it has front matter: a lone
//     file without any is a note, not content. A folder with at most three
//     documents that also holds collections below it (content/about.md and
//     content/contact.md beside content/posts/) holds pages: each document
//     with front matter is a singleton.
//   - Fields come from the YAML front matter (a leading --- block). A field is
//     required when every document read has it with a non-null value. Its
//     type: true/false is Boolean; a number is Number; a YAML timestamp or a
//     string in a date format is Date; a string naming an image file, or a URL
//     under a key that says image (cover, thumbnail, avatar...), is Image; a
//     list of scalars is Array of String; a multi-line or long string is Text;
//     other strings are String. Values of mixed types fall back to String with
//     a warning; nested objects have no Outstatic field type and are left out
//     with a warning.
//   - Tier 1 is a layout a framework defines (Astro's src/content, Jekyll's
//     _posts, Hugo's content, Nextra's pages, Outstatic's own
//     outstatic/content), tier 2 a conventional folder name (posts, blog,
//     docs, projects...), tier 3 anything else. Collections of tier 1 or 2
//     whose documents mostly have front matter are preselected.
//
// The scan is bounded (folders listed, files and bytes read, documents read
// per folder) and watches ctx's deadline: the protocol allows 30 seconds, so
// it stops a few seconds early and answers what it has, marked Truncated
// with a warning, rather than time out with nothing.
package scan
