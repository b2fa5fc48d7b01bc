package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// ErrNotRunning reports that no daemon answers on the socket.
var ErrNotRunning = errors.New("scanfreed is not running")

// Client talks to one daemon's control socket.
type Client struct {
	socket string
	http   *http.Client
	within time.Duration // answerWithin; tests shorten it
}

// NewClient returns a client for the socket at path. It does no I/O.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx, path) },
	}
	return &Client{socket: path, http: &http.Client{Transport: tr}, within: answerWithin}
}

// Socket is the path the client dials.
func (c *Client) Socket() string { return c.socket }

// Error is an error the daemon answered.
type Error struct {
	Status  int
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// answerWithin bounds how long a call waits for the daemon's answer when
// its context sets no deadline: the daemon answers every call at once,
// except a desktop app's, which waits for the person (bounded by the
// daemon's confirm_timeout). A daemon that takes the connection and then
// says nothing must not hang `scanfreed status` or the tray.
const answerWithin = 30 * time.Second

// ErrNoAnswer reports a daemon that took a call and did not answer it.
var ErrNoAnswer = errors.New("scanfreed took the request but did not answer")

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.doWithin(ctx, c.within, method, path, in, out)
}

func (c *Client) noAnswer(within time.Duration) error {
	return fmt.Errorf("%w on %s within %v: it may be stuck; restart it (`scanfreed service restart`, or stop it and `scanfreed run`)", ErrNoAnswer, c.socket, within)
}

// doWithin is do with within as the bound (0: none).
func (c *Client) doWithin(ctx context.Context, within time.Duration, method, path string, in, out any) error {
	if _, ok := ctx.Deadline(); !ok && within > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, within, ErrNoAnswer)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://scanfreed"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if errors.Is(context.Cause(ctx), ErrNoAnswer) {
		return c.noAnswer(within)
	}
	if err != nil {
		return fmt.Errorf("%w (no answer on %s; start it with `scanfreed run`): %v", ErrNotRunning, c.socket, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if errors.Is(context.Cause(ctx), ErrNoAnswer) {
		return c.noAnswer(within)
	}
	if err != nil {
		return fmt.Errorf("read scanfreed's answer on %s: %w", c.socket, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Message == "" {
			e.Message = resp.Status
		}
		return e
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, "GET", "/v0/status", nil, &s)
}

// Pause pauses scan-free login for d, or until Resume when d is 0.
func (c *Client) Pause(ctx context.Context, d time.Duration) (Status, error) {
	var s Status
	return s, c.do(ctx, "POST", "/v0/pause", map[string]string{"for": d.String()}, &s)
}

// Resume ends a pause.
func (c *Client) Resume(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, "POST", "/v0/resume", nil, &s)
}

// Login starts an enrolment and returns what the user must do.
func (c *Client) Login(ctx context.Context) (Login, error) {
	var l Login
	return l, c.do(ctx, "POST", "/v0/login", nil, &l)
}

// Logout signs the desktop out.
// SetBackend points the signed-out daemon at another backend.
func (c *Client) SetBackend(ctx context.Context, url string) (Status, error) {
	var s Status
	return s, c.do(ctx, "POST", "/v0/backend", map[string]string{"url": url}, &s)
}

// Logout signs the desktop out.
func (c *Client) Logout(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, "POST", "/v0/logout", nil, &s)
}

// Pending lists pending confirmations.
func (c *Client) Pending(ctx context.Context) ([]Request, error) {
	var r []Request
	return r, c.do(ctx, "GET", "/v0/pending", nil, &r)
}

// Approve allows the pending request id.
func (c *Client) Approve(ctx context.Context, id string) error {
	return c.do(ctx, "POST", "/v0/pending/"+id+"/approve", nil, nil)
}

// Deny denies the pending request id.
func (c *Client) Deny(ctx context.Context, id string) error {
	return c.do(ctx, "POST", "/v0/pending/"+id+"/deny", nil, nil)
}

// AnswerQR confirms (or cancels) the QR login at url as this desktop's
// account and returns the app's name.
func (c *Client) AnswerQR(ctx context.Context, url string, confirm bool) (string, error) {
	var out struct {
		AppName string `json:"app_name"`
	}
	err := c.do(ctx, "POST", "/v0/qr", map[string]any{"url": url, "confirm": confirm}, &out)
	return out.AppName, err
}

// Recent lists recent sign-ins, newest first.
func (c *Client) Recent(ctx context.Context) ([]SignIn, error) {
	var r []SignIn
	return r, c.do(ctx, "GET", "/v0/recent", nil, &r)
}

// AppError is a desktop app's request answered with an errcode.
type AppError struct {
	Code int
	Msg  string
}

func (e *AppError) Error() string { return fmt.Sprintf("scanfreed: %s (errcode %d)", e.Msg, e.Code) }

// app sends a desktop app's request and turns a nonzero errcode into *AppError.
func (c *Client) app(ctx context.Context, path string, in any) (AppReply, error) {
	var r AppReply
	if err := c.doWithin(ctx, 0, "POST", path, in, &r); err != nil { // it may wait for the person
		return r, err
	}
	if r.ErrCode != 0 {
		return r, &AppError{Code: r.ErrCode, Msg: r.ErrMsg}
	}
	return r, nil
}

// AppCode returns a login code for the desktop app appID, asking the
// person in the dialog the first time.
func (c *Client) AppCode(ctx context.Context, appID string) (AppReply, error) {
	return c.app(ctx, "/v0/apps/code", map[string]string{"appid": appID})
}

// AppUserData returns the person's data for appID encrypted under the
// app's session_key; with phone their phone number too, asked for in the
// dialog the first time.
func (c *Client) AppUserData(ctx context.Context, appID string, phone bool) (AppReply, error) {
	return c.app(ctx, "/v0/apps/userdata", map[string]any{"appid": appID, "phone": phone})
}

// AppSession reports nil while appID's session_key is live.
func (c *Client) AppSession(ctx context.Context, appID string) error {
	_, err := c.app(ctx, "/v0/apps/session", map[string]string{"appid": appID})
	return err
}

// Apps lists the desktop apps the person allowed.
func (c *Client) Apps(ctx context.Context) ([]AppConsent, error) {
	var out []AppConsent
	return out, c.do(ctx, "GET", "/v0/apps", nil, &out)
}

// ForgetApp withdraws appID's consent: its next login asks again.
func (c *Client) ForgetApp(ctx context.Context, appID string) error {
	return c.do(ctx, "DELETE", "/v0/apps/"+url.PathEscape(appID), nil, nil)
}

// Events streams the daemon's status: first the current one, then one
// after every change, until ctx ends or the daemon goes away (the channel
// is then closed).
func (c *Client) Events(ctx context.Context) (<-chan Event, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://scanfreed/v0/events", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w (no answer on %s): %v", ErrNotRunning, c.socket, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &Error{Status: resp.StatusCode, Message: resp.Status}
	}
	ch := make(chan Event)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var e Event
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			select {
			case ch <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
