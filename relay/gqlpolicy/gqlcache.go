package gqlpolicy

import (
	"bytes"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/caddy-outstatic/caddy-outstatic/relay/gqlpolicy/ghschema"
)

// What Check learns from a query text alone, kept for the texts the
// dashboard sends again and again with other variables.
//
// Everything here depends only on the query text and the operationName:
// whether the text parses, its one operation, its bounded shape, its
// validation against GitHub's schema, its lone list values spelled as
// lists (spellLists) and the document printed from that tree. The schema
// is compiled into the binary (package ghschema) and never changes while
// it runs, so nothing here is ever stale and nothing needs invalidating.
// What depends on the variables, the project's repository or the member
// (coercion, the walk against gqlServed, Authorize) runs on every call.
//
// A kept document is shared by every request that sends its text, so
// nothing writes to it once it is kept: the validator annotates it and
// spellLists rewrites it before it is kept, and the walk after that only
// reads it (literals never writes to the tree).

// Bounds of the kept documents. The dashboard sends about a dozen texts,
// the largest about a kilobyte (GetMultipleFileInformation, which grows
// by a line per singleton); a text over gqlCacheMaxQuery is checked
// without being kept. gqlCacheMaxBytes bounds the kept query texts and
// their printed forms together (the parsed trees are a small multiple of
// that), so a flood of distinct texts cannot grow memory without bound.
const (
	gqlCacheMaxEntries = 256
	gqlCacheMaxQuery   = 16 << 10
	gqlCacheMaxBytes   = 1 << 20
)

// prepared is what a query text and operationName come to before any
// variable is read: a refusal (err, with the operation's name as far as
// it is known), or the validated document's one operation (its fragments
// reached through it) and the query to forward. It is never written once
// made.
type prepared struct {
	opName  string
	err     error
	op      *ast.OperationDefinition
	printed string
}

// size is what a kept entry counts against gqlCacheMaxBytes.
func (p *prepared) size(k preparedKey) int {
	return len(k.query) + len(k.operationName) + len(p.printed)
}

// preparedKey names a prepared document: the exact query text (after
// adaptCreateBranch) and operationName.
type preparedKey struct{ query, operationName string }

// prepare checks what depends on the query text alone, in the order Check
// has always refused in: parse, operation, shape, validation.
func prepare(k preparedKey) *prepared {
	doc, perr := parser.ParseQueryWithTokenLimit(&ast.Source{Input: k.query}, gqlMaxTokens)
	if perr != nil {
		return &prepared{err: refuse("does not parse")}
	}
	p := &prepared{}
	op, err := operation(doc, k.operationName)
	if op != nil {
		p.opName = op.Name
	}
	if err != nil {
		p.err = err
		return p
	}
	if err := boundShape(doc); err != nil {
		p.err = err
		return p
	}
	schema := ghschema.Schema()
	if errs := validator.ValidateWithRules(schema, doc, nil); len(errs) > 0 {
		p.err = refuse("does not validate against github's schema (%s)", errs[0].Rule)
		return p
	}
	spellLists(schema, doc)
	var printed bytes.Buffer
	formatter.NewFormatter(&printed, formatter.WithIndent("  ")).FormatQueryDocument(doc)
	p.op, p.printed = op, printed.String()
	return p
}

// preparedCache keeps prepared documents, bounded by gqlCacheMaxEntries
// and gqlCacheMaxBytes. When full it drops an arbitrary entry (the one Go's
// randomized map iteration meets first) rather than the least recently
// used: a hit then only reads, under a shared lock, where LRU would write
// on every hit; and a flood of distinct texts costs the dashboard's texts
// no more than one first sight each, whatever the order it comes in. A nil
// *preparedCache keeps nothing.
type preparedCache struct {
	mu      sync.RWMutex
	entries map[preparedKey]*prepared
	bytes   int
}

// documents is the cache Check uses.
var documents = &preparedCache{}

// get returns k prepared, from the cache if it holds it.
func (c *preparedCache) get(k preparedKey) *prepared {
	if c == nil || len(k.query)+len(k.operationName) > gqlCacheMaxQuery {
		return prepare(k)
	}
	c.mu.RLock()
	p, ok := c.entries[k]
	c.mu.RUnlock()
	if ok {
		return p
	}
	p = prepare(k)
	c.put(k, p)
	return p
}

// put keeps p under k, dropping entries until it fits.
func (c *preparedCache) put(k preparedKey, p *prepared) {
	size := p.size(k)
	if size > gqlCacheMaxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[preparedKey]*prepared{}
	}
	if old, ok := c.entries[k]; ok { // another request prepared it too
		c.bytes -= old.size(k)
		delete(c.entries, k)
	}
	for victim, old := range c.entries {
		if len(c.entries) < gqlCacheMaxEntries && c.bytes+size <= gqlCacheMaxBytes {
			break
		}
		c.bytes -= old.size(victim)
		delete(c.entries, victim)
	}
	c.entries[k] = p
	c.bytes += size
}

// len reports how many entries and bytes the cache holds.
func (c *preparedCache) len() (entries, bytes int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries), c.bytes
}
