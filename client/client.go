// Package client signs a desktop app in through scanfreed, the way a
// WeChat mini-program signs in with wx.login: the app gets a one-time
// login code for its appid from the daemon, sends it to the app's own
// server, and the server redeems it at the identity backend's
// /sns/jscode2session (with the app's secret) for the person's openid,
// unionid and a session_key. User data comes encrypted under that
// session_key, so only the app's server can read it.
//
// The daemon asks the person in its native dialog the first time an app
// asks, remembers the answer per app, and answers silently afterwards;
// the phone number needs its own consent. A paused, locked or signed-out
// desktop answers an *Error with its errcode, and the app falls back to
// its own sign-in.
//
// The daemon is found as the tray and `scanfreed` find it: the socket
// $SCANFREE_SOCKET, else control.sock in $SCANFREE_STATE_DIR or the user's
// config dir. Only the user who runs the daemon can reach it.
package client

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// Errcodes an *Error carries (the daemon's local-API codes).
const (
	CodeTimeout     = deviceapi.CodeTimeout     // the person did not answer the dialog in time
	CodeDenied      = deviceapi.CodeDenied      // the person declined
	CodeSignedOut   = deviceapi.CodeSignedOut   // the desktop is not signed in (`scanfreed login`)
	CodeLocked      = deviceapi.CodeLocked      // the screen is locked or the person paused scanfree
	CodeBusy        = deviceapi.CodeBusy        // another confirmation is pending
	CodeUnreachable = deviceapi.CodeUnreachable // the identity backend cannot be reached
	CodeMalformed   = deviceapi.CodeMalformed   // the appid is malformed
	CodeRateLimited = deviceapi.CodeRateLimited // declined moments ago; ask later
	CodeRefused     = deviceapi.CodeRefused     // the backend refused: unknown appid, no session (call Login and let the server redeem the code first), …
)

// Error is the daemon's refusal, with its errcode.
type Error = control.AppError

// ErrNotRunning reports that no daemon answers: the app offers its own sign-in.
var ErrNotRunning = control.ErrNotRunning

// Client talks to the daemon of the user running the app.
type Client struct{ c *control.Client }

// New returns a client for this user's daemon. It does no I/O.
func New() *Client {
	return &Client{c: control.NewClient(control.DefaultSocket(control.DefaultStateDir()))}
}

// NewWithSocket returns a client for the daemon listening on socket.
func NewWithSocket(socket string) *Client { return &Client{c: control.NewClient(socket)} }

// Login returns a one-time login code for appid (single use, 5 minutes).
// The first time for an app the person is asked in the daemon's dialog.
func (c *Client) Login(ctx context.Context, appid string) (string, error) {
	r, err := c.c.AppCode(ctx, appid)
	return r.Code, err
}

// CheckSession reports nil while the session_key the app's server got for
// this person is live (wx.checkSession); otherwise call Login again.
func (c *Client) CheckSession(ctx context.Context, appid string) error {
	return c.c.AppSession(ctx, appid)
}

// UserData is WeChat's getUserInfo answer: RawData and its Signature
// (hex sha1 of rawData + session_key), EncryptedData and IV (base64,
// AES-128-CBC under the session_key; the plaintext has a watermark with
// appid and timestamp). Phone, when asked for, is getPhoneNumber's
// answer, encrypted the same way. The app sends it to its server, which
// checks and decrypts it with the session_key.
// The JSON is the daemon's answer as it is (deviceapi.AppData), so the
// app can pass it on to its server unchanged.
type UserData struct {
	UserInfo      map[string]any `json:"userInfo"`
	RawData       string         `json:"rawData"`
	Signature     string         `json:"signature"`
	EncryptedData string         `json:"encryptedData"`
	IV            string         `json:"iv"`
	Phone         *EncryptedData `json:"phone,omitempty"`
}

// EncryptedData is one encrypted answer: base64 ciphertext and IV.
type EncryptedData struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
}

// UserData returns the person's data for appid, encrypted under the
// session_key of its last login; withPhone adds the phone number, which
// the person must allow for this app (asked in the dialog the first time).
func (c *Client) UserData(ctx context.Context, appid string, withPhone bool) (UserData, error) {
	var d UserData
	r, err := c.c.AppUserData(ctx, appid, withPhone)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		return d, errors.New("scanfreed answered malformed user data: " + err.Error())
	}
	return d, nil
}
