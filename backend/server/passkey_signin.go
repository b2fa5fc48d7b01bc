package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
)

// passkeyRefusal is why a passkey sign-in was refused: the sign-in log's
// reason, what it says for people, and what the page tells the person.
type passkeyRefusal struct {
	reason, detail, msg string
	status              int
}

var (
	refusePasskeyInvalid = passkeyRefusal{"passkey_invalid", "A passkey answer that does not verify (another site's, forged, or a passkey removed)",
		"That passkey is not one this site knows, or its answer did not verify. Try again, or sign in another way.", http.StatusUnauthorized}
	refusePasskeyStale = passkeyRefusal{"passkey_stale", "A passkey answer to a challenge expired or answered before",
		"This sign-in took too long or was already used. Try again.", http.StatusBadRequest}
	refusePasskeyCloned = passkeyRefusal{"passkey_cloned", "The passkey's signature counter went back: a copy of the authenticator, or a replay",
		"This passkey looks copied, so it cannot sign in. Sign in another way, then remove it on your account page and register a new one.", http.StatusUnauthorized}
	refusePasskeyOtherPerson = passkeyRefusal{"passkey_other_person", "A passkey of someone other than the person whose password was right",
		"That passkey is someone else's. Use your own, or enter your code.", http.StatusUnauthorized}
)

