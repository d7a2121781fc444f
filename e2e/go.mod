module github.com/caddy-outstatic/caddy-outstatic/e2e

go 1.26.0

require (
	github.com/caddy-outstatic/caddy-outstatic v0.0.0
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/vektah/gqlparser/v2 v2.5.64 // indirect
)

replace github.com/caddy-outstatic/caddy-outstatic => ../
