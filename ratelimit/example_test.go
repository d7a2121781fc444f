package ratelimit_test

import (
	"fmt"
	"time"

	"github.com/caddy-outstatic/caddy-outstatic/ratelimit"
)

// A magic-link request is limited per client IP and per address. The IP is
// checked first: a request its IP may not make does not spend the
// address's token, so one client cannot use up someone else's address.
func Example() {
	perIP, _ := ratelimit.New(ratelimit.Config{Every: time.Minute, Burst: 5})
	perAddress, _ := ratelimit.New(ratelimit.Config{Every: 10 * time.Minute, Burst: 3})

	allow := func(ip, address string) bool {
		return perIP.Allow(ip) && perAddress.Allow(address)
	}
	for i := range 4 {
		fmt.Println(i, allow("203.0.113.7", "ann@example.org"))
	}
	// Output:
	// 0 true
	// 1 true
	// 2 true
	// 3 false
}
