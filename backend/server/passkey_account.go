package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
)

// A passkey is added only by a person who confirmed it is her in the
// last ConsoleFreshness with more than a password (her desktop, a QR
// code, a passkey, or a password and an authenticator code): a password
// someone watched her type must not become a passkey of theirs.

// passkeyNewView is the registration page.
type passkeyNewView struct {
	Options string // the creation options, as JSON for the page's script
	Name    string
}

// confirmedUser returns the signed-in person when her sign-in is recent
// and more than a password. Else it sends her to confirm (or, when she
// just did with a password alone, says what else she can use) and
// reports false.
func (s *Server) confirmedUser(w http.ResponseWriter, r *http.Request) (*storage.User, bool) {
	u, se, ok := s.currentSession(r)
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/account/passkeys/new"), http.StatusSeeOther)
		return nil, false
	}
	fresh := s.now().Sub(se.CreatedAt) <= ConsoleFreshness
	switch {
	case fresh && !signin.HowNamed(se.Method).PasswordOnly():
		return u, true
	case fresh:
		s.message(w, r, http.StatusForbidden, u, "Add a passkey",
			"A password alone cannot add a passkey. Confirm it is you with your desktop or phone (sign out, then choose \"Sign in with your desktop or phone\"), or set up an authenticator app on your account page first.")
	default:
		http.Redirect(w, r, "/login?confirm=passkey&next="+url.QueryEscape("/account/passkeys/new")+"&login_hint="+url.QueryEscape(u.Username), http.StatusSeeOther)
	}
	return nil, false
}

// handlePasskeyNew shows the registration page: a name, and a button
// that asks the browser for a new passkey.
func (s *Server) handlePasskeyNew(w http.ResponseWriter, r *http.Request) {
	u, ok := s.confirmedUser(w, r)
	if !ok {
		return
	}
	if s.rp == nil {
		s.message(w, r, http.StatusNotFound, u, "Add a passkey", "This site does not offer passkeys: its address is not a host name. Ask its operator.")
		return
	}
	have, err := s.store.ListPasskeys(r.Context(), u.ID)
	if err != nil {
		s.log.ErrorContext(r.Context(), "passkeys", "err", err)
		s.message(w, r, http.StatusServiceUnavailable, u, "Add a passkey", "Could not load your passkeys; retry later.")
		return
	}
	// The browser does not make a second passkey in an authenticator that
	// has one for her already.
	var exclude []protocol.CredentialDescriptor
	for _, p := range have {
		exclude = append(exclude, protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: p.ID})
	}
	c, err := s.newChallenge(r.Context(), u.ID)
	var opts *protocol.CredentialCreation
	if err == nil {
		opts, _, err = s.rp.BeginRegistration(passkeyUser{u: *u}, webauthn.WithExclusions(exclude))
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "passkey options", "err", err)
		s.message(w, r, http.StatusServiceUnavailable, u, "Add a passkey", "Could not start; retry later.")
		return
	}
	opts.Response.Challenge = c
	b, _ := json.Marshal(opts)
	p := page{Title: "Add a passkey", User: u, Data: passkeyNewView{Options: string(b), Name: fmt.Sprintf("Passkey %d", len(have)+1)}, script: true}
	s.render(w, r, http.StatusOK, "passkey_new", p)
}

