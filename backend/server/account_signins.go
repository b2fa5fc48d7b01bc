package server

import (
	"cmp"
	"context"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// signinView is one of the person's sign-ins as her account page lists
// it: to which app, how, and from where: the desktop that confirmed it, by
// its name, and the address it came from. The event's own detail is for
// the log; it names the hosted page's origin, which tells her nothing.
type signinView struct {
	At   time.Time
	App  string
	How  string // in the page's language
	From string
}

// howSignedIn is what each sign-in method is called on the account page.
var howSignedIn = map[string]string{
	storage.MethodScanFree:   "Your desktop, scan-free",
	storage.MethodQR:         "QR code, with your phone",
	storage.MethodPassword:   "Password",
	storage.MethodDesktopApp: "A program on your desktop",
	storage.MethodDevice:     "Desktop approval",
	storage.MethodUpstream:   "Your organisation's sign-in",
	storage.MethodPasskey:    "Passkey",
}

// signinViews are events (sign-ins) in lang, naming the desktops among
// devices (hers, revoked ones too).
func (s *Server) signinViews(ctx context.Context, lang string, events []storage.Event, devices []storage.Device) []signinView {
	names := map[string]string{}
	for _, d := range devices {
		names[d.ID] = d.Name
	}
	out := make([]signinView, 0, len(events))
	for _, e := range events {
		from := e.Addr
		if name := names[e.DeviceID]; name != "" {
			from = name
			if e.Addr != "" {
				from += ", " + e.Addr
			}
		}
		out = append(out, signinView{At: e.CreatedAt, App: s.appNameIn(ctx, lang, e.AppID),
			How: tr(lang, cmp.Or(howSignedIn[e.Method], e.Method)), From: from})
	}
	return out
}
