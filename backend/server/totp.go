package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"rsc.io/qr"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// Authenticator apps (TOTP, RFC 6238) as a second factor after a
// password: enrolled from the account page (a QR code, then a code from
// the app to prove it took), with ten one-time recovery codes shown once
// and kept hashed. The secret is kept sealed with the data key; a code
// is good once (the store records the newest time step accepted, so a
// code seen over a shoulder or replayed in its window is refused), and a
// wrong one counts against the account's ceiling as a wrong password
// does.

const (
	totpPeriod        = 30 // seconds: what every authenticator app assumes
	recoveryCodeCount = 10
	// secondStepTTL is how long the code form after a right password
	// stays good.
	secondStepTTL = 5 * time.Minute
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// secondStep is a sign-in whose password was right, waiting for its
// code; sealed into the code form, so it cannot be made without the
// password.
type secondStep struct {
	UserID    string `json:"u"`
	Username  string `json:"n"` // as typed: the account's ceiling is kept by it
	Next      string `json:"x"`
	Connector string `json:"c"`
	Expires   int64  `json:"e"`
}

func (s *Server) sealStep(st secondStep) string {
	b, _ := json.Marshal(st)
	return base64.RawURLEncoding.EncodeToString(secret.Seal(s.cfg.DataKey, secret.PurposeSecondStep, b, nil))
}

func (s *Server) openStep(v string) (secondStep, bool) {
	var st secondStep
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(s.cfg.DataKey) == 0 {
		return st, false
	}
	b, err := secret.Open(s.cfg.DataKey, secret.PurposeSecondStep, raw, nil)
	if err != nil || json.Unmarshal(b, &st) != nil || s.now().Unix() > st.Expires {
		return st, false
	}
	return st, true
}

// hasTOTP reports whether userID signs in with an authenticator code
// after her password.
func (s *Server) hasTOTP(ctx context.Context, userID string) (bool, error) {
	_, err := s.store.GetTOTP(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// checkSecondFactor reports whether code is userID's: a code of her
// authenticator not accepted before, or one of her recovery codes,
// spent. A code replayed in its window is no code.
func (s *Server) checkSecondFactor(ctx context.Context, userID, code string) (bool, error) {
	code = strings.NewReplacer(" ", "", "-", "").Replace(strings.ToLower(strings.TrimSpace(code)))
	if len(code) != 6 {
		if len(code) != 10 {
			return false, nil
		}
		err := s.store.UseRecoveryCode(ctx, userID, secret.Hash(code[:5]+"-"+code[5:]), s.now())
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	t, err := s.store.GetTOTP(ctx, userID)
	if err != nil {
		return false, err
	}
	key, err := secret.Open(s.cfg.DataKey, secret.PurposeTOTP, t.SecretSealed, []byte(userID))
	if err != nil {
		return false, fmt.Errorf("open the authenticator's secret: %w", err)
	}
	now := s.now().Unix() / totpPeriod
	for _, step := range []int64{now - 1, now, now + 1} { // a clock a step off either way
		want, err := totp.GenerateCodeCustom(string(key), time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		switch err := s.store.UseTOTPStep(ctx, userID, step); {
		case errors.Is(err, storage.ErrAlreadyUsed):
			return false, nil
		case err != nil:
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// recoveryCode is ten random base32 characters (50 bits), as
// xxxxx-xxxxx; base32 has no 0 or 1 to misread.
func recoveryCode() string {
	c := strings.ToLower(rand.Text())
	return c[:5] + "-" + c[5:10]
}

// totpSetupView is the enrolment page.
type totpSetupView struct {
	QR      template.URL // data: URL of the otpauth:// QR code, made here (so trusted as a URL)
	Secret  string       // the same, to type in
	Sealed  string       // the secret, sealed for this person, for the confirmation form
	Codes   []string
	Enabled bool
}

// handleTOTPSetup shows a new secret as a QR code and asks for a code.
func (s *Server) handleTOTPSetup(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	if len(s.cfg.DataKey) == 0 {
		s.message(w, r, http.StatusServiceUnavailable, u, "Authenticator app", "This server has no data key to keep an authenticator's secret with; ask its operator to set --data-key-file.")
		return
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.public.Hostname(), AccountName: u.Username, Period: totpPeriod})
	if err != nil {
		s.message(w, r, http.StatusInternalServerError, u, "Authenticator app", "Could not make a secret; try again.")
		return
	}
	s.render(w, r, http.StatusOK, "totp", page{Title: "Set up an authenticator app", User: u, Data: s.totpSetup(u.ID, key.Secret(), key.URL())})
}

func (s *Server) totpSetup(userID, sec, url string) totpSetupView {
	v := totpSetupView{Secret: sec, Sealed: base64.RawURLEncoding.EncodeToString(secret.Seal(s.cfg.DataKey, secret.PurposeTOTPSetup, []byte(sec+"\n"+url), []byte(userID)))}
	if code, err := qr.Encode(url, qr.M); err == nil {
		code.Scale = 5
		v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(code.PNG()))
	}
	return v
}

// handleTOTPEnable checks the code from the app against the secret the
// form carries and, when it matches, keeps the secret and shows the
// recovery codes once.
func (s *Server) handleTOTPEnable(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	raw, err := base64.RawURLEncoding.DecodeString(r.PostFormValue("sealed"))
	var b []byte
	if err == nil {
		b, err = secret.Open(s.cfg.DataKey, secret.PurposeTOTPSetup, raw, []byte(u.ID))
	}
	sec, url, _ := strings.Cut(string(b), "\n")
	if err != nil || sec == "" {
		s.message(w, r, http.StatusBadRequest, u, "Authenticator app", "This setup form is not yours or was damaged; start again from your account page.")
		return
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	opts := totpOpts
	opts.Skew = 1 // a clock a step off either way, as at sign-in
	if ok, _ := totp.ValidateCustom(code, sec, s.now(), opts); !ok {
		p := page{Title: "Set up an authenticator app", User: u, Data: s.totpSetup(u.ID, sec, url),
			Error: "That code does not match. Enter the code your app shows now (check that the phone's clock is right)."}
		s.render(w, r, http.StatusUnprocessableEntity, "totp", p)
		return
	}
	codes := make([]string, recoveryCodeCount)
	hashes := make([][]byte, recoveryCodeCount)
	for i := range codes {
		codes[i] = recoveryCode()
		hashes[i] = secret.Hash(codes[i])
	}
	// The code that proved the enrolment is spent: the step it came from
	// cannot sign in.
	t := storage.TOTP{UserID: u.ID, SecretSealed: secret.Seal(s.cfg.DataKey, secret.PurposeTOTP, []byte(sec), []byte(u.ID)), CreatedAt: s.now(),
		LastStep: s.now().Unix() / totpPeriod}
	if err := s.store.SetTOTP(r.Context(), t, hashes); err != nil {
		s.log.ErrorContext(r.Context(), "enable totp", "err", err)
		s.message(w, r, http.StatusInternalServerError, u, "Authenticator app", "Could not save it; try again.")
		return
	}
	s.signin.Event(r.Context(), storage.Event{UserID: u.ID, Kind: "totp_enabled", Detail: "authenticator app set up; a code is asked after the password"})
	s.render(w, r, http.StatusOK, "totp", page{Title: "Authenticator app set up", User: u, Data: totpSetupView{Codes: codes, Enabled: true}})
}

// handleTOTPRemove removes the person's authenticator and recovery codes.
func (s *Server) handleTOTPRemove(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	if err := s.store.DeleteTOTP(r.Context(), u.ID); err != nil {
		s.log.ErrorContext(r.Context(), "remove totp", "err", err)
		s.message(w, r, http.StatusInternalServerError, u, "Authenticator app", "Could not remove it; try again.")
		return
	}
	s.signin.Event(r.Context(), storage.Event{UserID: u.ID, Kind: "totp_removed", Detail: "authenticator app removed"})
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// codeView is the second step of a password sign-in: her authenticator
// app's code (TOTP), or one of her passkeys (Passkey), or either.
type codeView struct {
	Step    string
	TOTP    bool
	Passkey passkeyForm
}

// renderCodeForm asks for the second factor of the sign-in step seals,
// going on to next. A form that completes an OpenID Connect request may
// send the browser on to the app's redirect_uri (the page's CSP
// form-action says so, as the password form's does).
func (s *Server) renderCodeForm(w http.ResponseWriter, r *http.Request, step, next, msg string, status int) {
	ctx := r.Context()
	lang := consoleLang(nil, r)
	p := page{Title: tr(lang, "Enter your code"), Lang: lang, Error: msg}
	v := codeView{Step: step, TOTP: true}
	if st, ok := s.openStep(step); ok {
		f, err := s.secondFactors(ctx, st.UserID)
		if err == nil {
			v.TOTP = f.totp
			if f.passkeys {
				v.Passkey = s.passkeyOffer(ctx, &p, next, step)
			}
		}
		if !v.TOTP {
			p.Title = tr(lang, "Use your passkey")
		}
	}
	p.Data = v
	if ar, ok := s.resumeRequest(ctx, next); ok {
		p.formTarget = formTarget(ar)
	}
	s.render(w, r, status, "login_code", p)
}

// factors are the second factors a person has.
type factors struct{ totp, passkeys bool }

// any reports whether she has one.
func (f factors) any() bool { return f.totp || f.passkeys }

// secondFactors reads which second factors userID has.
func (s *Server) secondFactors(ctx context.Context, userID string) (factors, error) {
	var f factors
	var err error
	if f.totp, err = s.hasTOTP(ctx, userID); err != nil {
		return f, err
	}
	pks, err := s.store.ListPasskeys(ctx, userID)
	f.passkeys = len(pks) > 0 && s.rp != nil
	return f, err
}

// handleLoginCode is the second step of a password sign-in: the code of
// the person's authenticator app, or one of her recovery codes.
func (s *Server) handleLoginCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := consoleLang(nil, r)
	raw := r.PostFormValue("step")
	st, ok := s.openStep(raw)
	if !ok {
		p := s.loginPage(ctx, lang, "/account", "", "")
		p.Error = tr(lang, "This sign-in took too long. Enter your password again.")
		s.render(w, r, http.StatusBadRequest, "login", p)
		return
	}
	ip, key := s.clientIP(r), s.clientKey(r)
	userKey := key + "/" + st.Username
	fail := func(status int, msg string) { s.renderCodeForm(w, r, raw, st.Next, tr(lang, msg), status) }
	allowed, err := reserve(ctx, s.loginIP, key, s.loginUser, userKey)
	if err != nil {
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	}
	if !allowed {
		fail(http.StatusTooManyRequests, "Too many failed sign-ins. Wait 15 minutes, then try again.")
		return
	}
	// A wrong code counts as a wrong password does: per address, and
	// against the account's ceiling.
	failures, err := s.accountFailures(ctx, st.Username)
	if err == nil {
		err = s.waitForAccount(ctx, failures)
	}
	if err != nil {
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	}
	good, err := s.checkSecondFactor(ctx, st.UserID, r.PostFormValue("code"))
	if err != nil {
		s.log.ErrorContext(ctx, "login: check the code", "err", err)
		fail(http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again in a moment.")
		return
	}
	refusal := storage.Event{UserID: st.UserID, Method: storage.MethodPassword, Face: "web", Addr: ip}
	if !good {
		s.accountFailed(context.WithoutCancel(ctx), st.Username, st.UserID)
		s.signin.Refused(context.WithoutCancel(ctx), refusal, "wrong_code", "Right password, wrong authenticator code (or one used before)")
		fail(http.StatusUnauthorized, "Wrong code, or one used before. Enter the code your app shows now, or a recovery code.")
		return
	}
	s.loginIP.Release(context.WithoutCancel(ctx), key)
	s.loginUser.Reset(context.WithoutCancel(ctx), userKey)
	u, err := s.store.GetUser(ctx, st.UserID)
	if err != nil || !u.Active() {
		s.signin.Refused(ctx, refusal, "disabled", "Right password and code, but the account is disabled")
		fail(http.StatusForbidden, "This account was disabled by an administrator. Ask them to enable it.")
		return
	}
	if err := s.startSession(ctx, w, u, signin.ByPasswordTOTP); err != nil {
		s.log.ErrorContext(ctx, "login", "err", err)
		fail(http.StatusInternalServerError, "Could not sign you in; try again.")
		return
	}
	s.signin.Event(ctx, storage.Event{UserID: u.ID, Kind: "login", Detail: "web sign-in from " + ip + " with password and authenticator code",
		Method: storage.MethodPassword, Face: "web", Addr: ip, Result: storage.ResultOK})
	if ar, ok := s.resumeRequest(ctx, st.Next); ok {
		s.oidcSignIn(w, r, ar, u.ID, s.now(), signin.ByPasswordTOTP, "password and authenticator code")
		return
	}
	http.Redirect(w, r, st.Next, http.StatusSeeOther)
}
