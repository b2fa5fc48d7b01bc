// Package dialog raises the native confirmation for a sign-in: zenity or
// kdialog on Linux, osascript on macOS, MessageBoxW on Windows (one file
// per OS). Only an explicit choice of Allow allows; Escape, closing the
// window, a crash of the dialog program or the end of the request deny.
// Deny is the default button on every OS, so Return or Space on a fresh
// dialog denies, and an Allow within InputDelay of the dialog appearing
// is not taken: a page that has the user typing when the dialog opens
// (keystroke-jacking) gets a denial, not a sign-in.
package dialog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
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
func Title(r broker.Request) string {
	if r.Kind == broker.KindPhone {
		return "scanfree: share your phone number with " + clean(r.AppName) + "?"
	}
	return "scanfree: sign in to " + clean(r.AppName) + "?"
}

// Text is the question shown for r, and how long it waits.
func Text(r broker.Request) string {
	var q string
	switch r.Kind {
	case broker.KindApp:
		q = fmt.Sprintf("%s on this computer wants to sign you in as %s.\n\nProgram: %s\nOnce allowed, it signs in without asking until you forget it (`scanfreed apps forget`).",
			clean(r.AppName), clean(r.Account), clean(r.Origin))
	case broker.KindPhone:
		q = fmt.Sprintf("%s on this computer wants your phone number (%s).\n\nProgram: %s\nIt gets the number only if you allow it, once for this app.",
			clean(r.AppName), clean(r.Scope), clean(r.Origin))
	default:
		q = fmt.Sprintf("Sign in to %s as %s?\n\nRequested by: %s\nYou will be sent to: %s\nIt gets: %s",
			clean(r.AppName), clean(r.Account), clean(r.Origin), clean(r.RedirectHost), scopeText(clean(r.Scope)))
	}
	if wait := r.Expires.Sub(r.Created).Round(time.Second); wait > 0 {
		q += fmt.Sprintf("\nThis window closes by itself in %d s; closing it denies.", int(wait.Seconds()))
	}
	return q
}

// scopeWords are what each scope gives the app, in people's words.
var scopeWords = map[string]string{
	"snsapi_login": "your name and picture", "snsapi_userinfo": "your name and picture", "profile": "your name and picture",
	"snsapi_base": "who you are", "openid": "who you are", "email": "your email address", "phone": "your phone number",
}

// scopeText is scope in people's words, the scope itself after it.
func scopeText(scope string) string {
	var words []string
	for _, s := range strings.FieldsFunc(scope, func(r rune) bool { return r == ' ' || r == ',' }) {
		w, ok := scopeWords[s]
		if !ok {
			w = s
		}
		if !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return scope
	}
	return strings.Join(words, ", ") + " (" + scope + ")"
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

// InputDelay is how long after the dialog is raised an Allow is ignored.
const InputDelay = time.Second

// Confirm implements broker.Frontend.
func (*Dialog) Confirm(ctx context.Context, r broker.Request) (bool, error) {
	shown := time.Now()
	allow, err := confirm(ctx, Title(r), Text(r))
	return taken(allow, time.Since(shown)), err
}

// taken reports whether an answer given after elapsed allows.
func taken(allow bool, elapsed time.Duration) bool {
	return allow && elapsed >= InputDelay
}

// Program names the dialog program this system would use, or explains why
// there is none (for `scanfreed doctor`).
func Program() (string, error) { return program() }
