package mail_test

import (
	"context"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/mail"
)

// Sending a magic link: the link carries a one-time token, so neither it
// nor the error (which never contains it) should be logged with the link.
func Example() {
	sender, err := mail.NewSender(mail.Config{
		Addr:     "smtp.example.com:587",
		Username: "login@example.com",
		Password: "app-password",
		From:     "My Blog <login@example.com>",
		// TLS defaults to "starttls", required.
	})
	if err != nil {
		return
	}
	msg, err := mail.LoginMessage(mail.Login{
		To:       "ann@example.org",
		Site:     "My Blog",
		Link:     "https://blog.example.com/outstatic/api/outstatic/magic-link-callback?exchange_token=...",
		ValidFor: 15 * time.Minute,
	})
	if err != nil {
		return
	}
	_ = sender.Send(context.Background(), msg)
}
