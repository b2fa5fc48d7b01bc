package tray

import "testing"

func TestOpenURLRefusesOtherSchemes(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "javascript:alert(1)", "ms-settings:", "//evil.example", ""} {
		if err := openURL(u); err == nil {
			t.Errorf("openURL(%q) accepted", u)
		}
	}
}
