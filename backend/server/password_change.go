package server

import (
	"context"
	"net/http"

	"github.com/scanfree/scanfree/backend/storage"
)

// A person changes her own password at /account/password: her current
// one, then the new one twice. The current one is checked as a sign-in
// checks it (counted against the same budgets, so a browser left signed
// in is no way to guess it), and the change ends every sign-in of hers,
// this browser's too, as a reset does: people change a password when they
// fear someone has it. A person whose password a directory keeps is told
// to change it there.

// passwordView is the password page's.
type passwordView struct {
	// Local reports whether this server keeps her password.
	Local bool
}

func (s *Server) handlePasswordPage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "password", page{Title: "Change your password", User: u, Data: passwordView{Local: u.PasswordHash != ""}})
}

func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	current, pw, again := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("again")
	fail := func(status int, msg string) {
		s.render(w, r, status, "password", page{Title: "Change your password", User: u, Error: msg, Data: passwordView{Local: u.PasswordHash != ""}})
	}
	switch msg := newPasswordProblem(pw, again); {
	case u.PasswordHash == "":
		fail(http.StatusBadRequest, "Your password is not kept here. Change it where your organisation keeps it.")
		return
	case msg != "":
		fail(http.StatusBadRequest, msg)
		return
	case pw == current:
		fail(http.StatusBadRequest, "The new password is the one you have. Choose another.")
		return
	}
	if status, msg := s.checkCurrentPassword(r, u, current); msg != "" {
		fail(status, msg)
		return
	}
	hash, err := s.newPasswordHash(r.Context(), s.clientKey(r), pw)
	if err != nil {
		fail(http.StatusServiceUnavailable, "Many people are signing in right now. Try again in a moment.")
		return
	}
	if err := s.store.SetPassword(r.Context(), u.ID, hash, s.now()); err != nil {
		s.log.ErrorContext(r.Context(), "password change", "err", err)
		fail(http.StatusServiceUnavailable, "Could not set the password; try again in a moment.")
		return
	}
	s.signin.Event(r.Context(), storage.Event{UserID: u.ID, Kind: "password_changed", Addr: s.clientIP(r),
		Detail: "password changed on the account page; every desktop, sign-in and session ended"})
	s.message(w, r, http.StatusOK, nil, "Password changed", "Your new password works now. Every sign-in of yours ended, this one too: sign in again, and sign your desktops in with `scanfreed login`.")
}

// checkCurrentPassword checks u's current password as a sign-in would:
// against the address's and the account's budgets, a wrong one counted.
// It returns the page's status and message when it is not right.
func (s *Server) checkCurrentPassword(r *http.Request, u *storage.User, current string) (int, string) {
	ctx, key := r.Context(), s.clientKey(r)
	userKey := key + "/" + u.Username
	ok, err := reserve(ctx, s.loginIP, key, s.loginUser, userKey)
	switch {
	case err != nil:
		return http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment."
	case !ok:
		return http.StatusTooManyRequests, "Too many failed sign-ins. Wait 15 minutes, then try again."
	}
	switch _, v := s.checkLocal(ctx, key, u.Username, current); v {
	case verdictOK:
		s.loginIP.Release(context.WithoutCancel(ctx), key)
		s.loginUser.Reset(context.WithoutCancel(ctx), userKey)
		return 0, ""
	case verdictWrong:
		s.accountFailed(context.WithoutCancel(ctx), u.Username, u.ID)
		s.signin.Refused(context.WithoutCancel(ctx), storage.Event{UserID: u.ID, Method: storage.MethodPassword, Face: "web", Addr: s.clientIP(r)},
			"wrong_password", "Wrong current password on the password change form")
		return http.StatusUnauthorized, "That is not your current password."
	case verdictBusy:
		return http.StatusServiceUnavailable, "Many people are signing in right now. Try again in a moment."
	default:
		return http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment."
	}
}
