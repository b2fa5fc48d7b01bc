package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/daemon/broker"
	"github.com/scanfree/scanfree/daemon/idp"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// scriptedID answers as told; it stands in for the backend client so the
// mapping from its failures to errcodes can be tried one by one (the
// end-to-end tests run the real one).
type scriptedID struct {
	me, fresh, app, check, authorize error
	fastLogin                        bool
}

func (f scriptedID) Me(context.Context) (idp.Profile, error) {
	return idp.Profile{Nickname: "Alice"}, f.me
}
func (f scriptedID) Fresh(context.Context) (idp.Profile, error) {
	return idp.Profile{Nickname: "Alice"}, f.fresh
}
func (f scriptedID) App(context.Context, string) (idp.App, error) {
	return idp.App{AppID: "wx1", Name: "Demo", FastLogin: f.fastLogin}, f.app
}
func (f scriptedID) Check(context.Context, idp.SignInRequest) (idp.App, error) {
	return idp.App{AppID: "wx1", Name: "Demo", FastLogin: true}, f.check
}
func (f scriptedID) Authorize(context.Context, idp.SignInRequest) (string, error) {
	if f.authorize != nil {
		return "", f.authorize
	}
	return "https://rp.example/cb?code=C&state=s", nil
}
func (f scriptedID) Declined(context.Context, idp.SignInRequest, string) error { return nil }

// scriptedAsker answers every confirmation alike and counts them.
type scriptedAsker struct {
	dec   broker.Decision
	err   error
	asked *int
}

func (a scriptedAsker) Ask(context.Context, broker.Request) (broker.Decision, error) {
	*a.asked++
	return a.dec, a.err
}

type gate bool

func (g gate) Closed() string {
	if g {
		return "locked"
	}
	return ""
}

const origin = "https://idp.example"

func refused(code int) error { return &idp.RefusedError{Code: code, Msg: "refused"} }

var unreachable = errors.Join(idp.ErrUnreachable, errors.New("connection refused"))

// TestAuthorizeMapping: each failure of the backend client and each
// decision of the broker answers its errcode, and nobody is asked unless
// the backend accepted the sign-in first.
func TestAuthorizeMapping(t *testing.T) {
	tests := []struct {
		name      string
		id        scriptedID
		dec       broker.Decision
		askErr    error
		want      int
		wantAsked int
	}{
		{"allowed", scriptedID{}, broker.Allow, nil, deviceapi.CodeOK, 1},
		{"signed out", scriptedID{fresh: idp.ErrSignedOut}, broker.Allow, nil, deviceapi.CodeSignedOut, 0},
		{"backend down before", scriptedID{fresh: unreachable}, broker.Allow, nil, deviceapi.CodeUnreachable, 0},
		{"redirect refused", scriptedID{check: refused(deviceapi.CodeRefused)}, broker.Allow, nil, deviceapi.CodeRefused, 0},
		{"qr only", scriptedID{check: refused(deviceapi.CodeQROnly)}, broker.Allow, nil, deviceapi.CodeQROnly, 0},
		{"check unreachable", scriptedID{check: unreachable}, broker.Allow, nil, deviceapi.CodeUnreachable, 0},
		{"denied", scriptedID{}, broker.Deny, nil, deviceapi.CodeDenied, 1},
		{"timed out", scriptedID{}, broker.Timeout, nil, deviceapi.CodeTimeout, 1},
		{"busy", scriptedID{}, "", broker.ErrBusy, deviceapi.CodeBusy, 1},
		{"cooldown", scriptedID{}, "", &broker.CooldownError{Left: 2500 * time.Millisecond}, deviceapi.CodeRateLimited, 1},
		{"broker failed", scriptedID{}, "", errors.New("boom"), deviceapi.CodeUnreachable, 1},
		{"revoked while asking", scriptedID{authorize: idp.ErrSignedOut}, broker.Allow, nil, deviceapi.CodeSignedOut, 1},
		{"mint refused", scriptedID{authorize: refused(deviceapi.CodeRefused)}, broker.Allow, nil, deviceapi.CodeRefused, 1},
		{"backend down after", scriptedID{authorize: unreachable}, broker.Allow, nil, deviceapi.CodeUnreachable, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.id.fastLogin = true
			asked := 0
			s := New(Config{Domain: "scanfree.localhost", TrustedOrigins: []string{origin}, AuthorizeRate: 1e6}, tt.id,
				scriptedAsker{dec: tt.dec, err: tt.askErr, asked: &asked}, gate(false))
			uuid := mintUUID(t, s)
			r := s.authorize(context.Background(), origin, []byte(`{"apiname":"qrconnectfastauthorize","jsdata":{"data":"","appid":"wx1",`+
				`"scope":"snsapi_login","redirect_uri":"https://rp.example/cb","state":"s","authorize_uuid":"`+uuid+`"}}`))
			if r.ErrCode != tt.want || asked != tt.wantAsked {
				t.Fatalf("errcode %d (%s) after %d questions; want %d after %d", r.ErrCode, r.ErrMsg, asked, tt.want, tt.wantAsked)
			}
			if r.APIName != apiAuthorizeReply {
				t.Fatalf("apiname %q", r.APIName)
			}
			// The page says why, and when "Continue as …" works again.
			if cooling := r.Reason == "cooldown" && r.RetryAfter == 3; cooling != (tt.name == "cooldown") {
				t.Fatalf("reason %q, retry after %d s", r.Reason, r.RetryAfter)
			}
		})
	}
}

