package forward

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakeservice"
	"github.com/caddy-outstatic/caddy-outstatic/protocol"
	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

const appCallback = "http://localhost:3000/api/outstatic/callback"

// The stock site with its own GitHub app: validate-github-user, then the
// immediate redemption of the token the service answered, naming the
// site's listen address. The relay recorded the public callback for it.
func TestValidateGitHubUserTokenRecorded(t *testing.T) {
	h := newHarness(t)
	resp, body := h.post(t, "/outstatic/auth/validate-github-user", testKey,
		`{"github_token":"gho_x","callback_url":"`+appCallback+`"}`)
	if resp.StatusCode != 200 || body != `{"valid":true,"exchange_token":"et_1","user":{"name":"A","login":"a","avatar_url":""}}` {
		t.Fatalf("validate-github-user: %d %s", resp.StatusCode, body)
	}
	if got := h.svc.Last(t).JSON["callback_url"]; got != publicCallback {
		t.Fatalf("service got callback %v", got)
	}
	resp, body = h.post(t, "/outstatic/auth/exchange-token", "", `{"exchange_token":"et_1","callback_url":"`+appCallback+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("redemption with the listen address: %d %s", resp.StatusCode, body)
	}
	if got := h.svc.Last(t).JSON["callback_url"]; got != publicCallback {
		t.Errorf("service got callback %v, want %s", got, publicCallback)
	}
	// The record serves one redemption.
	resp, body = h.post(t, "/outstatic/auth/exchange-token", "", `{"exchange_token":"et_1","callback_url":"`+appCallback+`"}`)
	wantError(t, resp, body, http.StatusBadRequest, validate.CodeInvalidCallbackDomain)
}

func TestValidateGitHubUserRecordOnlyOnSuccess(t *testing.T) {
	h := newHarness(t)
	h.svc.Hook("/outstatic/auth/validate-github-user", func(w http.ResponseWriter, r *http.Request) {
		fakeservice.CannedJSON(w, http.StatusForbidden, `{"valid":false,"exchange_token":"et_refused"}`)
	})
	resp, body := h.post(t, "/outstatic/auth/validate-github-user", testKey, `{"github_token":"gho_x","callback_url":"`+appCallback+`"}`)
	if resp.StatusCode != 403 || body != `{"valid":false,"exchange_token":"et_refused"}` {
		t.Fatalf("refusal not passed on: %d %s", resp.StatusCode, body)
	}
	if _, ok := h.mem.Take("et_refused"); ok {
		t.Error("a token from a refusal was recorded")
	}
}

// The site asks for gzip; the reply must still be read for its token and
// reach the site whole.
func TestValidateGitHubUserCompressedReply(t *testing.T) {
	h := newHarness(t)
	const reply = `{"valid":true,"exchange_token":"et_gz","user":{"name":"A","login":"a","avatar_url":""}}`
	h.svc.Hook("/outstatic/auth/validate-github-user", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			_, _ = io.WriteString(gz, reply)
			_ = gz.Close()
			return
		}
		_, _ = io.WriteString(w, reply)
	})
	hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + testKey}, "Accept-Encoding": {"gzip, deflate, br"}}
	resp, body := h.send(t, http.MethodPost, "/outstatic/auth/validate-github-user", hdr, `{"github_token":"gho_x","callback_url":"`+appCallback+`"}`)
	if resp.StatusCode != 200 || body != reply {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if cb, ok := h.mem.Take("et_gz"); !ok || cb != publicCallback {
		t.Errorf("recorded %q %v", cb, ok)
	}
}

