package github

import (
	"context"
	"errors"
)

// User is a GitHub user as /user and /user/emails describe them.
type User struct {
	Login, Name, AvatarURL string
	// Emails are the user's addresses, as GitHub lists them.
	Emails []Email
}

// Email is one of a user's addresses.
type Email struct {
	Address           string
	Primary, Verified bool
}

// userMax bounds each of the two answers.
const userMax = 1 << 20

// User reads the user whose token this is, and their addresses. The two
// reads go at once: a login waits for one round trip to GitHub, not two.
// When both fail, /user's error is the one returned.
func (c *Client) User(ctx context.Context, token string) (User, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	emailsRead := make(chan error, 1)
	go func() { emailsRead <- c.getJSON(ctx, "/user/emails", token, userMax, &emails) }()
	var u struct {
		Login     string  `json:"login"`
		Name      *string `json:"name"`
		AvatarURL string  `json:"avatar_url"`
	}
	if err := c.getJSON(ctx, "/user", token, userMax, &u); err != nil {
		return User{}, err
	}
	if u.Login == "" {
		return User{}, &Error{Op: "GET /user", Status: 200, Err: errors.New("no login")}
	}
	if err := <-emailsRead; err != nil {
		return User{}, err
	}
	out := User{Login: u.Login, AvatarURL: u.AvatarURL}
	if u.Name != nil {
		out.Name = *u.Name
	}
	for _, e := range emails {
		out.Emails = append(out.Emails, Email{Address: e.Email, Primary: e.Primary, Verified: e.Verified})
	}
	return out, nil
}
