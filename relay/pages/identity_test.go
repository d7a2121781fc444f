package pages

import "testing"

// The members forms accept a name by the identity rule only: a GitHub
// login or an address whose domain is valid as written.
func TestCheckWhoByIdentityRule(t *testing.T) {
	for who, ok := range map[string]bool{
		"octocat": true, "Octo-Cat": true, "ada@example.com": true, "Ada@B\u00fccher.example": true,
		"octo_cat": false, "\u212Aim": false, "ada@ex\u212Aample.com": false, "ada@ma\u0130l.example.com": false,
		"ada@\uff45xample.com": false, "Ada <ada@example.com>": false, "ada@example.com.": false, "": false,
	} {
		if err := checkWho(who); (err == nil) != ok {
			t.Errorf("checkWho(%q) = %v", who, err)
		}
	}
	for email, ok := range map[string]bool{"lin@example.com": true, "octocat": false, "lin@ma\u0130l.example.com": false} {
		if err := checkEmail(email); (err == nil) != ok {
			t.Errorf("checkEmail(%q) = %v", email, err)
		}
	}
}
