package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
)

// InvitationValidity is how long an invitation link stays valid.
const InvitationValidity = 7 * 24 * time.Hour

// Login describes a magic-link login e-mail.
type Login struct {
	// To is the address that asked to log in.
	To string
	// Site is the site or project name shown to the reader.
	Site string
	// Link is the one-time login URL (it carries a token).
	Link string
	// ValidFor is how long the link works.
	ValidFor time.Duration
}

// Invitation describes an e-mail inviting someone to a project.
type Invitation struct {
	// To is the invited address.
	To string
	// Site is the site or project name.
	Site string
	// Inviter is who sent the invitation (a name or an address).
	Inviter string
	// Role is the role offered, e.g. "editor".
	Role string
	// Link is the URL that accepts the invitation (it carries a token).
	Link string
	// ValidFor is how long the link works; InvitationValidity when zero.
	ValidFor time.Duration
}

// LoginMessage writes the magic-link e-mail for l.
func LoginMessage(l Login) (Message, error) {
	if err := checkFields(map[string]string{"site": l.Site}); err != nil {
		return Message{}, err
	}
	if err := checkLink(l.Link); err != nil {
		return Message{}, err
	}
	if l.ValidFor <= 0 {
		return Message{}, errors.New("login link validity must be positive")
	}
	data := map[string]string{"Site": l.Site, "Link": l.Link, "ValidFor": humanDuration(l.ValidFor)}
	return render(l.To, "Your sign-in link for "+l.Site, loginText, loginHTML, data)
}

// InvitationMessage writes the invitation e-mail for inv.
func InvitationMessage(inv Invitation) (Message, error) {
	if err := checkFields(map[string]string{"site": inv.Site, "inviter": inv.Inviter, "role": inv.Role}); err != nil {
		return Message{}, err
	}
	if err := checkLink(inv.Link); err != nil {
		return Message{}, err
	}
	if inv.ValidFor == 0 {
		inv.ValidFor = InvitationValidity
	}
	if inv.ValidFor < 0 {
		return Message{}, errors.New("invitation validity must be positive")
	}
	data := map[string]string{"Site": inv.Site, "Inviter": inv.Inviter, "Role": inv.Role,
		"Link": inv.Link, "ValidFor": humanDuration(inv.ValidFor)}
	return render(inv.To, inv.Inviter+" invited you to "+inv.Site, inviteText, inviteHTML, data)
}

func render(to, subject string, text *texttemplate.Template, html *htmltemplate.Template, data any) (Message, error) {
	if _, err := parseAddress(to); err != nil {
		return Message{}, fmt.Errorf("recipient: %v", err)
	}
	var tb, hb bytes.Buffer
	if err := text.Execute(&tb, data); err != nil {
		return Message{}, fmt.Errorf("rendering text part: %v", err)
	}
	if err := html.Execute(&hb, data); err != nil {
		return Message{}, fmt.Errorf("rendering html part: %v", err)
	}
	return Message{To: to, Subject: subject, Text: tb.String(), HTML: hb.String()}, nil
}

// checkFields refuses empty values and control characters: these values go
// into the subject line, where a newline would start a new header.
func checkFields(fields map[string]string) error {
	for name, v := range fields {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("%s is empty", name)
		}
		if hasControl(v) {
			return fmt.Errorf("%s contains control characters", name)
		}
		if len(v) > 200 {
			return fmt.Errorf("%s is longer than 200 bytes", name)
		}
	}
	return nil
}

// checkLink wants an absolute http(s) URL that is printed the same way in
// both parts; the value is not echoed in errors, since it carries a token.
func checkLink(link string) error {
	if hasControl(link) || strings.ContainsAny(link, " <>\"") {
		return errors.New("link contains characters not allowed in a URL")
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("link must be an absolute http or https URL")
	}
	return nil
}

// humanDuration says "15 minutes", "1 hour", "7 days".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64(d/time.Minute), "minute")
	default:
		return plural(int64(d/time.Second), "second")
	}
}
