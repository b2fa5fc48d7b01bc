package server

import "testing"

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/device?user_code=X":  "/device?user_code=X",
		"":                     "/account",
		"//evil.example":       "/account",
		`/\evil.example`:       "/account",
		"https://evil.example": "/account",
		"javascript:alert(1)":  "/account",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
