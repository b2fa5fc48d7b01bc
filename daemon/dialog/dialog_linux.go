package dialog

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
)

func program() (string, error) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return "", errors.New("no graphical display (DISPLAY and WAYLAND_DISPLAY unset); answer with `scanfreed pending` and `scanfreed approve ID` or the tray")
	}
	for _, p := range []string{"zenity", "kdialog"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", errors.New("neither zenity nor kdialog is installed; install zenity (apt install zenity) or answer from the tray")
}

// confirm runs zenity or kdialog. Neither can place its window, so the
// click position is not used on Linux.
func confirm(ctx context.Context, title, text string) (bool, error) {
	path, err := program()
	if err != nil {
		return false, err
	}
	var cmd *exec.Cmd
	if strings.HasSuffix(path, "zenity") {
		// --switch with labelled buttons: the chosen label is printed, and
		// closing the window prints nothing (plain --question reports a
		// closed window as OK). Deny comes first and so has the focus:
		// Return or Space on a fresh dialog denies; Allow takes Tab or a click.
		cmd = exec.CommandContext(ctx, path, "--question", "--switch", "--no-markup", "--no-wrap",
			"--title", title, "--text", text, "--icon-name", "dialog-password",
			"--extra-button", "Deny", "--extra-button", "Allow")
	} else {
		// kdialog's --yesno focuses Yes; its warning variant makes No (Deny)
		// the default. Not exercised here: CI has no kdialog.
		cmd = exec.CommandContext(ctx, path, "--title", title, "--yes-label", "Allow", "--no-label", "Deny", "--warningyesno", text)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	// The dialog program's complaints (a display it cannot open, GTK
	// warnings) go where the daemon's own output goes: the only trace of
	// a dialog that died before anyone saw it, which reads as a denial.
	cmd.Stderr = os.Stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if strings.HasSuffix(path, "zenity") {
		// zenity exits 1 after an extra button; only the printed label counts.
		return strings.TrimSpace(out.String()) == "Allow", nil
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return false, err
	}
	return err == nil, nil
}
