package dialog

import (
	"context"
	"os/exec"
	"strings"
)

func program() (string, error) { return exec.LookPath("osascript") }

// confirm runs an AppleScript dialog whose default button is Deny, so
// Return on a fresh dialog denies. AppleScript cannot place a dialog, so
// the click position is not used.
func confirm(ctx context.Context, title, text string) (bool, error) {
	script := `on run argv
display dialog (item 2 of argv) with title (item 1 of argv) buttons {"Deny", "Allow"} default button "Deny" cancel button "Deny" with icon caution
return button returned of result
end run`
	out, err := exec.CommandContext(ctx, "osascript", "-e", script, title, text).Output()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return false, nil // Deny is the cancel button: osascript exits non-zero
	}
	return strings.TrimSpace(string(out)) == "Allow", nil
}
