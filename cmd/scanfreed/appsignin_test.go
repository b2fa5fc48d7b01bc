package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/client"
	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// appResult is the outcome of a scanfreed or demo-app command run in the
// background.
type appResult struct {
	out string
	err error
}

// runAsync runs bin with args and the daemon's environment in the background.
func runAsync(d *e2e.Daemon, bin string, args ...string) <-chan appResult {
	ch := make(chan appResult, 1)
	go func() {
		out, errOut, err := testutil.Run(context.Background(), d.Env, "", bin, args...)
		ch <- appResult{out + errOut, err}
	}()
	return ch
}

// appWindow waits for the dialog titled title and returns its id; the
// command finishing first fails t with its output.
func appWindow(t *testing.T, display, title string, res <-chan appResult) string {
	t.Helper()
	var id string
	var early *appResult
	testutil.Eventually(t, 15*time.Second, "the dialog "+title, func() bool {
		select {
		case r := <-res:
			early = &r
			return true
		default:
		}
		out, err := e2e.XDo(display, "search", "--onlyvisible", "--name", title)
		if err == nil && out != "" {
			id = strings.Fields(out)[0]
			return true
		}
		return false
	})
	if early != nil {
		t.Fatalf("answered before any dialog: %s %v", early.out, early.err)
	}
	return id
}

// dialogText is the text zenity shows in window win.
func dialogText(t *testing.T, display, win string) string {
	t.Helper()
	pid, err := e2e.XDo(display, "getwindowpid", win)
	if err != nil {
		t.Fatalf("getwindowpid: %v", err)
	}
	cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
	return strings.ReplaceAll(string(cmdline), "\x00", " ")
}

type codeReply struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	Code    string `json:"code"`
}

func parseReply(t *testing.T, r appResult) codeReply {
	t.Helper()
	var c codeReply
	if err := json.Unmarshal([]byte(strings.SplitN(r.out, "\n}", 2)[0]+"\n}"), &c); err != nil {
		t.Fatalf("scanfreed code --json: %q: %v", r.out, err)
	}
	return c
}