// A key a lenient decoder upstream reads as a checked field, or a key
// twice, is refused locally: the relay checks one spelling, once.
func TestAliasAndDuplicateKeysRefused(t *testing.T) {
	h := newHarness(t)
	const evil = "https://evil.example/api/outstatic/callback"
	aliases := []string{
		"callbac\u212a_url", // Kelvin sign: EqualFold's "k"
		"Callback_URL", "CALLBACK_URL", "callback_Url", "callbackurl", "CallbackURL", "callback-url",
		"callbackUrL", "callback_url ", // not an alias: a space is kept by every decoder
		"returnURL", "Return_Url", "returnurl",
		"EXCHANGE_TOKEN", "exchange_to\u212aen", "exchangeToken",
	}
	for _, ep := range callbackEndpoints {
		for _, alias := range aliases {
			m := map[string]any{ep.field: publicCallback, alias: evil}
			for k, v := range ep.body {
				m[k] = v
			}
			b, _ := json.Marshal(m)
			resp, body := h.post(t, ep.path, testKey, string(b))
			if alias == "callback_url " {
				if resp.StatusCode != 200 {
					t.Errorf("%s %q: %d %s", ep.path, alias, resp.StatusCode, body)
				}
				continue
			}
			if alias == ep.field {
				continue
			}
			wantError(t, resp, body, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
		}
	}
	n := h.svc.Count()
	for _, body := range []string{
		`{"exchange_token":"et_1","callback_url":"` + publicCallback + `","Exchange_Token":"et_2"}`,
		`{"exchange_token":"et_1","callback_url":"` + publicCallback + `","CALLBACKURL":"` + evil + `"}`,
		`{"exchange_token":"et_1","callback_url":"` + publicCallback + `","callbac\u212a_url":"` + evil + `"}`,
	} {
		resp, got := h.post(t, "/outstatic/auth/exchange-token", "", body)
		wantError(t, resp, got, http.StatusBadRequest, validate.CodeInvalidCallbackTarget)
	}

	dups := []string{
		`{"callback_url":"` + evil + `","callback_url":"` + publicCallback + `"}`,
		`{"callback_url":"` + publicCallback + `","callback_url":"` + evil + `"}`,
		`{"callback_url":"` + evil + `","callback\u005furl":"` + publicCallback + `"}`,
		`{"callback_url":"` + publicCallback + `","github_token":"a","github_token":"b"}`,
		`{"callback_url":"` + publicCallback + `","extra":{"a":1,"a":2}}`,
		`{"callback_url":"` + publicCallback + `","extra":[{"a":1},{"b":[{"c":1,"c":1}]}]}`,
		`{"callback_url":"` + publicCallback + `","deep":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`,
	}
	for _, body := range dups {
		resp, got := h.post(t, "/outstatic/auth/github-exchange", testKey, body)
		wantError(t, resp, got, http.StatusBadRequest, protocol.CodeInvalidRequest)
		resp, got = h.post(t, "/outstatic/auth/exchange-token", "", strings.Replace(body, "{", `{"exchange_token":"et_1",`, 1))
		wantError(t, resp, got, http.StatusBadRequest, protocol.CodeInvalidRequest)
	}
	if h.svc.Count() != n {
		t.Errorf("the service received %d refused bodies", h.svc.Count()-n)
	}
	// The log says why, and names no key the client wrote.
	var reasons []string
	for _, e := range h.logs.FilterMessage("relay call").All() {
		if r, ok := e.ContextMap()["reason"].(string); ok {
			reasons = append(reasons, r)
		}
	}
	joined := strings.Join(reasons, "\n")
	if !strings.Contains(joined, "another spelling of a checked field: callback_url") ||
		!strings.Contains(joined, "a key twice") || strings.Contains(joined, "\u212a") || strings.Contains(joined, "CALLBACK") {
		t.Errorf("reasons logged: %s", joined)
	}
	// The same key in different objects is no duplicate.
	resp, body := h.post(t, "/outstatic/auth/github-exchange", testKey,
		`{"callback_url":"`+publicCallback+`","a":{"b":1},"c":{"b":2},"d":[{"b":1},{"b":2}]}`)
	if resp.StatusCode != 200 {
		t.Errorf("same key in different objects: %d %s", resp.StatusCode, body)
	}
}

func TestAliasOf(t *testing.T) {
	for key, want := range map[string]string{
		"callback_url": "", "callbackUrl": "", "returnUrl": "", "return_url": "", "exchange_token": "",
		"github_token": "", "email": "", "callback_url2": "", "": "",
		"callbac\u212a_url": "callback_url", "CALLBACK-URL": "callback_url", "Callbackurl": "callback_url",
		"exchange_to\u212aen": "exchange_token", "RETURN_URL": "returnUrl",
	} {
		if got := protocol.AliasOf(key, checkedFields); got != want {
			t.Errorf("AliasOf(%q) = %q, want %q", key, got, want)
		}
	}
}

// FuzzCheckKeys: a body checkKeys accepts has each top-level key once, as
// a map decodes it, and none of them is another spelling of a checked
// field.
func FuzzCheckKeys(f *testing.F) {
	for _, s := range []string{
		`{"callback_url":"x"}`, `{"a":1,"a":2}`, `{"callbac\u212a_url":"x"}`, `{"a":{"b":[{"c":1,"c":2}]}}`,
		`{"callback\u005furl":1,"callback_url":2}`, `{"x":"\ud800","y":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil || checkKeys(body) != nil {
			return
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		_, _ = dec.Token()
		keys := 0
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			if protocol.AliasOf(k.(string), checkedFields) != "" {
				t.Fatalf("%q: accepted alias %q", body, k)
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatal(err)
			}
			keys++
		}
		if keys != len(obj) {
			t.Fatalf("%q: %d keys, %d in the map", body, keys, len(obj))
		}
	})
}
