package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"rsc.io/qr"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/tickets"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/secret"
)

// ticket is a created ticket with the key only its page knows.
type ticket struct {
	tickets.Ticket
	Key string
}

// errTooManyTickets refuses a client that asks for tickets faster than any
// page does (one per page view and one per 2 minutes), so that no one
// client can use up the store's cap for everyone.
var errTooManyTickets = errors.New("too many sign-in pages from your address; wait a minute and reload")

func (s *Server) newTicket(r *http.Request, req connectRequest) (ticket, error) {
	ctx := r.Context()
	ok, err := s.ticketIP.Take(ctx, s.clientKey(r))
	if err != nil {
		return ticket{}, errUnavailable
	}
	if !ok {
		return ticket{}, errTooManyTickets
	}
	// The key first: a ticket must never exist without the key that guards it.
	k, err := s.qrKey(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "qr ticket: server key unavailable", "err", err)
		return ticket{}, errUnavailable
	}
	tk, err := s.tickets.Create(ctx, tickets.Ticket{AppID: req.AppID, RedirectURI: req.RedirectURI, Scope: req.Scope, State: req.State,
		Computer: s.computer(r)})
	if err != nil {
		s.log.ErrorContext(ctx, "qr ticket", "err", err)
		return ticket{}, errUnavailable
	}
	return ticket{Ticket: tk, Key: pollKey(k, tk.UUID)}, nil
}

// errUnavailable reports that the database or the server key it holds
// cannot be reached: every check that needs them refuses.
var errUnavailable = errors.New("the sign-in service is temporarily unavailable; reload in a moment")

// unavailableText is errUnavailable as a page says it.
const unavailableText = "The sign-in service is temporarily unavailable; reload in a moment."

// ticketErrStatus is the HTTP status for a failed newTicket.
func ticketErrStatus(err error) int {
	switch {
	case errors.Is(err, errTooManyTickets):
		return http.StatusTooManyRequests
	case errors.Is(err, errUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// pollKey derives the key that lets a page poll its ticket. The uuid is
// in the QR code, which anyone near the screen can read; the key is only
// in the page, so only the page can collect the code.
func pollKey(serverKey []byte, uuid string) string {
	return b64(secret.MAC(serverKey, "qr-poll", uuid))[:22]
}

// pollAllowed reports whether key is the poll key of uuid, and returns
// the server key. It fails closed: without the server key no key is
// right, the empty one included.
func (s *Server) pollAllowed(ctx context.Context, uuid, key string) ([]byte, bool) {
	k, err := s.qrKey(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "qr poll refused: server key unavailable", "err", err)
		return nil, false
	}
	return k, secret.Equal([]byte(key), []byte(pollKey(k, uuid)))
}

func (s *Server) handleNewTicket(w http.ResponseWriter, r *http.Request) {
	var req connectRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiErr(errBackendRefused, err.Error()))
		return
	}
	if _, err := s.checkConnect(r.Context(), req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiErr(errBackendRefused, err.Error()))
		return
	}
	tk, err := s.newTicket(r, req)
	if err != nil {
		writeJSON(w, ticketErrStatus(err), apiErr(errSystem, err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"uuid": tk.UUID, "key": tk.Key, "expires_in": int(s.tickets.TTL().Seconds()), "url": s.ticketURL(tk.UUID)})
}

func (s *Server) handleQRCode(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("uuid")
	if _, err := s.tickets.Get(r.Context(), id); errors.Is(err, tickets.ErrUnknown) {
		http.NotFound(w, r)
		return
	} else if err != nil {
		s.log.ErrorContext(r.Context(), "qr code", "err", err)
		http.Error(w, errUnavailable.Error(), http.StatusServiceUnavailable)
		return
	}
	code, err := qr.Encode(s.ticketURL(id), qr.M)
	if err != nil {
		http.Error(w, "cannot encode", http.StatusInternalServerError)
		return
	}
	code.Scale = 6
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(code.PNG())
}

// qrStatus is the long poll's answer, with the seeds' wx_errcode values.
type qrStatus struct {
	ErrCode     int    `json:"errcode"`
	Code        string `json:"code,omitempty"`
	RedirectURL string `json:"redirect_url,omitempty"`
}

// handlePoll answers as soon as the ticket's state differs from last, or
// with 408 after the poll timeout (≤ 25 s).
func (s *Server) handlePoll(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("uuid")
	k, ok := s.pollAllowed(r.Context(), id, q.Get("key"))
	if !ok {
		writeJSON(w, http.StatusOK, qrStatus{ErrCode: 500})
		return
	}
	client := s.clientKey(r)
	if !s.polls.take(id, client) {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusTooManyRequests, apiErr(http.StatusTooManyRequests,
			"too many sign-in pages are waiting from this address or for this QR code; close the other tabs and reload"))
		return
	}
	defer s.polls.done(id, client)
	last, _ := strconv.Atoi(q.Get("last"))
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.PollTimeout)
	defer cancel()
	t := s.tickets.Wait(ctx, id, tickets.Status(last))
	st := qrStatus{ErrCode: int(t.Status)}
	if t.Status == tickets.Status(last) {
		st.ErrCode = int(tickets.Waiting) // nothing changed
	}
	switch t.Status {
	case tickets.Confirmed:
		code, err := secret.Open(k, secret.PurposeQRCode, t.SealedCode, []byte(t.UUID))
		if err != nil {
			s.log.ErrorContext(r.Context(), "qr poll: sealed code does not open", "err", err)
			writeJSON(w, http.StatusOK, qrStatus{ErrCode: 500})
			return
		}
		redirect, err := s.redirectFor(r.Context(), t.AppID, t.RedirectURI, string(code), t.State)
		if err != nil {
			s.log.ErrorContext(r.Context(), "qr poll: sign-in request", "err", err)
			writeJSON(w, http.StatusOK, qrStatus{ErrCode: 500})
			return
		}
		st.Code, st.RedirectURL = string(code), redirect
	}
	writeJSON(w, http.StatusOK, st)
}