// TestCheckLoginMapping: check-login's view of the same failures.
func TestCheckLoginMapping(t *testing.T) {
	tests := []struct {
		name   string
		id     scriptedID
		closed bool
		want   int
	}{
		{"signed in", scriptedID{fastLogin: true}, false, deviceapi.CodeOK},
		{"locked or paused", scriptedID{fastLogin: true}, true, deviceapi.CodeLocked},
		{"signed out", scriptedID{me: idp.ErrSignedOut, fastLogin: true}, false, deviceapi.CodeSignedOut},
		{"backend down", scriptedID{me: unreachable, fastLogin: true}, false, deviceapi.CodeUnreachable},
		{"unknown app", scriptedID{app: refused(deviceapi.CodeRefused), fastLogin: true}, false, deviceapi.CodeRefused},
		{"qr-only app", scriptedID{}, false, deviceapi.CodeQROnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := 0
			s := New(Config{Domain: "scanfree.localhost", TrustedOrigins: []string{origin}, ConfirmTimeout: time.Minute, Cooldown: 30 * time.Second},
				tt.id, scriptedAsker{asked: &asked}, gate(tt.closed))
			r := s.checkLogin(context.Background(), origin, []byte(checkLoginBody))
			if reply, ok := r.JSData.(checkLoginReply); ok && (reply.ConfirmSeconds != 60 || reply.CooldownSeconds != 30) {
				t.Fatalf("check-login tells the page %+v, want the limits 60 s and 30 s", reply)
			}
			if r.ErrCode != tt.want {
				t.Fatalf("errcode %d (%s), want %d", r.ErrCode, r.ErrMsg, tt.want)
			}
			if got := r.JSData != nil; got != (tt.want == deviceapi.CodeOK) {
				t.Fatalf("jsdata %+v with errcode %d: identity must be shown only on success", r.JSData, r.ErrCode)
			}
		})
	}
}

const checkLoginBody = `{"apiname":"qrconnectchecklogin","jsdata":{"appid":"wx1","scope":"snsapi_login","redirect_uri":"https://rp.example/cb","state":"s"}}`

func mintUUID(t *testing.T, s *Server) string {
	t.Helper()
	r := s.checkLogin(context.Background(), origin, []byte(checkLoginBody))
	b, _ := json.Marshal(r.JSData)
	var d checkLoginReply
	json.Unmarshal(b, &d)
	if r.ErrCode != 0 || d.AuthorizeUUID == "" {
		t.Fatalf("check-login: %+v", r)
	}
	return d.AuthorizeUUID
}

type reasonGate string

func (g reasonGate) Closed() string { return string(g) }

// TestClosedSaysWhy: a closed gate's 10061 says whether scan-free login is
// paused or the screen is locked, so the page can tell the person which.
func TestClosedSaysWhy(t *testing.T) {
	for _, why := range []string{"paused", "locked"} {
		asked := 0
		s := New(Config{Domain: "scanfree.localhost", TrustedOrigins: []string{origin}}, scriptedID{fastLogin: true}, scriptedAsker{asked: &asked}, reasonGate(why))
		r := s.checkLogin(context.Background(), origin, []byte(checkLoginBody))
		if r.ErrCode != deviceapi.CodeLocked || r.Reason != why || r.JSData != nil || !strings.Contains(r.ErrMsg, why) {
			t.Errorf("%s: %+v", why, r)
		}
	}
}