// handlePasskeyAdd checks the browser's new passkey against the
// challenge made for this person and keeps it.
func (s *Server) handlePasskeyAdd(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, ok := s.confirmedUser(w, r)
	if !ok {
		return
	}
	fail := func(status int, msg string, err error) {
		s.log.WarnContext(ctx, "passkey not added", "user", u.Username, "err", err)
		s.message(w, r, status, u, "Add a passkey", msg)
	}
	if s.rp == nil {
		fail(http.StatusNotFound, "This site does not offer passkeys.", nil)
		return
	}
	name := trimLen(strings.TrimSpace(r.PostFormValue("name")), 60)
	if name == "" {
		name = "Passkey"
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(r.PostFormValue("credential")))
	if err != nil {
		fail(http.StatusBadRequest, "The browser's answer was not a passkey. Start again from your account page.", err)
		return
	}
	session := webauthn.SessionData{Challenge: parsed.Response.CollectedClientData.Challenge, RelyingPartyID: s.rp.Config.RPID,
		UserID: []byte(u.ID), UserVerification: protocol.VerificationRequired, CredParams: webauthn.CredentialParametersDefault()}
	cred, err := s.rp.CreateCredential(passkeyUser{u: *u}, session, parsed)
	if err != nil {
		fail(http.StatusBadRequest, "The passkey did not verify (made for another site, or without unlocking the device). Start again from your account page.", err)
		return
	}
	if err := s.spendChallenge(ctx, session.Challenge, u.ID); err != nil {
		if isSystem(err) {
			fail(http.StatusServiceUnavailable, "Could not save it; try again.", err)
			return
		}
		fail(http.StatusBadRequest, "This page was open too long, or was sent twice. Start again from your account page.", err)
		return
	}
	data, err := json.Marshal(cred)
	if err == nil {
		err = s.store.AddPasskey(ctx, storage.Passkey{ID: cred.ID, UserID: u.ID, Name: name, Credential: data, SignCount: cred.Authenticator.SignCount,
			BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, CreatedAt: s.now()})
	}
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		fail(http.StatusConflict, "That passkey is registered already.", err)
		return
	case err != nil:
		fail(http.StatusServiceUnavailable, "Could not save it; try again.", err)
		return
	}
	synced := "kept on its device"
	if cred.Flags.BackupEligible {
		synced = "synced by its platform"
	}
	s.signin.Event(ctx, storage.Event{UserID: u.ID, Kind: "passkey_added", Addr: s.clientIP(r), Detail: fmt.Sprintf("passkey %q added (%s)", name, synced)})
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// passkeyParam is the credential id of the request's {id}.
func passkeyParam(r *http.Request) []byte {
	id, err := base64.RawURLEncoding.DecodeString(r.PathValue("id"))
	if err != nil {
		return nil
	}
	return id
}

// handlePasskeyRename renames one of the person's passkeys.
func (s *Server) handlePasskeyRename(w http.ResponseWriter, r *http.Request) {
	s.renameOwn(w, r, renaming{title: "Passkeys", empty: "Give the passkey a name.",
		gone: "That passkey is not yours, or was removed.", rename: func(ctx context.Context, userID, name string) error {
			return s.store.RenamePasskey(ctx, userID, passkeyParam(r), name)
		}})
}

// handlePasskeyRemove removes one of the person's passkeys.
func (s *Server) handlePasskeyRemove(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	if err := s.removePasskey(r, u.ID, passkeyParam(r), "on the account page"); err != nil {
		status, msg := http.StatusServiceUnavailable, "Could not remove it; retry later."
		if errors.Is(err, storage.ErrNotFound) {
			status, msg = http.StatusNotFound, "That passkey is not yours, or was removed already."
		}
		s.message(w, r, status, u, "Passkeys", msg)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// removePasskey removes userID's passkey id and logs it, saying where.
func (s *Server) removePasskey(r *http.Request, userID string, id []byte, where string) error {
	ctx := r.Context()
	p, err := s.store.GetPasskey(ctx, id)
	if err == nil && p.UserID != userID {
		err = storage.ErrNotFound
	}
	if err == nil {
		err = s.store.DeletePasskey(ctx, userID, id)
	}
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			s.log.ErrorContext(ctx, "remove passkey", "err", err)
		}
		return err
	}
	s.signin.Event(ctx, storage.Event{UserID: userID, Kind: "passkey_removed", Addr: s.clientIP(r), Detail: fmt.Sprintf("passkey %q removed %s", p.Name, where)})
	return nil
}
