package native

import (
	"net/http"
	"strings"
	"testing"
)

// postRaw sends body as it is to relay i's path, with key if not "".
func (e *nativeEnv) postRaw(t *testing.T, i int, path, key, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", e.urls[i]+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestNativeBodiesReadOneWay: the relay's endpoints read a field by its
// exact name only. A body whose field comes twice, or in another spelling
// that encoding/json folds into it (ASCII case, the Kelvin sign for "k"),
// is refused before anything is spent, so an exchange token sent that way
// is still good when sent plainly.
func TestNativeBodiesReadOneWay(t *testing.T) {
	env := newNativeEnv(t, nil)
	const redeem = "/outstatic/auth/exchange-token"
	token := tokenOf(t, env.login(t, 0))
	cb := `"callback_url":"` + nativeCallback + `"`
	for _, body := range []string{
		`{"exchange_to` + "\u212A" + `en":"` + token + `",` + cb + `}`,
		`{"Exchange_Token":"` + token + `",` + cb + `}`,
		`{"exchange_token":"xt_other","exchange_token":"` + token + `",` + cb + `}`,
		`{"exchange_token":"` + token + `",` + cb + `,"callback_url":"` + nativeCallback + `"}`,
	} {
		if status := env.postRaw(t, 0, redeem, "", body); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", body, status)
		}
	}
	if status := env.postRaw(t, 1, redeem, "", `{"exchange_token":"`+token+`",`+cb+`}`); status != http.StatusOK {
		t.Fatalf("the token, sent plainly after the refusals: %d", status)
	}

	// A start whose checked callback a second spelling would replace.
	const start = "/outstatic/auth/github-exchange"
	for _, body := range []string{
		`{"callback_url":"https://evil.example/api/outstatic/callback","CALLBACK_URL":"` + nativeCallback + `"}`,
		`{"callback_url":"https://evil.example/api/outstatic/callback","callback_url":"` + nativeCallback + `"}`,
		`{"callbac` + "\u212A" + `_url":"` + nativeCallback + `"}`,
	} {
		if status := env.postRaw(t, 0, start, env.key, body); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", body, status)
		}
	}
	if status := env.postRaw(t, 0, start, env.key, `{`+cb+`}`); status != http.StatusOK {
		t.Fatalf("a plain start: %d", status)
	}
}