// TestDesktopAppSignIn signs a desktop app in through the real daemon,
// backend and Demo Shop, with the real zenity dialog under Xvfb: the first
// login asks, the second is silent (Demo Shop's desktop app, its server
// redeeming the code at /sns/jscode2session and decrypting the user data),
// the phone number asks on its own, forget makes it ask again; a denial,
// a pause and a signed-out desktop give their errcodes; codes of one kind
// never redeem at the other's endpoint.
func TestDesktopAppSignIn(t *testing.T) {
	testutil.NeedTools(t, "zenity", "xdotool")
	display := testutil.StartXvfb(t)
	b := e2e.StartBackend(t)
	b.CLI("carol-password\n", "user", "create", "--username", "carol", "--nickname", "Carol", "--password-stdin", "--phone", "+86 13580006666")
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--confirm-timeout", "12s", "--cooldown", "1ms"},
		Env: []string{"DISPLAY=" + display, "DBUS_SESSION_BUS_ADDRESS=" + testutil.StartSessionBus(t)}})
	d.SignIn(b, "carol")
	shop := e2e.StartShop(t, b)
	demoApp, err := system.Build(context.Background(), "./cmd/scanfree-demo-app")
	if err != nil {
		t.Fatal(err)
	}
	appID := b.App.AppID
	code := func(args ...string) <-chan appResult {
		return runAsync(d, d.Bin, append([]string{"code", "--appid", appID, "--json", "--state-dir", d.StateDir}, args...)...)
	}
	socket := filepath.Join(d.StateDir, "control.sock")
	signInTitle := "scanfree: sign in to Demo Shop"

	var firstCode string
	t.Run("first login asks in the dialog", func(t *testing.T) {
		res := code()
		win := appWindow(t, display, signInTitle, res)
		if text := dialogText(t, display, win); !strings.Contains(text, "Demo Shop on this computer wants to sign you in as Carol") ||
			!strings.Contains(text, "Program: ") || !strings.Contains(text, "scanfreed") || !strings.Contains(text, "closes by itself in 12 s") {
			t.Fatalf("dialog text: %s", text)
		}
		e2e.AllowInDialog(t, display, win)
		r := parseReply(t, <-res)
		if r.ErrCode != 0 || len(r.Code) < 20 {
			t.Fatalf("first code: %+v", r)
		}
		firstCode = r.Code
	})

	t.Run("second login is silent; Demo Shop's desktop app signs in", func(t *testing.T) {
		r := <-runAsync(d, demoApp, "--shop", "http://127.0.0.1:"+strings.TrimPrefix(shop.URL, "http://shop.localhost:"), "--socket", socket)
		if r.err != nil || !strings.Contains(r.out, "Signed in to Demo Shop as Carol (openid o") {
			t.Fatalf("demo app: %v %s", r.err, r.out)
		}
		if out, _ := e2e.XDo(display, "search", "--onlyvisible", "--name", "scanfree:"); out != "" {
			t.Fatal("a dialog was raised for an app already allowed")
		}
		// The app's server holds a live session_key now (wx.checkSession).
		if err := client.NewWithSocket(socket).CheckSession(context.Background(), appID); err != nil {
			t.Fatalf("CheckSession after the login: %v", err)
		}
	})

	t.Run("the phone number asks on its own", func(t *testing.T) {
		res := runAsync(d, demoApp, "--shop", "http://127.0.0.1:"+strings.TrimPrefix(shop.URL, "http://shop.localhost:"), "--socket", socket, "--phone")
		win := appWindow(t, display, "scanfree: share your phone number with Demo Shop", res)
		e2e.AllowInDialog(t, display, win)
		if r := <-res; r.err != nil || !strings.Contains(r.out, "Phone number: +86 13580006666") {
			t.Fatalf("demo app --phone: %v %s", r.err, r.out)
		}
	})

	t.Run("code reuse is 40163", func(t *testing.T) {
		if s := jscode(t, b, appID, b.App.Secret, firstCode); s.ErrCode != 0 {
			t.Fatalf("first redemption: %+v", s)
		}
		if s := jscode(t, b, appID, b.App.Secret, firstCode); s.ErrCode != 40163 {
			t.Fatalf("reuse: %+v", s)
		}
	})

	t.Run("codes of one kind do not redeem at the other's endpoint", func(t *testing.T) {
		r := parseReply(t, <-code())
		if r.ErrCode != 0 {
			t.Fatalf("silent code: %+v", r)
		}
		if _, err := b.Exchange("http://shop.localhost:8081/callback?code=" + url.QueryEscape(r.Code)); err == nil {
			t.Fatal("a desktop app's code redeemed at /sns/oauth2/access_token")
		}
		// A web sign-in's code, allowed in the dialog, at jscode2session.
		cl := d.CheckLogin(b)
		resp := authorizeAsync(d, b, cl.JSData.AuthorizeUUID)
		e2e.AllowInDialog(t, display, dialogWindow(t, display, resp))
		a := <-resp
		u, _ := url.Parse(a.JSData.RedirectURL)
		if a.ErrCode != 0 || u == nil {
			t.Fatalf("web sign-in: %s", a.Body)
		}
		if s := jscode(t, b, appID, b.App.Secret, u.Query().Get("code")); s.ErrCode != 40029 {
			t.Fatalf("web code at jscode2session: %+v", s)
		}
	})

	t.Run("forget makes it ask again; a denial is 10050", func(t *testing.T) {
		if out, err := d.Scanfreed("apps", "list"); err != nil || !strings.Contains(out, appID) || !strings.Contains(out, "phone number") {
			t.Fatalf("apps list: %q %v", out, err)
		}
		if _, err := d.Scanfreed("apps", "forget", appID); err != nil {
			t.Fatal(err)
		}
		if out, _ := d.Scanfreed("apps", "list"); strings.Contains(out, appID) {
			t.Fatalf("still listed after forget: %s", out)
		}
		var refused *client.Error
		if err := client.NewWithSocket(socket).CheckSession(context.Background(), appID); !errors.As(err, &refused) || refused.Code != client.CodeRefused {
			t.Fatalf("CheckSession after forget: %v, want errcode %d", err, client.CodeRefused)
		}
		res := code()
		win := appWindow(t, display, signInTitle, res)
		e2e.XDo(display, "windowfocus", "--sync", win)
		e2e.XDo(display, "key", "Return") // Deny has the focus
		if r := parseReply(t, <-res); r.ErrCode != 10050 || r.Code != "" {
			t.Fatalf("denied: %+v", r)
		}
	})

	t.Run("paused is 10061", func(t *testing.T) {
		if _, err := d.Scanfreed("pause"); err != nil {
			t.Fatal(err)
		}
		r := parseReply(t, <-code())
		d.Scanfreed("resume")
		if r.ErrCode != 10061 {
			t.Fatalf("paused: %+v", r)
		}
	})

	t.Run("another OS user is refused by the peer check", func(t *testing.T) {
		if runtime.GOOS != "linux" || os.Geteuid() != 0 {
			if testutil.RequireE2E() {
				t.Fatal("needs root on Linux to connect as another user (runuser -u nobody)")
			}
			t.Skip("needs root on Linux to connect as another user")
		}
		testutil.NeedTools(t, "curl", "runuser")
		// Let nobody reach the socket file, so that only the daemon's
		// peer-UID check stands between it and a code.
		tmp := filepath.Clean(os.TempDir())
		for dir := d.StateDir; strings.HasPrefix(dir, tmp+string(filepath.Separator)); dir = filepath.Dir(dir) {
			if fi, err := os.Stat(dir); err == nil {
				os.Chmod(dir, fi.Mode().Perm()|0o011)
			}
		}
		os.Chmod(socket, 0o666)
		out, _, _ := testutil.Run(context.Background(), nil, "", "runuser", "-u", "nobody", "--", "curl", "-s", "-o", "-", "-w", " %{http_code}",
			"--unix-socket", socket, "-H", "Content-Type: application/json", "--data-binary", `{"appid":"`+appID+`"}`, "http://scanfreed/v0/apps/code")
		if !strings.HasSuffix(strings.TrimSpace(out), "403") || strings.Contains(out, `"code"`) {
			t.Fatalf("another user got: %q", out)
		}
	})

	t.Run("signed out is 10060", func(t *testing.T) {
		if _, err := d.Scanfreed("logout"); err != nil {
			t.Fatal(err)
		}
		if r := parseReply(t, <-code()); r.ErrCode != 10060 {
			t.Fatalf("signed out: %+v", r)
		}
	})
}

type jscodeAnswer struct {
	ErrCode    int    `json:"errcode"`
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
}

func jscode(t *testing.T, b *e2e.Backend, appID, secret, code string) jscodeAnswer {
	t.Helper()
	var a jscodeAnswer
	if err := e2e.GetJSON(b.URL+"/sns/jscode2session?"+url.Values{"appid": {appID}, "secret": {secret}, "js_code": {code},
		"grant_type": {"authorization_code"}}.Encode(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}
