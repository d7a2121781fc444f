package fakegithub

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func appJWT(t *testing.T, key any, method jwt.SigningMethod, iss string, iat, exp time.Time) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, jwt.RegisteredClaims{Issuer: iss,
		IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp)}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func appCall(t *testing.T, method, url, bearer string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestAppJWTRules(t *testing.T) {
	s := start(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	s.RegisterApp(7, "relay", &key.PublicKey)
	s.Install(7, 70, "acme/blog")
	now := time.Now()
	url := s.APIURL() + "/repos/acme/blog/installation"

	code, body := appCall(t, http.MethodGet, url, appJWT(t, key, jwt.SigningMethodRS256, "7", now.Add(-time.Minute), now.Add(9*time.Minute)))
	if code != http.StatusOK || body["id"] != float64(70) {
		t.Fatalf("good jwt: %d %v", code, body)
	}
	for name, tok := range map[string]string{
		"none":           "",
		"garbage":        "not.a.jwt",
		"wrong key":      appJWT(t, other, jwt.SigningMethodRS256, "7", now, now.Add(5*time.Minute)),
		"unknown app":    appJWT(t, key, jwt.SigningMethodRS256, "8", now, now.Add(5*time.Minute)),
		"iss not an id":  appJWT(t, key, jwt.SigningMethodRS256, "relay", now, now.Add(5*time.Minute)),
		"HS256":          appJWT(t, []byte("secret"), jwt.SigningMethodHS256, "7", now, now.Add(5*time.Minute)),
		"over 10 min":    appJWT(t, key, jwt.SigningMethodRS256, "7", now.Add(-time.Minute), now.Add(10*time.Minute)),
		"expired":        appJWT(t, key, jwt.SigningMethodRS256, "7", now.Add(-11*time.Minute), now.Add(-time.Minute)),
		"iat in future":  appJWT(t, key, jwt.SigningMethodRS256, "7", now.Add(5*time.Minute), now.Add(9*time.Minute)),
		"a user's token": s.IssueToken("repo"),
	} {
		if code, body := appCall(t, http.MethodGet, url, tok); code != http.StatusUnauthorized {
			t.Errorf("%s: %d %v", name, code, body)
		}
		if code, _ := appCall(t, http.MethodPost, s.APIURL()+"/app/installations/70/access_tokens", tok); code != http.StatusUnauthorized {
			t.Errorf("%s: minting answered %d", name, code)
		}
	}
	if n := s.InstallationTokensMinted(70); n != 0 {
		t.Fatalf("minted %d", n)
	}

	good := appJWT(t, key, jwt.SigningMethodRS256, "7", now.Add(-time.Minute), now.Add(9*time.Minute))
	if code, _ := appCall(t, http.MethodGet, s.APIURL()+"/repos/acme/other/installation", good); code != http.StatusNotFound {
		t.Errorf("not installed: %d", code)
	}
	if code, _ := appCall(t, http.MethodPost, s.APIURL()+"/app/installations/71/access_tokens", good); code != http.StatusNotFound {
		t.Errorf("unknown installation: %d", code)
	}
	code, body = appCall(t, http.MethodPost, s.APIURL()+"/app/installations/70/access_tokens", good)
	tok, _ := body["token"].(string)
	if code != http.StatusCreated || !strings.HasPrefix(tok, "ghs_") {
		t.Fatalf("mint: %d %v", code, body)
	}
	exp, err := time.Parse(time.RFC3339, body["expires_at"].(string))
	if err != nil || exp.Sub(now) < 59*time.Minute || exp.Sub(now) > 61*time.Minute {
		t.Fatalf("expires_at %v", body["expires_at"])
	}
	if code, _ := appCall(t, http.MethodGet, s.APIURL()+"/repos/acme/blog", tok); code != http.StatusOK {
		t.Errorf("installation token on its repository: %d", code)
	}
}
