package mail

import (
	htmltemplate "html/template"
	texttemplate "text/template"
)

// The templates are inline, with no external images, fonts or stylesheets:
// mail clients block remote content, and a remote fetch would tell a third
// party when the link was opened. Each puts the link in once, so the reader
// (and a test) has one thing to click.

var loginText = texttemplate.Must(texttemplate.New("login.txt").Parse(`Hello,

Use this link to sign in to {{.Site}}:

{{.Link}}

The link works once and expires in {{.ValidFor}}.

If you did not ask to sign in, you can ignore this e-mail: nobody can sign in without the link.
`))

var loginHTML = htmltemplate.Must(htmltemplate.New("login.html").Parse(`<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Sign in to {{.Site}}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222;">
<p>Hello,</p>
<p>Use the button below to sign in to <strong>{{.Site}}</strong>.</p>
<p><a href="{{.Link}}" style="display: inline-block; padding: 10px 18px; background: #222; color: #fff; text-decoration: none; border-radius: 4px;">Sign in to {{.Site}}</a></p>
<p>The link works once and expires in {{.ValidFor}}.</p>
<p style="color: #666;">If you did not ask to sign in, you can ignore this e-mail: nobody can sign in without the link.</p>
</body>
</html>
`))

var inviteText = texttemplate.Must(texttemplate.New("invite.txt").Parse(`Hello,

{{.Inviter}} invited you to join {{.Site}} as {{.Role}}.

Accept the invitation here:

{{.Link}}

The invitation expires in {{.ValidFor}}.

If you were not expecting this, you can ignore this e-mail.
`))

var inviteHTML = htmltemplate.Must(htmltemplate.New("invite.html").Parse(`<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Invitation to {{.Site}}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222;">
<p>Hello,</p>
<p><strong>{{.Inviter}}</strong> invited you to join <strong>{{.Site}}</strong> as <strong>{{.Role}}</strong>.</p>
<p><a href="{{.Link}}" style="display: inline-block; padding: 10px 18px; background: #222; color: #fff; text-decoration: none; border-radius: 4px;">Accept the invitation</a></p>
<p>The invitation expires in {{.ValidFor}}.</p>
<p style="color: #666;">If you were not expecting this, you can ignore this e-mail.</p>
</body>
</html>
`))
