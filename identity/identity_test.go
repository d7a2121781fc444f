package identity

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

const carol = "carol@mail.example.com"

// punycoded spells s's labels as "xn--" with no check at all, as someone
// writing the A-label of a look-alike by hand would.
func punycoded(t *testing.T, s string) string {
	t.Helper()
	a, err := idna.Punycode.ToASCII(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEmailLookAlikes: addresses that Unicode case folding or compatibility
// normalization would take for carol's are refused, or keep a key of their
// own; ASCII case alone is the same person.
func TestEmailLookAlikes(t *testing.T) {
	same := []string{carol, "Carol@Mail.Example.COM", "CAROL@MAIL.EXAMPLE.COM", "carol@" + strings.ToUpper(punycoded(t, "mail.example.com"))}
	for _, s := range same {
		if k, err := Email(s); err != nil || k != carol {
			t.Errorf("Email(%q) = %q, %v; want %q", s, k, err, carol)
		}
	}
	// The domain: characters UTS #46 maps or NFC composes are refused, as
	// are A-labels that decode to them.
	refused := []string{
		"carol@maİl.example.com",       // U+0130, which strings.ToLower makes "i"
		"carol@MAİL.example.com",       //
		"carol@ex\u212Aample.com",      // the Kelvin sign, "k" to ToLower
		"carol@mail.exampleſ.com",      // long s, folded to "s"
		"carol@ｍail.example.com",       // fullwidth m, NFKC "m"
		"carol@mail．example．com",       // fullwidth full stop
		"carol@mail。example。com",       // ideographic full stop, mapped to "."
		"carol@ﬁle.example.com",        // the ligature, NFKC "fi"
		"carol@mai\u0301l.example.com", // "i" + combining acute: not NFC ("í")
		"carol@mail.exam\u00ADple.com", // soft hyphen, which mapping drops
		"carol@ma\u200Bil.example.com", // zero-width space
		"carol@ma\u200Dil.example.com", // zero-width joiner out of context
		"carol@\u2CF0mail.example.com", // a combining mark first
		"carol@" + punycoded(t, "maİl.example.com"),
		"carol@" + punycoded(t, "ｍail.example.com"),
		"carol@" + punycoded(t, "mai\u0301l.example.com"),
		"carol@mail.example.com.", "carol@mail..example.com", "carol@-mail.example.com", "carol@mail-.example.com",
		"carol@ab--cd.example.com", "carol@[192.0.2.1]", "carol@mail_x.example.com", "carol@mail.example.com:25",
		"carol@mail.example.com ", " carol@mail.example.com", "carol＠mail.example.com", // fullwidth @: no @ at all
		"carol", "carol@", "@mail.example.com", "carol@bob@mail.example.com", `"carol"@mail.example.com`,
		"car ol@mail.example.com", "carol\u202E@mail.example.com", "ca\u00A0rol@mail.example.com",
		"carol\u200B@mail.example.com", ".carol@mail.example.com", "carol.@mail.example.com", "ca..rol@mail.example.com",
		"carol\x00@mail.example.com", "carol\r\n@mail.example.com", "carol@mail.example.com\n", "ca\xffrol@mail.example.com",
		"carol@" + strings.Repeat("a", 64) + ".example.com", strings.Repeat("c", 65) + "@mail.example.com",
		strings.Repeat("c", 64) + "@" + strings.Repeat(strings.Repeat("a", 60)+".", 3) + "example.com",
	}
	for _, s := range refused {
		k, err := Email(s)
		if err == nil {
			t.Errorf("Email(%q) = %q, want an error", s, k)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("Email(%q): error %v does not wrap ErrInvalid", s, err)
		}
	}
	// Valid as written, and other people: nothing folded into carol's key.
	// Each would be carol (or kim, sam, bob...) to ToLower, EqualFold or NFKC.
	for _, c := range []struct{ s, member string }{
		{"carol@ma\u0131l.example.com", carol},       // dotless ı: a letter of its own
		{"carol@mai\u0307l.example.com", carol},      // "i" and a combining dot above: NFC as it is
		{"carol@mail.example.co\u1E3F", carol},       // ḿ, precomposed
		{"\u212Aim@example.com", "kim@example.com"},  // Kelvin sign
		{"İsa@example.com", "isa@example.com"},       // dotted capital I
		{"ſam@example.com", "sam@example.com"},       // long s
		{"ＢOB@example.com", "bob@example.com"},       // fullwidth B
		{"ａda@example.com", "ada@example.com"},       // fullwidth a
		{"ade\u0301@example.com", "adé@example.com"}, // decomposed and precomposed é
		{"\uFB01nn@example.com", "finn@example.com"}, // the ligature ﬁ
		{"carol@b\u00FCcher.example", "carol@bucher.example"},
	} {
		k, err := Email(c.s)
		if err != nil {
			t.Errorf("Email(%q): %v, want a key of its own", c.s, err)
			continue
		}
		if mk, _ := Email(c.member); k == mk {
			t.Errorf("Email(%q) = %q, the key of %q", c.s, k, c.member)
		}
	}
	if k, err := Email("carol@b\u00FCcher.example"); err != nil || k != "carol@xn--bcher-kva.example" {
		t.Errorf("an IDN domain: %q, %v", k, err)
	}
	if k, err := Email("Jos\u00E9@B\u00FCcher.Example"); err != nil || k != "jos\u00E9@xn--bcher-kva.example" {
		t.Errorf("a non-ASCII local part is kept as written: %q, %v", k, err)
	}
	if k, err := Email("JOS\u00C9@example.com"); err != nil || k != "jos\u00C9@example.com" {
		t.Errorf("É is not lowercased: %q, %v", k, err)
	}
	if k, err := Email("12345+ada@users.noreply.github.com"); err != nil || k != "12345+ada@users.noreply.github.com" {
		t.Errorf("a GitHub no-reply address: %q, %v", k, err)
	}
	if !SameEmail("Ada@Example.com", "ada@example.COM") || SameEmail("\u212Aim@example.com", "kim@example.com") || SameEmail("x", "x") {
		t.Error("SameEmail")
	}
}

// TestEmailDomainMapsNothing tries every non-ASCII code point of the Basic
// Multilingual Plane inside a domain label: each is refused or kept, never
// turned into something else.
func TestEmailDomainMapsNothing(t *testing.T) {
	for r := rune(0x80); r <= 0xFFFF; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := "a@x" + string(r) + "y.example"
		k, err := Email(s)
		if err != nil {
			continue
		}
		u, err := idna.Punycode.ToUnicode(strings.TrimPrefix(k, "a@"))
		if err != nil || u != "x"+string(r)+"y.example" {
			t.Fatalf("Email(%q) = %q, which reads back as %q (%v)", s, k, u, err)
		}
		if !norm.NFC.IsNormalString(string(r)) {
			t.Fatalf("Email(%q) accepted a character NFC changes", s)
		}
	}
}

func TestLogin(t *testing.T) {
	for _, s := range []string{"octocat", "Octocat", "OCTOCAT", "OctoCat"} {
		if k, err := Login(s); err != nil || k != "octocat" {
			t.Errorf("Login(%q) = %q, %v", s, k, err)
		}
	}
	for _, s := range []string{"a", "a-b", "a1-b2-c3", strings.Repeat("a", 39)} {
		if _, err := Login(s); err != nil {
			t.Errorf("Login(%q): %v", s, err)
		}
	}
	for _, s := range []string{
		"", "-octocat", "octocat-", "octo--cat", "octo_cat", "octo.cat", "octo cat", "octocat ",
		"\u212Aim", "İsa", "ſam", "ｏctocat", "octocat\u0301", "octo\u200Bcat", strings.Repeat("a", 40),
		"ada@example.com", "octocat\x00",
	} {
		if k, err := Login(s); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("Login(%q) = %q, %v; want an ErrInvalid", s, k, err)
		}
	}
	if !SameLogin("Acme", "acme") || SameLogin("\u212Aelvin", "kelvin") || SameLogin("İsa", "isa") {
		t.Error("SameLogin")
	}
}

