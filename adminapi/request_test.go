package adminapi

import (
	"strings"
	"testing"
)

// A request body is read as written, or refused: every key exactly a
// field's name, once, one object and nothing after it, and the error
// names the key at fault but never a value.
func TestReadRequest(t *testing.T) {
	var in MemberRequest
	if err := ReadRequest(strings.NewReader(` {"who":"ada","role":"editor","by":"cli:me@host"} `), &in); err != nil ||
		in != (MemberRequest{Who: "ada", Role: "editor", By: "cli:me@host"}) {
		t.Fatalf("a good body: %+v, %v", in, err)
	}
	var p ProjectRequest
	if err := ReadRequest(strings.NewReader(`{"slug":"blog","repo":"acme/blog","origins":["https://blog.example.com/outstatic"]}`), &p); err != nil ||
		p.Slug != "blog" || len(p.Origins) != 1 {
		t.Fatalf("a project: %+v, %v", p, err)
	}
	for _, try := range []struct{ body, says string }{
		{`{"who":"zed","role":"author","role":"owner"}`, `field "role" given twice`},
		{`{"who":"zed","Role":"owner"}`, `unknown field "Role"`},
		{`{"who":"zed","ROLE":"owner"}`, `unknown field "ROLE"`},
		{`{"who":"zed","rol\u212ae":"owner"}`, `unknown field`},
		{`{"who":"zed","admin":true}`, `unknown field "admin"`},
		{`{"who":"zed","role":"author"}{"role":"owner"}`, "more than one JSON value"},
		{`{"who":"zed","role":"author"} x`, "more than one JSON value"},
		{`{"who":"zed","role":7}`, "role"},
		{`{"who":["zed"]}`, "who"},
		{`["zed"]`, "not a JSON object"},
		{`{"who":"zed",`, "not a JSON object"},
		{``, "not a JSON object"},
		{`{"who":"` + strings.Repeat("a", MaxRequest) + `"}`, "over"},
	} {
		var in MemberRequest
		err := ReadRequest(strings.NewReader(try.body), &in)
		if err == nil || !strings.Contains(err.Error(), try.says) {
			t.Errorf("%.60s: %v, want an error saying %q", try.body, err, try.says)
			continue
		}
		if strings.Contains(err.Error(), "owner") || strings.Contains(err.Error(), "zed") {
			t.Errorf("%.60s: the error %q echoes a value", try.body, err)
		}
	}
}
