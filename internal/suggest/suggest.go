// Package suggest finds the valid word nearest to a mistyped one, for
// errors that say what was meant.
package suggest

import (
	"strings"

	"github.com/agnivade/levenshtein"
)

// DidYouMean suggests the valid word nearest to word (at most two edits
// away, or one that starts with it), as "; did you mean X?", or nothing.
// On a tie the first of valid wins.
func DidYouMean(word string, valid ...string) string {
	best, bestDist := "", 3
	for _, v := range valid {
		dist := levenshtein.ComputeDistance(word, v)
		if len(word) >= 2 && len(word) < len(v) && strings.HasPrefix(v, word) {
			dist = min(dist, 1)
		}
		if dist < bestDist {
			best, bestDist = v, dist
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}
