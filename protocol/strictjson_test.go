package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestReadJSONOneReading: a body that encoding/json would read one way and
// an exact reader another is refused; the protocol's own bodies, unknown
// keys included, are read as before.
func TestReadJSONOneReading(t *testing.T) {
	type exchange struct {
		Token    string `json:"exchange_token"`
		Callback string `json:"callback_url"`
		Session  string `json:"session"`
	}
	for _, body := range []string{
		`{"exchange_token":"a","exchange_token":"b"}`,                     // a key twice
		`{"exchange_token":"a","x":{"k":1,"k":2}}`,                        // twice, nested
		`{"exchange_token":"a","x":[{"k":1,"k":2}]}`,                      // twice, in a list
		`{"exchange_to` + "\u212A" + `en":"a"}`,                           // Kelvin sign for "k"
		`{"callback_url":"x","exchange_token":"a","exchange_toKen":"b"}`,  // ASCII case
		`{"EXCHANGE_TOKEN":"a"}`,                                          // ASCII case alone
		`{"` + "\u017F" + `ession":"a"}`,                                  // long s for "s"
		`{"exchangetoken":"a"}`,                                           // no "_"
		`{"exchange-token":"a"}`,                                          // "-" for "_"
		"{\"exchange_token\":\"a\xffb\"}",                                 // not UTF-8
		"{\"exchange_token\":\"a\",\"\xff\":1}",                           // not UTF-8, in a key
		`{"exchange_token":"a"} {}`,                                       // data after the value
		`{"exchange_token":"\ud800"}`,                                     // an escape that is no code point
		`{"exchange_token":"a"`,                                           // cut short
		`{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, // too deep
	} {
		var v exchange
		if err := ReadJSON(strings.NewReader(body), &v); err == nil {
			t.Errorf("%q read as %+v", body, v)
		}
	}
	var v exchange
	if err := ReadJSON(strings.NewReader(`{"exchange_token":"a","callback_url":"b","other":{"k":[1,{"k":2}]}}`), &v); err != nil || v.Token != "a" || v.Callback != "b" {
		t.Errorf("a stock body: %+v, %v", v, err)
	}
	var m map[string]any
	if err := ReadJSON(strings.NewReader(`{"a":1,"A":2}`), &m); err != nil || len(m) != 2 {
		t.Errorf("a map takes its keys exactly: %v, %v", m, err)
	}
	if err := ReadJSON(strings.NewReader(`{"a":1,"a":2}`), &m); err == nil {
		t.Error("a key twice, into a map")
	}
	// embedded structs' fields count as the struct's own
	type inner struct {
		Email string `json:"email"`
	}
	var w struct {
		inner
		Name string `json:"name"`
	}
	if err := ReadJSON(strings.NewReader(`{"Email":"a"}`), &w); err == nil {
		t.Error("another spelling of an embedded field")
	}
}

// TestReadJSONRefusalsQuoteNothing: a refusal's text names its class, never
// the client's keys or values.
func TestReadJSONRefusalsQuoteNothing(t *testing.T) {
	for _, body := range []string{
		`{"zzkeyzz":1,"zzkeyzz":2}`,
		`{"zzkeyzz":"zzvaluezz" "x":1}`,
		`{"zzkeyzz":zzvaluezz}`,
		`{"a":{"zzkeyzz":1,"zzkeyzz":2}}`,
	} {
		var m map[string]any
		err := ReadJSON(strings.NewReader(body), &m)
		if err == nil || strings.Contains(err.Error(), "zz") {
			t.Errorf("%q: %v", body, err)
		}
	}
}

// TestDecodeJSONReadsAsUnmarshal: what CheckKeys lets through, DecodeJSON
// reads into a fresh value as json.Unmarshal does, for every shape the
// protocol's bodies are read into (strings, pointers to them, raw values,
// an embedded struct, a map, a raw body), and refuses what json.Unmarshal
// refuses.
func TestDecodeJSONReadsAsUnmarshal(t *testing.T) {
	type inner struct {
		Email string `json:"email"`
	}
	type shapes struct {
		Token    string          `json:"exchange_token"`
		Callback *string         `json:"callback_url"`
		Raw      json.RawMessage `json:"returnUrl"`
		inner
	}
	bodies := []string{
		`{}`,
		`{"exchange_token":"a","callback_url":"https://b.example/c?d=1&e=<f>","returnUrl":"/r","email":"ada@example.com"}`,
		`{"exchange_token":null,"callback_url":null,"returnUrl":null,"email":null}`,
		`{"returnUrl":{"a":[1,2,{"b":null}]},"other":{"k":[true,false]}}`,
		`{"returnUrl":  "sp aced"  , "callback_url":""}`,
		`{"exchange_token":"\u00e9\ud83d\ude00\n\"\\"}`,
		`{"exchange_token":1}`,
		`{"exchange_token":true}`,
		`{"exchange_token":["a"]}`,
		`{"callback_url":{"a":1}}`,
		`{"email":2}`,
		`[]`,
		`"a"`,
		`null`,
		`1`,
	}
	for _, body := range bodies {
		var want, got shapes
		wantErr := json.Unmarshal([]byte(body), &want)
		gotErr := DecodeJSON([]byte(body), &got)
		if (wantErr == nil) != (gotErr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: DecodeJSON %+v, %v; json.Unmarshal %+v, %v", body, got, gotErr, want, wantErr)
		}
		var wantMap, gotMap map[string]any
		wantErr, gotErr = json.Unmarshal([]byte(body), &wantMap), DecodeJSON([]byte(body), &gotMap)
		if (wantErr == nil) != (gotErr == nil) || !reflect.DeepEqual(gotMap, wantMap) {
			t.Errorf("%s into a map: DecodeJSON %v, %v; json.Unmarshal %v, %v", body, gotMap, gotErr, wantMap, wantErr)
		}
		var wantRaw, gotRaw json.RawMessage
		wantErr, gotErr = json.Unmarshal([]byte(body), &wantRaw), DecodeJSON([]byte(body), &gotRaw)
		if (wantErr == nil) != (gotErr == nil) || !bytes.Equal(gotRaw, wantRaw) {
			t.Errorf("%s as a raw body: DecodeJSON %s, %v; json.Unmarshal %s, %v", body, gotRaw, gotErr, wantRaw, wantErr)
		}
	}
}