// xView is the phone page's data. Claimed: this person scanned the
// ticket (the computer shows "scanned"), and may now allow or cancel.
type xView struct {
	UUID     string
	AppName  string
	Computer string // which computer shows the code (Ticket.Computer)
	Claimed  bool
}

func (s *Server) handleScanPage(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	// Read-only: opening the link is not consent (a page can navigate
	// anyone here); the ticket changes on the POST of a button.
	id := r.PathValue("uuid")
	t, err := s.tickets.Check(r.Context(), id, u.ID)
	if err != nil {
		s.ticketError(w, r, u, err)
		return
	}
	if !s.phoneMayApprove(w, r, u, t) {
		return
	}
	s.render(w, r, http.StatusOK, "x", page{Title: "Sign in on your computer?", User: u,
		Data: xView{UUID: id, AppName: s.appNameIn(r.Context(), consoleLang(nil, r), t.AppID), Computer: t.Computer, Claimed: t.Status == tickets.Scanned}})
}

func (s *Server) ticketError(w http.ResponseWriter, r *http.Request, u *storage.User, err error) {
	var serr *apiError
	switch {
	case errors.As(err, &serr):
		s.message(w, r, http.StatusForbidden, u, "Sign-in refused", "The site cannot be signed in to this way: %s", serr.Msg)
		return
	case !refused(err):
		s.log.ErrorContext(r.Context(), "qr ticket", "err", err)
		s.message(w, r, http.StatusServiceUnavailable, u, "Try again", unavailableText)
		return
	}
	msg := "This QR code has expired. Refresh it on your computer and scan it again."
	switch {
	case errors.Is(err, tickets.ErrUsed):
		msg = "This QR code was already used. Refresh it on your computer to sign in again."
	case errors.Is(err, tickets.ErrTaken):
		msg = "Someone else scanned this QR code. Refresh it on your computer and scan the new one."
	}
	s.message(w, r, http.StatusGone, u, "QR code not usable", msg)
}

func (s *Server) handleScanDecide(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	id := r.PathValue("uuid")
	switch r.PostFormValue("decision") {
	case "allow":
	case "scan":
		// Continue claims the ticket: the computer shows "scanned", and
		// from now on only this person may allow or cancel it (WeChat's
		// scan, made by a click: a page load changes nothing).
		t, err := s.tickets.Check(r.Context(), id, u.ID)
		if err == nil && !s.phoneMayApprove(w, r, u, t) {
			return
		}
		if err == nil {
			t, err = s.tickets.Scan(r.Context(), id, u.ID)
		}
		if err != nil {
			s.ticketError(w, r, u, err)
			return
		}
		s.render(w, r, http.StatusOK, "x", page{Title: "Sign in on your computer?", User: u,
			Data: xView{UUID: id, AppName: s.appNameIn(r.Context(), consoleLang(nil, r), t.AppID), Computer: t.Computer, Claimed: true}})
		return
	default:
		// Only the person who scanned it cancels a ticket; anyone else who
		// can see the QR code declines for their own phone only, and the
		// code stays up for whoever it is meant for.
		t, err := s.tickets.Cancel(r.Context(), id, u.ID)
		if errors.Is(err, tickets.ErrNotScanned) {
			s.message(w, r, http.StatusOK, u, "Not signed in", "Nothing was shared.")
			return
		} else if err != nil {
			s.ticketError(w, r, u, err)
			return
		}
		s.qrDenied(r, t, u.ID, "")
		s.message(w, r, http.StatusOK, u, "Cancelled", "Nothing was shared. The computer shows the QR code again.")
		return
	}
	t, err := s.tickets.Check(r.Context(), id, u.ID)
	if err == nil && !s.phoneMayApprove(w, r, u, t) {
		return
	}
	if err == nil {
		t, err = s.tickets.Scan(r.Context(), id, u.ID)
	}
	if err != nil {
		s.ticketError(w, r, u, err)
		return
	}
	if err := s.confirmTicket(r.Context(), t, u.ID, "", s.clientIP(r)); err != nil {
		s.ticketError(w, r, u, err)
		return
	}
	s.message(w, r, http.StatusOK, u, "Signed in", "You are signed in to %s on your computer.", s.appNameIn(r.Context(), consoleLang(nil, r), t.AppID))
}

