package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/secret"
)

func writeOAuthErr(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, deviceapi.OAuthError{Error: code, Description: desc})
}

func (s *Server) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	if r.PostForm.Get("client_id") != deviceapi.ClientID {
		writeOAuthErr(w, http.StatusUnauthorized, "invalid_client", "unknown client_id")
		return
	}
	// Unauthenticated by nature (the desktop has no credential yet), so
	// counted per client address: each one is a row and a user_code.
	ip := s.clientIP(r)
	switch ok, err := s.enrolIP.Take(r.Context(), limitKey(ip)); {
	case err != nil:
		writeOAuthErr(w, http.StatusServiceUnavailable, "temporarily_unavailable", "retry later")
		return
	case !ok:
		w.Header().Set("Retry-After", "60")
		writeOAuthErr(w, http.StatusTooManyRequests, "slow_down", "too many sign-ins started from this address; wait a minute")
		return
	}
	name := trimLen(r.PostForm.Get("device_name"), 100)
	if name == "" {
		name = "unnamed device"
	}
	now := s.now()
	deviceCode := secret.Token()
	da := storage.DeviceAuth{DeviceCodeHash: secret.Hash(deviceCode), ClientID: deviceapi.ClientID, DeviceName: name,
		OS: trimLen(r.PostForm.Get("os"), 40), RequestIP: ip, Status: storage.DeviceAuthPending, Interval: s.cfg.DeviceInterval,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.DeviceCodeTTL)}
	// 20^8 codes make a collision with a live one rare; retry the few that hit.
	var err error
	for range 5 {
		da.UserCode = secret.UserCode()
		if err = s.store.CreateDeviceAuth(r.Context(), da); !errors.Is(err, storage.ErrAlreadyExists) {
			break
		}
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "device authorization", "err", err)
		writeOAuthErr(w, http.StatusInternalServerError, "server_error", "retry later")
		return
	}
	verify := s.public.JoinPath("/device").String()
	writeJSON(w, http.StatusOK, deviceapi.DeviceAuthorization{
		DeviceCode:              deviceCode,
		UserCode:                secret.FormatUserCode(da.UserCode),
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?user_code=" + secret.FormatUserCode(da.UserCode),
		ExpiresIn:               int(s.cfg.DeviceCodeTTL.Seconds()),
		Interval:                max(1, int(s.cfg.DeviceInterval.Seconds())), // whole seconds on the wire
	})
}

// handleToken serves POST /oauth2/token: the device_code grant that
// enrols desktops, and the OpenID Connect face's authorization_code and
// refresh_token grants. WeChat relying parties use /sns/oauth2/access_token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case deviceapi.GrantTypeDeviceCode:
	case "authorization_code", "refresh_token":
		s.handleOIDCToken(w, r, gt)
		return
	default:
		writeOAuthErr(w, http.StatusBadRequest, "unsupported_grant_type",
			"grant_type must be authorization_code, refresh_token or "+deviceapi.GrantTypeDeviceCode)
		return
	}
	if r.PostForm.Get("client_id") != deviceapi.ClientID {
		writeOAuthErr(w, http.StatusUnauthorized, "invalid_client", "unknown client_id")
		return
	}
	deviceCode := r.PostForm.Get("device_code")
	if deviceCode == "" {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_request", "device_code missing")
		return
	}
	ctx := r.Context()
	// A desktop that proves a key gets a credential bound to it.
	var jkt string
	if len(r.Header.Values(dpop.Header)) > 0 || s.cfg.RequireDPoP {
		v, err := s.checkProof(w, r, "")
		switch {
		case errors.Is(err, dpop.ErrNonce):
			writeOAuthErr(w, http.StatusBadRequest, "use_dpop_nonce", "sign the proof with the DPoP-Nonce of this answer")
			return
		case errors.Is(err, dpop.ErrInvalid) && s.cfg.RequireDPoP && len(r.Header.Values(dpop.Header)) == 0:
			writeOAuthErr(w, http.StatusBadRequest, "invalid_dpop_proof", "this server needs desktops to prove their key; update scanfreed")
			return
		case errors.Is(err, dpop.ErrInvalid) || errors.Is(err, errProofReplayed):
			writeOAuthErr(w, http.StatusBadRequest, "invalid_dpop_proof", err.Error())
			return
		case err != nil:
			s.log.ErrorContext(ctx, "device token proof", "err", err)
			writeOAuthErr(w, http.StatusInternalServerError, "server_error", "retry later")
			return
		}
		jkt = v.JKT
	}
	hash := secret.Hash(deviceCode)
	da, err := s.store.GetDeviceAuth(ctx, hash)
	if errors.Is(err, storage.ErrNotFound) {
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "unknown device_code")
		return
	}
	if err != nil {
		s.log.ErrorContext(ctx, "device token", "err", err)
		writeOAuthErr(w, http.StatusInternalServerError, "server_error", "retry later")
		return
	}
	now := s.now()
	switch {
	case da.Status == storage.DeviceAuthConsumed:
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "device_code already used")
	case !now.Before(da.ExpiresAt):
		writeOAuthErr(w, http.StatusBadRequest, "expired_token", "the device code expired; start again with `scanfreed login`")
	case da.Status == storage.DeviceAuthDenied:
		writeOAuthErr(w, http.StatusBadRequest, "access_denied", "the user denied the sign-in")
	case da.Status == storage.DeviceAuthPending:
		s.pendingPoll(ctx, w, da, now)
	case da.Status == storage.DeviceAuthApproved:
		s.issueDeviceCredential(ctx, w, da, jkt, s.clientIP(r), now)
	default:
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "unknown device authorization state")
	}
}

