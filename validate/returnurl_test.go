package validate

import (
	"errors"
	"testing"
)

func TestCheckReturnURL(t *testing.T) {
	var origins []Origin
	for _, raw := range []string{"https://blog.example.com/outstatic", "https://example.org/docs/outstatic"} {
		o, err := ParseOrigin(raw)
		if err != nil {
			t.Fatal(err)
		}
		origins = append(origins, o)
	}
	targets := Targets{Origins: origins}
	accept := map[string]string{
		"https://blog.example.com/outstatic":            "https://blog.example.com/outstatic",
		"https://BLOG.example.com:443/outstatic?tab=1":  "https://blog.example.com/outstatic?tab=1",
		"https://blog.example.com":                      "https://blog.example.com/",
		"https://example.org/docs/outstatic/settings":   "https://example.org/docs/outstatic/settings",
		"https://example.org/docs":                      "https://example.org/docs",
		"https://blog.example.com/outstatic?a=%20b&c=d": "https://blog.example.com/outstatic?a=%20b&c=d",
	}
	for in, want := range accept {
		got, err := targets.CheckReturnURL(in)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	refuse := map[string]string{
		"https://evil.example/outstatic":                                   CodeInvalidCallbackDomain,
		"//evil.example/outstatic":                                         CodeInvalidCallbackDomain,
		"/outstatic":                                                       CodeInvalidCallbackDomain,
		"http://blog.example.com/outstatic":                                CodeInvalidCallbackDomain,
		"https://blog.example.com@evil.example/":                           CodeInvalidCallbackDomain,
		"https://evil.example\\@blog.example.com/":                         CodeInvalidCallbackDomain,
		"javascript:alert(1)":                                              CodeInvalidCallbackDomain,
		"https://blog.example.com/outstatic#x":                             CodeInvalidCallbackTarget,
		"https://blog.example.com//evil.example":                           CodeInvalidCallbackTarget,
		"https://blog.example.com/a/../../x":                               CodeInvalidCallbackTarget,
		"https://blog.example.com/outstatic\\x":                            CodeInvalidCallbackTarget,
		"https://blog.example.com/out static":                              CodeInvalidCallbackTarget,
		"https://example.org/other":                                        CodeInvalidCallbackTarget,
		"https://example.org/docsx":                                        CodeInvalidCallbackTarget,
		"https://blog.example.com/outstatic?x=<script>":                    CodeInvalidCallbackTarget,
		"https://blog.example.com/outstatic?next=a\nb":                     CodeInvalidCallbackTarget,
		"https://blog.example.com/%2e%2e/outstatic":                        CodeInvalidCallbackTarget,
		"https://blog.example.com/outstatic?" + string(make([]byte, 3000)): CodeInvalidCallbackTarget,
	}
	for in, code := range refuse {
		_, err := targets.CheckReturnURL(in)
		var ve *Error
		if !errors.As(err, &ve) || ve.Code != code {
			t.Errorf("%q: got %v, want %s", in, err, code)
		}
	}
}
