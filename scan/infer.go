package scan

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field is one inferred front matter field, in the shape of Outstatic's
// InferredField (packages/outstatic/src/types/content-scan.ts).
type Field struct {
	// Name is the front matter key.
	Name string `json:"name"`
	// Title is the key made readable ("coverImage" → "Cover Image").
	Title string `json:"title"`
	// FieldType is Outstatic's field type: String, Text, Number, Boolean,
	// Date, Image or Array.
	FieldType string `json:"fieldType"`
	// DataType is the stored type: string, number, boolean, date, image or
	// array.
	DataType string `json:"dataType"`
	// Required is true when every document read has the field, not null.
	Required bool `json:"required"`
	// ItemType is "String" for an Array field.
	ItemType string `json:"itemType,omitempty"`
}

// fieldStats gathers what the documents say about one key.
type fieldStats struct {
	name    string
	present int // documents with a non-null value
	kinds   map[string]int
	objects int
}

// kindOf maps a value to an Outstatic field type, looking at the key too:
// an image is a string that names an image file, or a URL under a key that
// says image.
func kindOf(key string, v Value) string {
	switch v.Kind {
	case KindBool:
		return "Boolean"
	case KindNumber:
		return "Number"
	case KindTimestamp:
		return "Date"
	case KindList:
		return "Array"
	case KindString:
		s := strings.TrimSpace(v.Str)
		switch {
		case isImage(key, s):
			return "Image"
		case isDate(s):
			return "Date"
		case strings.Contains(s, "\n") || len(s) > 200:
			return "Text"
		}
		return "String"
	}
	return ""
}

var imageExt = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".avif": true, ".svg": true}

var imageKey = regexp.MustCompile(`(?i)(image|img|cover|thumbnail|thumb|avatar|photo|picture|banner|hero|og)`)

func isImage(key, s string) bool {
	if s == "" || strings.ContainsAny(s, " \n") && !strings.HasPrefix(s, "http") {
		return false
	}
	clean := s
	if i := strings.IndexAny(clean, "?#"); i >= 0 {
		clean = clean[:i]
	}
	if imageExt[strings.ToLower(path.Ext(clean))] {
		return true
	}
	return imageKey.MatchString(key) && (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "/"))
}

// isDate accepts the date forms front matter uses when quoted.
func isDate(s string) bool {
	if len(s) < 10 || len(s) > 35 {
		return false
	}
	for _, layout := range []string{time.RFC3339, time.RFC3339Nano, "2006-01-02", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05 -0700", "2006-01-02T15:04"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// field settles one key's type over all documents: one kind wins outright;
// String with Text is Text; a mix of anything else falls back to String,
// which holds any scalar, with a warning. ok is false for keys that held only
// objects or nulls: Outstatic has no field type for them.
func (f *fieldStats) field(docs int) (fld Field, warning string, ok bool) {
	fld = Field{Name: f.name, Title: humanize(f.name), Required: docs > 0 && f.present == docs}
	var kinds []string
	for k := range f.kinds {
		kinds = append(kinds, k)
	}
	switch {
	case f.objects > 0:
		return fld, "field " + quoteName(f.name) + " holds nested values that Outstatic fields cannot hold; it is left out", false
	case len(kinds) == 0:
		return fld, "", false
	case len(kinds) == 1:
		fld.FieldType = kinds[0]
	case len(kinds) == 2 && f.kinds["String"] > 0 && f.kinds["Text"] > 0:
		fld.FieldType = "Text"
	case len(kinds) == 2 && f.kinds["String"] > 0 && f.kinds["Image"] > 0:
		// An empty or odd value among image paths is still an image field.
		if f.kinds["Image"] >= f.kinds["String"] {
			fld.FieldType = "Image"
		} else {
			fld.FieldType = "String"
		}
	default:
		fld.FieldType = "String"
		warning = "field " + quoteName(f.name) + " has values of different types; it is suggested as text"
	}
	fld.DataType = dataTypes[fld.FieldType]
	if fld.FieldType == "Array" {
		fld.ItemType = "String"
	}
	return fld, warning, true
}

var dataTypes = map[string]string{
	"String": "string", "Text": "string", "Number": "number", "Boolean": "boolean",
	"Date": "date", "Image": "image", "Array": "array",
}

// humanize turns a key or slug into a title: "coverImage", "cover_image" and
// "cover-image" all become "Cover Image".
func humanize(s string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = nil
		}
	}
	prevLower := false
	for _, r := range s {
		switch {
		case r == '_' || r == '-' || r == ' ' || r == '.':
			flush()
			prevLower = false
			continue
		case r >= 'A' && r <= 'Z' && prevLower:
			flush()
		}
		cur = append(cur, r)
		prevLower = r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
	}
	flush()
	for i, w := range words {
		r, n := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToUpper(r)) + w[n:]
	}
	return strings.Join(words, " ")
}

func quoteName(s string) string {
	if len(s) > 40 {
		n := 40
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return strconv.Quote(s)
}
