package relay

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkMemoryTake is the redemption of an exchange token's callback in
// the in-process memory a guard and a relay share by default: Remember
// when the token passes the guard, Take when the relay redeems it.
func BenchmarkMemoryTake(b *testing.B) {
	m := NewMemoryCallbacks(5 * time.Minute)
	const callback = "https://blog.example.com/outstatic/api/outstatic/callback"
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		token := "xt_" + strconv.Itoa(i)
		i++
		m.Remember(token, callback)
		if _, ok := m.Take(token); !ok {
			b.Fatal("not found")
		}
	}
}
