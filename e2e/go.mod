module github.com/caddy-outstatic/caddy-outstatic/e2e

go 1.26.0

require (
	github.com/caddy-outstatic/caddy-outstatic v0.0.0
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/oauth2-proxy/mockoidc v0.0.0-20261103160011-e06ed0b7cb7f
)

require (
	github.com/agnivade/levenshtein v1.2.2 // indirect
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	github.com/emersion/go-smtp v0.25.1 // indirect
	github.com/go-jose/go-jose/v4 v4.1.8 // indirect
	github.com/go-json-experiment/json v1.27.2 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/vektah/gqlparser/v2 v2.5.64 // indirect
)

replace github.com/caddy-outstatic/caddy-outstatic => ../
