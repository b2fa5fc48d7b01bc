package version

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, c := range []struct {
		in   Info
		want string
	}{
		{Info{Version: "v1.2.0", Commit: "1a2b3c4d5e6f7a8b", Time: "2026-12-01T10:00:00Z", Go: "go1.26.8"}, "v1.2.0 (commit 1a2b3c4d5e6f, 2026-12-01T10:00:00Z) go1.26.8"},
		{Info{Version: "(devel)", Commit: "abc", Modified: true, Go: "go1.26.8"}, "(devel) (commit abc with changes) go1.26.8"},
		{Info{Version: "unknown"}, "unknown"},
	} {
		if got := c.in.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.in, got, c.want)
		}
	}
	if s := String(); !strings.Contains(s, "go1.") {
		t.Errorf("this test binary's version %q names no Go version", s)
	}
}