// phoneMayApprove reports whether the phone's sign-in may approve a
// sign-in to t's app: a password alone does not when the app's policy
// wants more. When it may not, it shows the sign-in form (passkey first)
// going back to the ticket.
func (s *Server) phoneMayApprove(w http.ResponseWriter, r *http.Request, u *storage.User, t tickets.Ticket) bool {
	ctx := r.Context()
	_, se, _ := s.currentSession(r)
	app, err := s.store.GetApp(ctx, t.AppID)
	if err != nil || sessionEnough(se, s.appPolicy(app)) {
		return true // an app gone is the ticket's to refuse
	}
	lang := consoleLang(nil, r)
	p := s.loginPage(ctx, lang, "/x/"+t.UUID, u.Username, "")
	p.Error = fmt.Sprintf(tr(lang, "%s needs more than a password. Sign in again on this phone with a passkey, or with your password and authenticator code."), app.Name)
	s.render(w, r, http.StatusForbidden, "login", p)
	return false
}

// refused reports whether err is the ticket's state or the sign-in rules
// refusing, rather than the database failing.
func refused(err error) bool {
	var serr *apiError
	return tickets.IsStateError(err) || errors.As(err, &serr)
}

// confirmTicket mints the ticket's code for userID (through deviceID when
// a desktop confirms) and completes the ticket.
func (s *Server) confirmTicket(ctx context.Context, t tickets.Ticket, userID, deviceID, addr string) error {
	if t.UserID != userID {
		return tickets.ErrTaken
	}
	k, err := s.qrKey(ctx)
	if err != nil {
		return fmt.Errorf("confirm QR ticket: %w", err)
	}
	h := signin.ByPhone
	if deviceID != "" {
		h = signin.ByDesktopQR
	}
	code, _, serr := s.mintFor(ctx, deviceapi.SignInRequest{AppID: t.AppID, Scope: t.Scope, RedirectURI: t.RedirectURI, State: t.State,
		Origin: "QR code"}, signin.Grant{UserID: userID, DeviceID: deviceID, How: h, Addr: addr})
	if serr != nil && serr.Code == errSystem {
		return fmt.Errorf("mint code: %w", errUnavailable)
	}
	if serr != nil {
		return serr // refused: the app or its redirect_uri changed since
	}
	_, err = s.tickets.Confirm(ctx, t.UUID, userID, secret.Seal(k, secret.PurposeQRCode, []byte(code), []byte(t.UUID)))
	return err
}

// handleDeviceQR lets an enrolled desktop confirm or cancel a QR ticket
// (`scanfreed approve URL`); running the command is the user's consent.
func (s *Server) handleDeviceQR(w http.ResponseWriter, r *http.Request, d storage.Device) {
	u, err := s.store.GetUser(r.Context(), d.UserID)
	if err != nil {
		s.internalError(w, r, "device QR", err)
		return
	}
	id := r.PathValue("uuid")
	t, err := s.tickets.Scan(r.Context(), id, u.ID)
	if err == nil {
		if r.PathValue("action") == "confirm" {
			err = s.confirmTicket(r.Context(), t, u.ID, d.ID, s.clientIP(r))
		} else if t, err = s.tickets.Cancel(r.Context(), id, u.ID); err == nil {
			s.qrDenied(r, t, u.ID, d.ID)
		}
	}
	if err != nil && !refused(err) {
		s.internalError(w, r, "device QR", err)
		return
	}
	if err != nil {
		writeJSON(w, http.StatusConflict, apiErr(errBackendRefused, err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "app_name": s.appName(r.Context(), t.AppID)})
}

// qrDenied records that the person who scanned ticket t declined it.
func (s *Server) qrDenied(r *http.Request, t tickets.Ticket, userID, deviceID string) {
	s.signin.Refused(r.Context(), storage.Event{UserID: userID, AppID: t.AppID, DeviceID: deviceID, Method: storage.MethodQR,
		Face: storage.FaceWeChat.String(), Addr: s.clientIP(r)}, "denied", "Declined the sign-in to "+s.appName(r.Context(), t.AppID)+" on the phone")
}

// computer describes the computer of r for a person who sees it from
// elsewhere: its browser and system (from the User-Agent, which it
// chooses: a hint, not a proof) and its address.
func (s *Server) computer(r *http.Request) string {
	ua := r.UserAgent()
	pick := func(names [][2]string, none string) string {
		for _, n := range names {
			if strings.Contains(ua, n[0]) {
				return n[1]
			}
		}
		return none
	}
	browser := pick([][2]string{{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Chromium/", "Chromium"}, {"Safari/", "Safari"}}, "a browser")
	system := pick([][2]string{{"Windows", "Windows"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Mac OS X", "macOS"}, {"Android", "Android"},
		{"CrOS", "ChromeOS"}, {"Linux", "Linux"}}, "an unknown system")
	return browser + " on " + system + ", " + s.clientIP(r)
}

// ticketURL is what the QR code of ticket id holds: the phone's page.
func (s *Server) ticketURL(id string) string { return s.public.JoinPath("/x/" + id).String() }
