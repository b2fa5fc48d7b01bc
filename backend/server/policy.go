package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
)

// The password policy (serve --password-signin, and per app): "on", a
// password alone signs in (then an authenticator code when the person
// set one up); "second-factor", a password signs in only followed by a
// passkey or an authenticator code; "off", no password form at all
// (desktops, phones, passkeys, and directory or provider sign-in stay).
// A new install asks for the second factor; one from before keeps taking
// a password alone, with a warning at every start, until its operator
// chooses.
//
// An app's own policy applies to the password form made for its OpenID
// Connect request and to sign-ins to it with a web session already made
// (a silent OpenID Connect sign-in, the phone approving a QR code): a
// session made with a password alone does not stand for a sign-in the
// app wants more for. The server's policy applies to every web session:
// under second-factor or off a password-only session from before the
// change no longer counts as signed in.

// passwordSigninKey names, in the store, the policy of a server told none.
const passwordSigninKey = "password-signin-default"

// installPasswordPolicy returns the policy of a server started without
// one: second-factor for a database made by this version or later, on
// for one from before (its migration marked it), with a warning.
func installPasswordPolicy(ctx context.Context, st storage.Storage, log *slog.Logger) (storage.PasswordPolicy, error) {
	v, err := st.Secret(ctx, passwordSigninKey, []byte(storage.PasswordSecondFactor))
	if err != nil {
		return "", fmt.Errorf("read the password policy of this install: %w", err)
	}
	p := storage.PasswordPolicy(v)
	if !p.Valid() {
		return "", fmt.Errorf("the stored password policy %q is not on, second-factor or off: set --password-signin", v)
	}
	if p == storage.PasswordOn {
		log.Warn("password sign-in: a password alone still signs people in, as before this version; set --password-signin=second-factor to also ask for a passkey or an authenticator code (new installs do), or off to take no passwords")
	}
	return p, nil
}

// serverPolicy is the server's password policy.
func (s *Server) serverPolicy() storage.PasswordPolicy {
	if s.cfg.PasswordSignin == "" {
		return storage.PasswordOn
	}
	return s.cfg.PasswordSignin
}

// appPolicy is app's password policy: its own, else the server's.
func (s *Server) appPolicy(app storage.App) storage.PasswordPolicy {
	if app.Fence.PasswordSignin != "" {
		return app.Fence.PasswordSignin
	}
	return s.serverPolicy()
}

// passwordPolicy is the policy of the password form going on to next:
// that of the app whose OpenID Connect request next completes, or whose
// QR code next approves (the phone page), else the server's.
func (s *Server) passwordPolicy(ctx context.Context, next string) storage.PasswordPolicy {
	if app, ok := s.nextApp(ctx, next); ok {
		return s.appPolicy(app)
	}
	return s.serverPolicy()
}

// nextApp is the app a sign-in going on to next is for: that of the
// OpenID Connect request next completes, or of the QR code the phone
// page next approves.
func (s *Server) nextApp(ctx context.Context, next string) (storage.App, bool) {
	var appID string
	if ar, ok := s.resumeRequest(ctx, next); ok {
		appID = ar.ClientID
	} else if id, ok := strings.CutPrefix(next, "/x/"); ok {
		t, err := s.tickets.Get(ctx, id)
		if err != nil {
			return storage.App{}, false
		}
		appID = t.AppID
	} else {
		return storage.App{}, false
	}
	app, err := s.store.GetApp(ctx, appID)
	return app, err == nil
}

// sessionEnough reports whether a web session made as se records stands
// for a sign-in under policy p: a password alone does not, unless p
// takes one.
func sessionEnough(se storage.Session, p storage.PasswordPolicy) bool {
	return p == storage.PasswordOn || !signin.HowNamed(se.Method).PasswordOnly()
}
