package rules

import "testing"

func TestRedirectURL(t *testing.T) {
	tests := []struct{ uri, code, state, want string }{
		{"https://rp.example/cb", "C", "S", "https://rp.example/cb?code=C&state=S"},
		{"https://rp.example/cb?a=1", "C", "S", "https://rp.example/cb?a=1&code=C&state=S"},
		{"https://rp.example/cb?", "C", "S", "https://rp.example/cb?code=C&state=S"},
		{"https://rp.example/cb?a=1&", "C", "S", "https://rp.example/cb?a=1&code=C&state=S"},
		{"https://rp.example/cb#frag", "C", "S", "https://rp.example/cb?code=C&state=S#frag"},
		{"https://rp.example/cb?x=%2F", "C", "a b&c=d", "https://rp.example/cb?x=%2F&code=C&state=a+b%26c%3Dd"},
		{"https://rp.example/cb", "C", "", "https://rp.example/cb?code=C&state="},
	}
	for _, tt := range tests {
		if got := RedirectURL(tt.uri, tt.code, tt.state); got != tt.want {
			t.Errorf("RedirectURL(%q, %q, %q) = %q, want %q", tt.uri, tt.code, tt.state, got, tt.want)
		}
	}
}
