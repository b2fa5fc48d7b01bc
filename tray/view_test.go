package tray

import (
	"bytes"
	"image/png"
	"testing"
	"time"

	"github.com/scanfree/scanfree/daemon/control"
)

func TestViewOf(t *testing.T) {
	alice := &control.Account{Nickname: "Alice"}
	tests := []struct {
		name    string
		st      control.Status
		running bool
		state   State
		account string
	}{
		{"not running", control.Status{}, false, NotRunning, "scanfreed is not running"},
		{"signed out", control.Status{}, true, SignedOut, "Not signed in"},
		{"signing in", control.Status{Login: &control.Login{InProgress: true, UserCode: "BCDF-GHJK"}}, true, SignedOut, "Signing in: enter BCDF-GHJK on the web page"},
		{"ready", control.Status{SignedIn: true, Account: alice}, true, Ready, "Signed in as Alice"},
		{"paused", control.Status{SignedIn: true, Account: alice, Paused: true}, true, Paused, "Signed in as Alice"},
		{"locked", control.Status{SignedIn: true, Account: alice, Lock: "locked"}, true, Locked, "Signed in as Alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := ViewOf(tt.st, tt.running)
			if v.State != tt.state || v.Account != tt.account {
				t.Fatalf("ViewOf = %+v, want state %s, account %q", v, tt.state, tt.account)
			}
		})
	}
	v := ViewOf(control.Status{SignedIn: true, Pending: []control.Request{{ID: "r1", AppName: "Shop"}},
		Recent: make([]control.SignIn, 9)}, true)
	if v.Pending == nil || v.Pending.ID != "r1" || len(v.Recent) != maxRecent || !v.CanOut || v.CanSignIn {
		t.Fatalf("pending/recent view: %+v", v)
	}
	if v := ViewOf(control.Status{SignedIn: true, Paused: true, PausedUntil: time.Now().Add(time.Hour)}, true); !v.CanResume || v.CanPause {
		t.Fatalf("paused view: %+v", v)
	}
}

func TestIcons(t *testing.T) {
	seen := map[string]bool{}
	for s := range colors {
		img, err := png.Decode(bytes.NewReader(Icon(s)))
		if err != nil || img.Bounds().Dx() != 32 {
			t.Fatalf("icon %s: %v", s, err)
		}
		seen[string(Icon(s))] = true
	}
	if len(seen) != len(colors) {
		t.Fatal("two states share an icon")
	}
	// A waiting confirmation changes the shape, not only the colour: the
	// triangle's bottom corner is painted, where every disc is empty.
	opaque := func(icon []byte, x, y int) bool {
		img, err := png.Decode(bytes.NewReader(icon))
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, a := img.At(x, y).RGBA()
		return a != 0
	}
	pending := IconOf(View{State: Ready, Pending: &control.Request{}})
	if !opaque(pending, 3, 29) || !opaque(pending, 15, 4) || opaque(pending, 15, 24) {
		t.Fatal("the pending icon is not a triangle with an exclamation mark")
	}
	for s := range colors {
		if opaque(Icon(s), 3, 29) {
			t.Fatalf("the %s disc reaches the triangle's corner", s)
		}
	}
}

func TestAppAndPendingTitles(t *testing.T) {
	tests := []struct{ got, want string }{
		{AppTitle(control.AppConsent{AppName: "Chat"}), "Forget Chat (signs you in)"},
		{AppTitle(control.AppConsent{AppName: "Chat", PhoneAt: time.Now()}), "Forget Chat (signs you in, reads your phone number)"},
		{PendingTitle(control.Request{AppName: "Chat", Account: "Alice", Kind: "app"}), "Chat on this computer wants to sign you in as Alice"},
		{PendingTitle(control.Request{AppName: "Chat", Kind: "phone"}), "Chat on this computer wants your phone number"},
		{PendingTitle(control.Request{AppName: "Shop", Account: "Alice", Origin: "https://shop.example"}), "Sign in to Shop as Alice? (from https://shop.example)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestViewWarnings(t *testing.T) {
	w := []string{"a", "b", "c", "d"}
	if v := ViewOf(control.Status{SignedIn: true, PolicyWarnings: w}, true); len(v.Warnings) != maxWarnings || v.Warnings[0] != "a" {
		t.Fatalf("signed in with warnings: %+v", v.Warnings)
	}
	if v := ViewOf(control.Status{PolicyWarnings: w}, true); len(v.Warnings) != 0 {
		t.Fatalf("signed out, stale warnings shown: %+v", v.Warnings)
	}
}
