package scan

import (
	"reflect"
	"strings"
	"testing"
)

func TestReadFrontMatter(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    []Pair
		ok      bool
		wantErr string
	}{
		{"none", "# Title\n", nil, false, ""},
		{"empty file", "", nil, false, ""},
		{"thematic break later", "text\n---\na: 1\n---\n", nil, false, ""},
		{"empty", "---\n---\nbody", nil, true, ""},
		{"kinds", "---\ns: hi\nn: 3\nf: 1.5\nb: true\nd: 2024-01-02\nq: \"2024-01-02\"\nl: [a, b]\no: {x: 1}\nlo: [{x: 1}]\nz: null\nt: ~\n---\n", []Pair{
			{"s", Value{KindString, "hi"}}, {"n", Value{Kind: KindNumber}}, {"f", Value{Kind: KindNumber}},
			{"b", Value{Kind: KindBool}}, {"d", Value{KindTimestamp, "2024-01-02"}}, {"q", Value{KindString, "2024-01-02"}},
			{"l", Value{Kind: KindList}}, {"o", Value{Kind: KindObject}}, {"lo", Value{Kind: KindObject}},
			{"z", Value{Kind: KindNull}}, {"t", Value{Kind: KindNull}},
		}, true, ""},
		{"crlf and bom", "\ufeff---\r\ntitle: Hi\r\n---\r\nbody", []Pair{{"title", Value{KindString, "Hi"}}}, true, ""},
		{"dots close", "---\ntitle: Hi\n...\nbody", []Pair{{"title", Value{KindString, "Hi"}}}, true, ""},
		{"aliases", "---\nbase: &b hello\ncopy: *b\n---\n", []Pair{{"base", Value{KindString, "hello"}}, {"copy", Value{KindString, "hello"}}}, true, ""},
		// yaml.v3 does not refuse repeated keys in a node tree; the first
		// names the field and its type.
		{"duplicate keys", "---\na: 1\na: x\n---\n", []Pair{{"a", Value{Kind: KindNumber}}}, true, ""},
		{"unclosed", "---\ntitle: Hi\nbody\n", nil, true, "not closed"},
		{"not a mapping", "---\n- a\n- b\n---\n", nil, true, "not a YAML mapping"},
		{"scalar", "---\nhello\n---\n", nil, true, "not a YAML mapping"},
		{"bad yaml", "---\ntitle: [unclosed\n---\n", nil, true, "not valid YAML"},
		{"too large", "---\n" + strings.Repeat("a: b\n", MaxFrontMatterBytes/5+10) + "---\n", nil, true, "over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ReadFrontMatter([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v, %v; want %+v, %v", got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	for _, tt := range []struct {
		key  string
		v    Value
		want string
	}{
		{"coverImage", Value{KindString, "/images/a.JPG"}, "Image"},
		{"x", Value{KindString, "a.png"}, "Image"},
		{"cover", Value{KindString, "https://cdn.example.com/abc"}, "Image"},
		{"url", Value{KindString, "https://example.com/abc"}, "String"},
		{"published", Value{KindString, "2024-01-02T10:00:00+02:00"}, "Date"},
		{"title", Value{KindString, "2024 in review"}, "String"},
		{"body", Value{KindString, "line\nline"}, "Text"},
		{"body", Value{KindString, strings.Repeat("w ", 101)}, "Text"},
	} {
		if got := kindOf(tt.key, tt.v); got != tt.want {
			t.Errorf("kindOf(%q, %q) = %s, want %s", tt.key, tt.v.Str, got, tt.want)
		}
	}
}

func TestFieldsMixedTypes(t *testing.T) {
	docs := []docInfo{
		{ok: true, pairs: []Pair{{"v", Value{Kind: KindNumber}}, {"e", Value{KindString, ""}}}},
		{ok: true, pairs: []Pair{{"v", Value{KindString, "three"}}, {"e", Value{Kind: KindNull}}}},
	}
	got, warns := fields(docs)
	want := []Field{
		{Name: "v", Title: "V", FieldType: "String", DataType: "string", Required: true},
		{Name: "e", Title: "E", FieldType: "String", DataType: "string"},
	}
	if !reflect.DeepEqual(got, want) || len(warns) != 1 || !strings.Contains(warns[0], "different types") {
		t.Errorf("got %+v %v", got, warns)
	}
}

func FuzzReadFrontMatter(f *testing.F) {
	for _, s := range []string{
		"---\ntitle: Hi\ndate: 2024-01-02\ntags: [a]\n---\nbody",
		"---\r\na: &x [1, *x]\r\n---\r\n",
		"---\n<<: {a: 1}\n? [a]\n: b\n---\n",
		"---\na: !!binary aGk=\n---\n",
		"\ufeff---\n...\n",
		"---\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		pairs, ok, err := ReadFrontMatter(doc)
		if !ok && (err != nil || pairs != nil) {
			t.Fatalf("no front matter but %v, %v", pairs, err)
		}
		seen := map[string]bool{}
		for _, p := range pairs {
			if p.Key == "" || seen[p.Key] {
				t.Fatalf("key %q empty or repeated", p.Key)
			}
			seen[p.Key] = true
			_ = kindOf(p.Key, p.Value)
		}
		// Whatever was read, inference copes with it.
		_, _ = fields([]docInfo{{pairs: pairs, ok: ok && err == nil}})
	})
}
