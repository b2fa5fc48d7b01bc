package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/daemon/dialog"
)

// XDo runs xdotool on display with a deadline and returns its output.
func XDo(display string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// AllowInDialog chooses Allow in the confirmation window win as a person
// does: focus, wait out the dialog's input delay (an Allow inside it is
// ignored, against keystroke-jacking), then Tab to Allow, since Deny has
// the focus, and Return.
func AllowInDialog(t testing.TB, display, win string) {
	t.Helper()
	if _, err := XDo(display, "windowfocus", "--sync", win); err != nil {
		t.Fatalf("windowfocus: %v", err)
	}
	// The window became visible some time after the daemon raised it, so
	// this much more is past the delay, measured from the raise.
	time.Sleep(dialog.InputDelay + 200*time.Millisecond)
	if _, err := XDo(display, "key", "Tab", "Return"); err != nil {
		t.Fatalf("xdotool key: %v", err)
	}
}
