package native

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The replies of #5 and #7 are the bytes they were when the relay wrote
// them from maps: the same keys, in the same order, the same values.
func TestSessionRepliesAsMaps(t *testing.T) {
	pair := sessionPair{Access: "at<&>", Expires: 1_700_000_540, Refresh: "rt", RefreshExpires: 1_700_086_400}
	pairMap := map[string]any{"access_token": "at<&>", "refresh_token": "rt",
		"expires_at": int64(1_700_000_540), "refresh_token_expires_at": int64(1_700_086_400)}
	user := sessionUser{Avatar: "https://a.example/ada.png", Email: "ada@example.com", Login: "ada", Name: "Ada",
		Permissions: []string{"content:read"}}
	userMap := map[string]any{"email": "ada@example.com", "login": "ada", "name": "Ada",
		"avatar_url": "https://a.example/ada.png", "permissions": []string{"content:read"}}
	for _, c := range []struct {
		name       string
		got, asMap any
	}{
		{"exchange-token", exchangeReply{Session: pair, User: user}, map[string]any{"user": userMap, "session": pairMap}},
		{"exchange-token with a return URL", exchangeReply{ReturnURL: "https://site.example/x?a=1&b=2", Session: pair, User: user},
			map[string]any{"user": userMap, "session": pairMap, "return_url": "https://site.example/x?a=1&b=2"}},
		{"exchange-token without permissions", exchangeReply{Session: pair, User: sessionUser{}},
			map[string]any{"user": map[string]any{"email": "", "login": "", "name": "", "avatar_url": "", "permissions": []string(nil)}, "session": pairMap}},
		{"refresh-token", refreshReply{Session: pair}, map[string]any{"session": pairMap}},
	} {
		got, err := json.Marshal(c.got)
		want, _ := json.Marshal(c.asMap)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %s (%v), want %s", c.name, got, err, want)
		}
	}
}
