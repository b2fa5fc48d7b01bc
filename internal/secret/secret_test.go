package secret

import (
	"strings"
	"testing"
)

func TestPassword(t *testing.T) {
	h := HashPassword("correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$") {
		t.Fatalf("hash %q is not PHC argon2id", h)
	}
	if ok, err := CheckPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := CheckPassword(h, "wrong horse"); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	if h == HashPassword("correct horse") {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$aa$bb", "$argon2id$v=19$m=0,t=1,p=1$aa$bb", "$argon2id$v=19$m=9999999,t=1,p=1$aa$bb", "plain"} {
		if _, err := CheckPassword(bad, "x"); err == nil {
			t.Errorf("CheckPassword(%q) accepted a malformed hash", bad)
		}
	}
}

func TestUserCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := UserCode()
		if len(c) != UserCodeLen || strings.Trim(c, userCodeAlphabet) != "" {
			t.Fatalf("bad user code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 999 {
		t.Fatalf("only %d distinct codes of 1000", len(seen))
	}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"bcdf-ghjk", "BCDFGHJK", true},
		{" BCDF GHJK ", "BCDFGHJK", true},
		{"BCDFGHJ", "", false},
		{"BCDFGHJKL", "", false},
		{"BCDF-GHJ0", "", false},
		{"AEIOU123", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeUserCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeUserCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if FormatUserCode("BCDFGHJK") != "BCDF-GHJK" {
		t.Error("FormatUserCode")
	}
}

func TestTokensDistinct(t *testing.T) {
	if Token() == Token() || Code() == Code() || len(Code()) != 32 || len(Token()) < 43 {
		t.Fatal("tokens are not fresh or have the wrong length")
	}
}

func BenchmarkCheckPassword(b *testing.B) {
	h := HashPassword("correct horse")
	for b.Loop() {
		CheckPassword(h, "correct horse")
	}
}

// TestEqualFailsClosed: two empty values (a key that failed to load, a
// record without a hash) never compare equal.
func TestEqualFailsClosed(t *testing.T) {
	for _, c := range []struct {
		a, b []byte
		want bool
	}{
		{nil, nil, false},
		{[]byte{}, nil, false},
		{nil, []byte("x"), false},
		{[]byte("x"), []byte{}, false},
		{[]byte("x"), []byte("y"), false},
		{[]byte("xy"), []byte("x"), false},
		{[]byte("x"), []byte("x"), true},
	} {
		if got := Equal(c.a, c.b); got != c.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestSeal(t *testing.T) {
	key := []byte("server key")
	sealed := Seal(key, "qr-code", []byte("THE-CODE"), []byte("uuid1"))
	if p, err := Open(key, "qr-code", sealed, []byte("uuid1")); err != nil || string(p) != "THE-CODE" {
		t.Fatalf("Open = %q, %v", p, err)
	}
	tampered := append([]byte{}, sealed...)
	tampered[len(tampered)-1] ^= 1
	for name, tt := range map[string]struct {
		key, sealed, ad []byte
		purpose         string
	}{
		"other ticket":  {key, sealed, []byte("uuid2"), "qr-code"},
		"other key":     {[]byte("other"), sealed, []byte("uuid1"), "qr-code"},
		"no key":        {nil, sealed, []byte("uuid1"), "qr-code"},
		"other purpose": {key, sealed, []byte("uuid1"), "x"},
		"tampered":      {key, tampered, []byte("uuid1"), "qr-code"},
		"truncated":     {key, sealed[:10], []byte("uuid1"), "qr-code"},
		"empty":         {key, nil, []byte("uuid1"), "qr-code"},
	} {
		t.Run(name, func(t *testing.T) {
			if p, err := Open(tt.key, tt.purpose, tt.sealed, tt.ad); err != ErrOpen || p != nil {
				t.Fatalf("Open = %q, %v; want ErrOpen", p, err)
			}
		})
	}
}