// pendingPoll answers authorization_pending, or slow_down to a client that
// polls faster than its interval; each slow_down adds 5 s (RFC 8628 3.5).
func (s *Server) pendingPoll(ctx context.Context, w http.ResponseWriter, da storage.DeviceAuth, now time.Time) {
	tooFast, interval, err := s.store.PollDeviceAuth(ctx, da.DeviceCodeHash, now, 5*time.Second)
	if err != nil {
		s.log.ErrorContext(ctx, "device poll", "err", err)
		writeOAuthErr(w, http.StatusInternalServerError, "server_error", "retry later")
		return
	}
	if tooFast {
		writeJSON(w, http.StatusBadRequest, deviceapi.OAuthError{Error: "slow_down",
			Description: "polling too fast", Interval: int(interval.Seconds())})
		return
	}
	writeOAuthErr(w, http.StatusBadRequest, "authorization_pending", "waiting for the user to approve")
}

// issueDeviceCredential enrols the desktop of the approved da, polling
// from addr, with its credential bound to the proof key jkt when it
// proved one.
func (s *Server) issueDeviceCredential(ctx context.Context, w http.ResponseWriter, da storage.DeviceAuth, jkt, addr string, now time.Time) {
	// Disabled between the approval and this poll: no credential.
	if u, err := s.store.GetUser(ctx, da.UserID); err != nil || !u.Active() {
		writeOAuthErr(w, http.StatusBadRequest, "access_denied", "the account was disabled; ask your administrator")
		return
	}
	cred := secret.Token()
	d := storage.Device{ID: "dev_" + secret.Code()[:16], UserID: da.UserID, Name: da.DeviceName, OS: da.OS,
		CredentialHash: secret.Hash(cred), CreatedAt: now, LastSeenAt: now, LastAddr: addr, KeyThumbprint: jkt}
	tokenType := "Bearer"
	if jkt != "" {
		d.KeyProtection, tokenType = "software", dpop.Scheme
	}
	// The cap holds for every way a desktop is approved (the page, the
	// CLI): checked when the credential is issued, and again by the store
	// in the enrolment's transaction, so enrolments at once cannot both
	// take the last place (the loser makes room again, or is refused).
	var err error
	for range 3 {
		var ok bool
		if ok, err = s.makeRoom(ctx, da.UserID, da.DeviceName, da.RequestIP); err == nil && !ok {
			writeOAuthErr(w, http.StatusBadRequest, "access_denied", s.capMessage())
			return
		}
		if err == nil {
			err = s.store.CompleteDeviceAuth(ctx, da.DeviceCodeHash, d, s.cfg.MaxDesktops)
		}
		if !errors.Is(err, storage.ErrTooManyDevices) {
			break
		}
	}
	if errors.Is(err, storage.ErrTooManyDevices) { // evicted three times and lost each race: let the desktop poll again
		writeOAuthErr(w, http.StatusBadRequest, "slow_down", "many desktops of this account are enrolling at once; retrying")
		return
	}
	if errors.Is(err, storage.ErrNotPending) {
		// A concurrent poll won the race and got the credential.
		writeOAuthErr(w, http.StatusBadRequest, "invalid_grant", "device_code already used")
		return
	}
	if err != nil {
		s.log.ErrorContext(ctx, "device enrol", "err", err)
		writeOAuthErr(w, http.StatusInternalServerError, "server_error", "retry later")
		return
	}
	s.signin.Event(ctx, storage.Event{UserID: d.UserID, Kind: "device_enrolled", DeviceID: d.ID, Detail: d.Name + " (" + d.OS + ") enrolled"})
	writeJSON(w, http.StatusOK, deviceapi.DeviceToken{AccessToken: cred, TokenType: tokenType, DeviceID: d.ID})
}

