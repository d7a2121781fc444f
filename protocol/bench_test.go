package protocol

import (
	"encoding/json"
	"testing"
)

// BenchmarkReadBody is the cost of reading an exchange-token body one way
// only (DecodeJSON) against encoding/json's lenient reading of the same
// bytes, its baseline in the same run.
func BenchmarkReadBody(b *testing.B) {
	body := []byte(`{"exchange_token":"xt_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG","callback_url":"https://blog.example.com/outstatic/api/outstatic/callback"}`)
	type exchange struct {
		Token    string `json:"exchange_token"`
		Callback string `json:"callback_url"`
	}
	b.Run("lenient", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var in exchange
			if err := json.Unmarshal(body, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one-way", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var in exchange
			if err := DecodeJSON(body, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
