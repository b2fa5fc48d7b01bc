// Package dialog raises the native confirmation for a sign-in: zenity or
// kdialog on Linux, osascript on macOS, MessageBoxW on Windows (one file
// per OS). Only an explicit click on Allow allows; Escape, closing the
// window, a crash of the dialog program or the end of the request deny.
// Return activates Allow, the first button, because the user has just
// clicked "Continue as …" in the page and expects the question.
package dialog

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/scanfree/scanfree/daemon/broker"
)

// Dialog is the native-dialog frontend of the broker.
type Dialog struct{}

// New returns the dialog frontend. It does no I/O.
func New() *Dialog { return &Dialog{} }

// Name implements broker.Frontend.
func (*Dialog) Name() string { return "dialog" }

// Title is the dialog's window title for r (tests find the window by it).
func Title(r broker.Request) string { return "scanfree: sign in to " + clean(r.AppName) + "?" }

// Text is the question shown for r.
func Text(r broker.Request) string {
	return fmt.Sprintf("Sign in to %s as %s?\n\nRequested by: %s\nYou will be sent to: %s\nAccess: %s",
		clean(r.AppName), clean(r.Account), clean(r.Origin), clean(r.RedirectHost), clean(r.Scope))
}

// maxField bounds each field of the question, in bytes.
const maxField = 120

// clean drops control characters and bounds length, so names from the
// backend or the page cannot forge lines in the question.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return -1 // control and bidi-override characters
		}
		return r
	}, s)
	if len(s) > maxField {
		cut := maxField
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut-- // never split a character: the dialog must get valid UTF-8
		}
		s = s[:cut] + "…"
	}
	return s
}

// Confirm implements broker.Frontend.
func (*Dialog) Confirm(ctx context.Context, r broker.Request) (bool, error) {
	return confirm(ctx, Title(r), Text(r), r.Click)
}

// Program names the dialog program this system would use, or explains why
// there is none (for `scanfreed doctor`).
func Program() (string, error) { return program() }