// devicePageData fills the user_code form and its confirmation.
type devicePageData struct {
	UserCode string
	// FromLink is set when the code came in the page's URL: someone may
	// have sent the link (device-code phishing), so the page warns.
	FromLink bool
	Auth     storage.DeviceAuth
	// SameAddress reports whether the enrolment was started from the
	// address the person approves from; Age is how long ago it started.
	SameAddress bool
	Age         string
}

func (s *Server) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	code := trimLen(r.URL.Query().Get("user_code"), 20)
	s.render(w, r, http.StatusOK, "device", page{Title: "Sign in a desktop", User: u,
		Data: devicePageData{UserCode: code, FromLink: code != "" && !s.ownEnrolment(r, u, code)}})
}

// ownEnrolmentAge is how long after `scanfreed login` printed its link
// the link still counts as the person's own, when opened from the network
// the desktop asked from.
const ownEnrolmentAge = time.Minute

// ownEnrolment reports whether the code in a /device link is that of a
// desktop sign-in started from this browser's network within
// ownEnrolmentAge: the link `scanfreed login` just opened for this
// person. Warning there would teach people to click through the warning
// that matters, on a link someone sent. The link's code is looked up as a
// typed one is, a guess counted, so the page is no oracle for codes.
func (s *Server) ownEnrolment(r *http.Request, u *storage.User, typed string) bool {
	da, found := s.findUserCode(r, u, typed)
	return found == codeFound && da.RequestIP == s.clientIP(r) && s.now().Sub(da.CreatedAt) < ownEnrolmentAge
}

// codeLookup is how looking a user_code up ended.
type codeLookup int

const (
	codeFound       codeLookup = iota
	codeWrong                  // no pending code: counted against the account and the address
	codeLockedOut              // too many wrong codes
	codeLimiterDown            // the guess could not be counted
	codeStoreDown              // the code could not be looked up
)

// findUserCode finds the pending authorization of typed. Wrong codes count
// against the account and the client address; after five within a code's
// lifetime both are locked out, which caps guessing at 5 tries per 10
// minutes against 20^8 codes. The try is reserved before the lookup, so a
// burst of wrong codes cannot all be looked up before the first one
// counted; a pending code gives it back.
func (s *Server) findUserCode(r *http.Request, u *storage.User, typed string) (storage.DeviceAuth, codeLookup) {
	ctx, ip := r.Context(), s.clientKey(r)
	ok, err := reserve(ctx, s.codeUser, u.ID, s.codeIP, ip)
	switch {
	case err != nil:
		return storage.DeviceAuth{}, codeLimiterDown
	case !ok:
		return storage.DeviceAuth{}, codeLockedOut
	}
	code, valid := secret.NormalizeUserCode(typed)
	if !valid {
		return storage.DeviceAuth{}, codeWrong
	}
	da, err := s.store.GetDeviceAuthByUserCode(ctx, code)
	switch {
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		s.log.Error("device lookup", "err", err)
		return da, codeStoreDown
	case err != nil || da.Status != storage.DeviceAuthPending || !s.now().Before(da.ExpiresAt):
		return da, codeWrong
	}
	s.codeUser.Release(ctx, u.ID)
	s.codeIP.Release(ctx, ip)
	return da, codeFound
}

