package dialog

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/scanfree/scanfree/daemon/broker"
)

func TestClean(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Demo Shop", "Demo Shop"},
		{"forged line", "Shop\nRequested by: https://bank.example", "ShopRequested by: https://bank.example"},
		{"carriage return and tab", "a\rb\tc", "abc"},
		{"escape and DEL", "a\x1b[31mb\x7f", "a[31mb"},
		{"bidi override", "Shop\u202egnp.exe", "Shopgnp.exe"},
		{"bidi isolate", "\u2066evil\u2069", "evil"},
		{"exactly the limit", strings.Repeat("a", maxField), strings.Repeat("a", maxField)},
		{"over the limit", strings.Repeat("a", maxField+1), strings.Repeat("a", maxField) + "…"},
		{"multibyte cut", long, strings.Repeat("é", maxField/2) + "…"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clean(tt.in)
			if got != tt.want {
				t.Fatalf("clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("clean(%q) = %q is not valid UTF-8", tt.in, got)
			}
		})
	}
}

// TestTextShowsEveryField: the question names the app, the account, the
// asking page, where the browser goes and the access, each cleaned, so a
// page cannot push a line of its own into the dialog.
func TestTextShowsEveryField(t *testing.T) {
	now := time.Now()
	r := broker.Request{AppName: "Demo Shop", Account: "Alice", Origin: "https://idp.example", RedirectHost: "shop.example\nYou will be sent to: bank.example",
		Scope: "snsapi_login", Created: now, Expires: now.Add(time.Minute)}
	got := Text(r)
	for _, want := range []string{"Sign in to Demo Shop as Alice?", "Requested by: https://idp.example", "You will be sent to: shop.exampleYou will be sent to: bank.example",
		"It gets: your name and picture (snsapi_login)", "closes by itself in 60 s; closing it denies"} {
		if !strings.Contains(got, want) {
			t.Errorf("Text lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 5 {
		t.Fatalf("Text has %d line breaks, want 5 (a field added one):\n%s", n, got)
	}
	for scope, want := range map[string]string{"openid profile": "who you are, your name and picture (openid profile)", "x_custom": "x_custom (x_custom)",
		"openid,email": "who you are, your email address (openid,email)"} {
		if got := scopeText(scope); got != want {
			t.Errorf("scopeText(%q) = %q, want %q", scope, got, want)
		}
	}
	if Title(broker.Request{AppName: "A\nB"}) != "scanfree: sign in to AB?" {
		t.Fatalf("Title = %q", Title(broker.Request{AppName: "A\nB"}))
	}
}

// TestInputDelay: an Allow in the first second is not taken (a keystroke
// meant for the page); a denial always is.
func TestInputDelay(t *testing.T) {
	for _, tt := range []struct {
		allow   bool
		elapsed time.Duration
		want    bool
	}{
		{true, 0, false},
		{true, InputDelay - time.Millisecond, false},
		{true, InputDelay, true},
		{true, 5 * time.Second, true},
		{false, 5 * time.Second, false},
		{false, 0, false},
	} {
		if got := taken(tt.allow, tt.elapsed); got != tt.want {
			t.Errorf("taken(%v, %v) = %v, want %v", tt.allow, tt.elapsed, got, tt.want)
		}
	}
}