func TestMember(t *testing.T) {
	for s, want := range map[string]string{"Ada": "ada", "Ada@Example.com": "ada@example.com"} {
		if k, err := Member(s); err != nil || k != want {
			t.Errorf("Member(%q) = %q, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "ada@", "a_b", "\u212Aim", "kim@ex\u212Aample.com"} {
		if _, err := Member(s); err == nil {
			t.Errorf("Member(%q) accepted", s)
		}
	}
}

func TestLowerASCII(t *testing.T) {
	for in, want := range map[string]string{"": "", "abc": "abc", "ABC-xyz": "abc-xyz", "İ\u212AÉ": "İ\u212AÉ", "AİB": "aİb"} {
		if got := LowerASCII(in); got != want {
			t.Errorf("LowerASCII(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzEmail: a key has no ASCII capital, is its own key, keeps the local
// part's bytes but for ASCII case, and spells the same Unicode domain as the
// input: no byte above 0x7F is ever mapped, dropped or turned into ASCII.
func FuzzEmail(f *testing.F) {
	for _, s := range []string{carol, "Carol@Mail.Example.COM", "carol@maİl.example.com", "\u212Aim@example.com",
		"jos\u00E9@b\u00FCcher.example", "a@xn--bcher-kva.example", "a@XN--BCHER-KVA.example", "ａ@ｂ.example", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Email(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Email(%q): error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if k != LowerASCII(k) || len(k) > MaxEmail {
			t.Fatalf("Email(%q) = %q: an ASCII capital, or too long", s, k)
		}
		if again, err := Email(k); err != nil || again != k {
			t.Fatalf("Email(%q) = %q, but Email(%q) = %q, %v", s, k, k, again, err)
		}
		inLocal, inDomain, _ := strings.Cut(s, "@")
		local, domain, _ := strings.Cut(k, "@")
		if local != LowerASCII(inLocal) {
			t.Fatalf("Email(%q): local part %q, want %q", s, local, LowerASCII(inLocal))
		}
		for i := 0; i < len(domain); i++ {
			if domain[i] >= utf8.RuneSelf {
				t.Fatalf("Email(%q) = %q: the domain is not ASCII", s, k)
			}
		}
		want, err1 := idna.Punycode.ToUnicode(LowerASCII(inDomain))
		got, err2 := idna.Punycode.ToUnicode(domain)
		if err1 != nil || err2 != nil || got != want {
			t.Fatalf("Email(%q) = %q: the domain reads %q, the input %q (%v, %v)", s, k, got, want, err1, err2)
		}
	})
}

// FuzzLogin: a login key is the input in lower case, and only ASCII input
// has one.
func FuzzLogin(f *testing.F) {
	for _, s := range []string{"octocat", "Octo-Cat", "\u212Aim", "a--b", "-a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Login(s)
		if err != nil {
			return
		}
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				t.Fatalf("Login(%q) accepted a byte above 0x7F", s)
			}
		}
		if k != LowerASCII(s) || strings.Contains(k, "--") || len(k) > MaxLogin {
			t.Fatalf("Login(%q) = %q", s, k)
		}
	})
}