// lookupUserCode finds the pending authorization of the posted user_code
// (findUserCode), answering with the device page's error when there is
// none.
func (s *Server) lookupUserCode(w http.ResponseWriter, r *http.Request, u *storage.User) (storage.DeviceAuth, bool) {
	typed := trimLen(r.PostFormValue("user_code"), 20)
	da, found := s.findUserCode(r, u, typed)
	switch found {
	case codeFound:
		return da, true
	case codeLimiterDown:
		s.message(w, r, http.StatusServiceUnavailable, u, "Try again", unavailableText)
	case codeStoreDown:
		s.message(w, r, http.StatusInternalServerError, u, "Error", "Could not look up the code; retry later.")
	case codeLockedOut:
		s.render(w, r, http.StatusTooManyRequests, "device", page{Title: "Sign in a desktop", User: u,
			Error: "Too many wrong codes. Wait 10 minutes, then start again on your desktop.", Data: devicePageData{UserCode: typed}})
	default:
		s.render(w, r, http.StatusBadRequest, "device", page{Title: "Sign in a desktop", User: u,
			Error: "That code is not valid or has expired. Check the code your desktop shows.", Data: devicePageData{UserCode: typed}})
	}
	return da, false
}

func (s *Server) handleDeviceLookup(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	da, ok := s.lookupUserCode(w, r, u)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "device_confirm", page{Title: "Sign in a desktop?", User: u,
		Data: devicePageData{UserCode: secret.FormatUserCode(da.UserCode), Auth: da, SameAddress: da.RequestIP == s.clientIP(r),
			Age: s.now().Sub(da.CreatedAt).Round(time.Second).String()}})
}

func (s *Server) handleDeviceDecide(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	da, ok := s.lookupUserCode(w, r, u)
	if !ok {
		return
	}
	approve := r.PostFormValue("decision") == "approve"
	// Over the cap, the page says so now rather than the desktop later.
	if approve && s.cfg.MaxDesktopsPolicy == CapRefuse {
		over, _, err := s.overCap(r.Context(), u.ID)
		if err != nil {
			s.log.Error("device decide", "err", err)
			s.message(w, r, http.StatusInternalServerError, u, "Error", "Could not record your answer; retry later.")
			return
		}
		if over {
			s.signin.Refused(r.Context(), storage.Event{UserID: u.ID, Method: storage.MethodDevice, Addr: s.clientIP(r)}, "cap",
				fmt.Sprintf("%s not enrolled: %d desktops is the most allowed", da.DeviceName, s.cfg.MaxDesktops))
			s.message(w, r, http.StatusConflict, u, "Too many desktops", capText, s.capArgs()...)
			return
		}
	}
	err := s.store.DecideDeviceAuth(r.Context(), da.UserCode, u.ID, approve)
	if errors.Is(err, storage.ErrNotPending) {
		s.message(w, r, http.StatusConflict, u, "Already decided", "This code was approved or denied already.")
		return
	}
	if err != nil {
		s.log.Error("device decide", "err", err)
		s.message(w, r, http.StatusInternalServerError, u, "Error", "Could not record your answer; retry later.")
		return
	}
	if approve {
		s.signin.Event(r.Context(), storage.Event{UserID: u.ID, Kind: "device_approved",
			Detail: da.DeviceName + " (" + da.OS + "), started from " + da.RequestIP + ", approved from " + s.clientIP(r),
			Method: storage.MethodDevice, Addr: s.clientIP(r), Result: storage.ResultOK})
		s.message(w, r, http.StatusOK, u, "Desktop approved", "%s is now signed in as %s. You can return to your desktop.", da.DeviceName, u.Nickname)
		return
	}
	s.signin.Event(r.Context(), storage.Event{UserID: u.ID, Kind: "device_denied", Detail: da.DeviceName + " (" + da.OS + ") denied",
		Method: storage.MethodDevice, Addr: s.clientIP(r), Result: storage.ResultRefused, Reason: "denied"})
	s.message(w, r, http.StatusOK, u, "Desktop denied", "The sign-in of %s was denied. Nothing was enrolled.", da.DeviceName)
}
