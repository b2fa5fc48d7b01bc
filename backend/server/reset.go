package server

import (
	"errors"
	"net/http"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// The one-time password reset link an operator hands a person
// (admin.ResetLink): /reset/{token} asks for the new password twice; its
// post sets it and ends every earlier sign-in, once.

func (s *Server) handleResetPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "reset", page{Title: "Choose a new password"})
}

func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	pw, again := r.PostFormValue("password"), r.PostFormValue("again")
	fail := func(status int, msg string) {
		s.render(w, r, status, "reset", page{Title: "Choose a new password", Error: msg})
	}
	if msg := newPasswordProblem(pw, again); msg != "" {
		fail(http.StatusBadRequest, msg)
		return
	}
	hash, err := s.newPasswordHash(r.Context(), s.clientKey(r), pw)
	if err != nil {
		fail(http.StatusServiceUnavailable, "Many people are signing in right now. Try again in a moment.")
		return
	}
	userID, err := s.store.UsePasswordReset(r.Context(), secret.Hash(r.PathValue("token")), hash, s.now())
	if errors.Is(err, storage.ErrNotFound) {
		s.message(w, r, http.StatusGone, nil, "Link used or expired", "This reset link was used already or is more than a day old. Ask your administrator for a new one.")
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "password reset", "err", err)
		fail(http.StatusServiceUnavailable, "Could not set the password; try again in a moment.")
		return
	}
	s.signin.Event(r.Context(), storage.Event{UserID: userID, Kind: "password_reset", Addr: s.clientIP(r),
		Detail: "password set with a one-time reset link; every desktop, sign-in and session ended"})
	s.message(w, r, http.StatusOK, nil, "Password set", "Your new password works now. Every earlier sign-in of yours ended: sign in again, and sign your desktops in with `scanfreed login`.")
}

// newPasswordProblem is what is wrong with a new password typed as pw and
// again, or "".
func newPasswordProblem(pw, again string) string {
	switch {
	case len(pw) < admin.MinPasswordLen:
		return "The password must have at least 8 characters."
	case pw != again:
		return "The two passwords differ. Type the same one twice."
	}
	return ""
}