// handlePasskeySignIn finishes a passkey sign-in, from every page that
// offers one: the login form (the hosted page's "password instead" link
// of both faces, /login, and so the phone page behind a QR code and the
// /device page, which send a signed-out person there), and the code form
// after a right password (step), where the passkey must be the same
// person's. It then goes on as a password sign-in does: to next, or to
// the app of the OpenID Connect request next resumes.
func (s *Server) handlePasskeySignIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := consoleLang(nil, r)
	next, rawStep := safeNext(r.PostFormValue("next")), r.PostFormValue("step")
	ip, key := s.clientIP(r), s.clientKey(r)
	var st secondStep
	if rawStep != "" {
		var ok bool
		if st, ok = s.openStep(rawStep); !ok {
			p := s.loginPage(ctx, lang, next, "", "")
			p.Error = tr(lang, "This sign-in took too long. Enter your password again.")
			s.render(w, r, http.StatusBadRequest, "login", p)
			return
		}
		next = st.Next
	}
	fail := func(status int, msg string) {
		if rawStep != "" {
			s.renderCodeForm(w, r, rawStep, next, tr(lang, msg), status)
			return
		}
		p := s.loginPage(ctx, lang, next, "", "")
		p.Error = tr(lang, msg)
		s.render(w, r, status, "login", p)
	}
	if s.rp == nil {
		fail(http.StatusNotFound, "This site does not offer passkeys. Sign in another way.")
		return
	}
	// Answers that fail count against the address as wrong passwords do.
	switch ok, err := s.loginIP.Take(ctx, key); {
	case err != nil:
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	case !ok:
		fail(http.StatusTooManyRequests, "Too many failed sign-ins. Wait 15 minutes, then try again.")
		return
	}
	refusal := storage.Event{UserID: st.UserID, Method: storage.MethodPasskey, Face: "web", Addr: ip}
	refuse := func(why passkeyRefusal, err error) {
		s.log.WarnContext(ctx, "passkey sign-in refused", "reason", why.reason, "addr", ip, "err", err)
		s.signin.Refused(context.WithoutCancel(ctx), refusal, why.reason, why.detail)
		fail(why.status, why.msg)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(r.PostFormValue("credential")))
	if err != nil {
		refuse(refusePasskeyInvalid, err)
		return
	}
	var pk storage.Passkey
	var u storage.User
	lookup := func(rawID, userHandle []byte) (webauthn.User, error) {
		var err error
		if pk, err = s.store.GetPasskey(ctx, rawID); err != nil {
			return nil, fmt.Errorf("find the passkey: %w", err)
		}
		if string(userHandle) != pk.UserID {
			return nil, errors.New("the passkey is not the user handle's")
		}
		if u, err = s.store.GetUser(ctx, pk.UserID); err != nil {
			return nil, fmt.Errorf("find its person: %w", err)
		}
		c, err := credential(pk)
		if err != nil {
			return nil, err
		}
		return passkeyUser{u: u, creds: []webauthn.Credential{c}}, nil
	}
	session := webauthn.SessionData{Challenge: parsed.Response.CollectedClientData.Challenge, RelyingPartyID: s.rp.Config.RPID,
		UserVerification: protocol.VerificationRequired}
	_, cred, err := s.rp.ValidatePasskeyLogin(lookup, session, parsed)
	if pk.UserID != "" {
		refusal.UserID = pk.UserID
	}
	if err != nil {
		if isSystem(err) {
			s.log.ErrorContext(ctx, "passkey sign-in", "err", err)
			fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
			return
		}
		refuse(refusePasskeyInvalid, err)
		return
	}
	if err := s.spendChallenge(ctx, session.Challenge, ""); err != nil {
		if isSystem(err) {
			s.log.ErrorContext(ctx, "passkey sign-in", "err", err)
			fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
			return
		}
		refuse(refusePasskeyStale, err)
		return
	}
	count := parsed.Response.AuthenticatorData.Counter
	if cred.Authenticator.CloneWarning {
		s.passkeyCloned(ctx, pk, count, ip)
		refuse(refusePasskeyCloned, fmt.Errorf("counter %d after %d", count, pk.SignCount))
		return
	}
	switch err := s.store.UsePasskey(ctx, pk.ID, count, cred.Flags.BackupState, s.now()); {
	case errors.Is(err, storage.ErrAlreadyUsed): // another replica took this count first
		s.passkeyCloned(ctx, pk, count, ip)
		refuse(refusePasskeyCloned, fmt.Errorf("counter %d taken", count))
		return
	case err != nil:
		s.log.ErrorContext(ctx, "passkey sign-in", "err", err)
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	}
	if rawStep != "" && pk.UserID != st.UserID {
		refuse(refusePasskeyOtherPerson, nil)
		return
	}
	s.loginIP.Release(context.WithoutCancel(ctx), key)
	if !u.Active() {
		s.signin.Refused(ctx, refusal, "disabled", "Right passkey, but the account is disabled")
		fail(http.StatusForbidden, "This account was disabled by an administrator. Ask them to enable it.")
		return
	}
	how := passkeyHow(pk.BackupEligible)
	if err := s.startSession(ctx, w, u, how); err != nil {
		s.log.ErrorContext(ctx, "passkey sign-in", "err", err)
		fail(http.StatusInternalServerError, "Could not sign you in; try again.")
		return
	}
	s.signin.Event(ctx, storage.Event{UserID: u.ID, Kind: "login", Detail: "web sign-in from " + ip + " with passkey " + fmt.Sprintf("%q", pk.Name),
		Method: storage.MethodPasskey, Face: "web", Addr: ip, Result: storage.ResultOK})
	if ar, ok := s.resumeRequest(ctx, next); ok {
		s.oidcSignIn(w, r, ar, u.ID, s.now(), how, fmt.Sprintf("passkey %q", pk.Name))
		return
	}
	if req, _, ok := s.wechatResume(ctx, next); ok {
		s.completeSignIn(w, r, signin.Request{AppID: req.AppID, RedirectURI: req.RedirectURI, Scope: req.Scope, State: req.State},
			u.ID, s.now(), how, fmt.Sprintf("passkey %q", pk.Name))
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// passkeyCloned records a passkey whose counter went back: an alert in
// the person's log (her account page and the webhook show it).
func (s *Server) passkeyCloned(ctx context.Context, pk storage.Passkey, count uint32, ip string) {
	s.signin.Event(context.WithoutCancel(ctx), storage.Event{UserID: pk.UserID, Kind: "alert", Addr: ip,
		Detail: fmt.Sprintf("passkey %q answered with signature counter %d, not above %d: a copy of it may exist; it was refused", pk.Name, count, pk.SignCount)})
}

// isSystem reports whether err is the system failing (the database), not
// a refusal of what the client sent.
func isSystem(err error) bool {
	return errors.Is(err, storage.ErrUnavailable) || (err != nil && !errors.Is(err, storage.ErrNotFound) && !isProtocol(err) &&
		!errors.Is(err, errChallengeForged) && !errors.Is(err, errChallengeExpired) && !errors.Is(err, errChallengeSpent))
}

func isProtocol(err error) bool {
	var pe *protocol.Error
	return errors.As(err, &pe)
}
