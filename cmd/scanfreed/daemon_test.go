package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// authorizeAsync sends authorize in the background.
func authorizeAsync(d *e2e.Daemon, b *e2e.Backend, uuid string) <-chan e2e.Response {
	ch := make(chan e2e.Response, 1)
	go func() { ch <- d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, uuid)) }()
	return ch
}

// TestSeedsFlow runs the seeds' two requests (host changed) against the
// real daemon and backend, approves through the control API, and exchanges
// the code for a token and userinfo.
func TestSeedsFlow(t *testing.T) {
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	d.SignIn(b, "alice")

	cl := d.CheckLogin(b)
	if cl.Status != 200 || cl.ErrCode != 0 || cl.APIName != "qrconnectchecklogin" || cl.JSData.Nickname != "Alice" ||
		cl.JSData.HeadImgURL != "https://avatar.example/alice.png" || len(cl.JSData.AuthorizeUUID) != 16 {
		t.Fatalf("check-login: %d %s", cl.Status, cl.Body)
	}
	if cl.Header.Get("Access-Control-Allow-Origin") != d.Origin || !strings.Contains(cl.Header.Get("Vary"), "Origin") ||
		cl.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("CORS headers: %v", cl.Header)
	}
	res := authorizeAsync(d, b, cl.JSData.AuthorizeUUID)
	p := d.AwaitPending()
	if p.AppName != "Demo Shop" || p.Origin != d.Origin || p.RedirectHost != "shop.localhost:8081" || p.Scope != "snsapi_login" || p.Account != "Alice" {
		t.Fatalf("pending request: %+v", p)
	}
	if out, err := d.Scanfreed("approve", p.ID); err != nil || !strings.Contains(out, "approved") {
		t.Fatalf("approve: %v %s", err, out)
	}
	az := <-res
	if az.ErrCode != 0 || az.APIName != "qrconnectfastauthorizeconfirm" ||
		!strings.HasPrefix(az.JSData.RedirectURL, e2e.RedirectURI+"?code=") || !strings.HasSuffix(az.JSData.RedirectURL, "&state=9ec633939ab2fd6f441a29542a51e8f3") {
		t.Fatalf("authorize: %s", az.Body)
	}
	if nick, err := b.Exchange(az.JSData.RedirectURL); err != nil || nick != "Alice" {
		t.Fatalf("exchange: %q %v", nick, err)
	}
	recent, _ := d.Control.Recent(context.Background())
	if len(recent) != 1 || recent[0].AppName != "Demo Shop" {
		t.Fatalf("recent sign-ins: %+v", recent)
	}

	// Deny: 10050, and the origin cools down.
	cl = d.CheckLogin(b)
	res = authorizeAsync(d, b, cl.JSData.AuthorizeUUID)
	d.Scanfreed("deny", d.AwaitPending().ID)
	if az := <-res; az.ErrCode != 10050 {
		t.Fatalf("denied authorize: %s", az.Body)
	}
	refusalLogged(t, b, "denied", "Declined the sign-in to Demo Shop in the desktop's dialog")
	cl = d.CheckLogin(b)
	if az := d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)); az.ErrCode != 10066 {
		t.Fatalf("authorize right after a deny: %s, want 10066", az.Body)
	}
}

// refusalLogged waits for the backend's log to hold the desktop's refusal
// with reason and detail: the daemon tells the backend in the background.
func refusalLogged(t *testing.T, b *e2e.Backend, reason, detail string) {
	t.Helper()
	var out string
	testutil.Eventually(t, 10*time.Second, "the backend to log the "+reason+" refusal", func() bool {
		out = b.CLI("", "events", "--kind", "signin_refused", "--method", "scanfree", "--result", "refused", "--csv")
		return strings.Contains(out, ","+reason+",") && strings.Contains(out, detail)
	})
}

func TestPauseAndTimeout(t *testing.T) {
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog", "--confirm-timeout", "1s"}})
	d.SignIn(b, "alice")

	if _, err := d.Scanfreed("pause"); err != nil {
		t.Fatal(err)
	}
	if r := d.CheckLogin(b); r.ErrCode != 10061 {
		t.Fatalf("check-login while paused: %s", r.Body)
	}
	st, _ := d.Control.Status(context.Background())
	if !st.Paused || st.Ready {
		t.Fatalf("status while paused: %+v", st)
	}
	d.Scanfreed("resume")
	cl := d.CheckLogin(b)
	if cl.ErrCode != 0 {
		t.Fatalf("check-login after resume: %s", cl.Body)
	}
	// Nobody answers: 10046 after confirm_timeout.
	if az := d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)); az.ErrCode != 10046 {
		t.Fatalf("unanswered authorize: %s, want 10046", az.Body)
	}
	refusalLogged(t, b, "timeout", "Did not answer the desktop's dialog for Demo Shop in time")
	// A request that timed out cools its origin down as a deny does.
	cl = d.CheckLogin(b)
	if az := d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)); az.ErrCode != 10066 {
		t.Fatalf("authorize right after a timeout: %s, want 10066", az.Body)
	}
	// A timed pause ends by itself.
	d.Scanfreed("pause", "--for", "300ms")
	if r := d.CheckLogin(b); r.ErrCode != 10061 {
		t.Fatalf("check-login in a timed pause: %s", r.Body)
	}
	testutil.Eventually(t, 5*time.Second, "the pause to end", func() bool { return d.CheckLogin(b).ErrCode == 0 })
}

func TestBackendDown(t *testing.T) {
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	d.SignIn(b, "alice")
	cl := d.CheckLogin(b)
	b.Stop()
	start := time.Now()
	if az := d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)); az.ErrCode != 10063 {
		t.Fatalf("authorize with the backend down: %s", az.Body)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("10063 took %v, want within 2 s", el)
	}
	pending, _ := d.Control.Pending(context.Background())
	if len(pending) != 0 {
		t.Fatal("a dialog was raised although the backend is down")
	}
	// A fresh daemon, signed in, whose backend is down: check-login says 10063.
	b.Start()
	d2 := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	d2.SignIn(b, "bob")
	d2.Proc.Cmd.Process.Kill()
	b.Stop()
	d3 := e2e.StartDaemonIn(t, b, d2.StateDir, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	start = time.Now()
	if r := d3.CheckLogin(b); r.ErrCode != 10063 || time.Since(start) > 2*time.Second {
		t.Fatalf("check-login with the backend down: %s after %v", r.Body, time.Since(start))
	}
	b.Start()
	testutil.Eventually(t, 10*time.Second, "check-login to recover", func() bool { return d3.CheckLogin(b).ErrCode == 0 })
}

func TestDeviceRevoked(t *testing.T) {
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	d.SignIn(b, "alice")
	st, _ := d.Control.Status(context.Background())
	var id string
	for _, line := range strings.Split(b.CLI("", "device", "list"), "\n") {
		if strings.Contains(line, "alice") {
			id = strings.Fields(line)[0]
		}
	}
	b.CLI("", "device", "revoke", id)
	cl := d.CheckLogin(b) // may come from the profile cache
	if cl.ErrCode == 0 {
		if az := d.Post("/api/authorize", e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID)); az.ErrCode != 10060 {
			t.Fatalf("authorize after revocation: %s", az.Body)
		}
	} else if cl.ErrCode != 10060 {
		t.Fatalf("check-login after revocation: %s", cl.Body)
	}
	st, _ = d.Control.Status(context.Background())
	if st.SignedIn || st.Ready {
		t.Fatalf("status after revocation: %+v", st)
	}
	if r := d.CheckLogin(b); r.ErrCode != 10060 {
		t.Fatalf("check-login once signed out: %s", r.Body)
	}
	// Signing in again works.
	d.SignIn(b, "alice")
	if r := d.CheckLogin(b); r.ErrCode != 0 {
		t.Fatalf("after signing in again: %s", r.Body)
	}
}

// TestApproveQRFromDesktop: `scanfreed approve URL` signs in the browser
// that shows the QR code, as the desktop's user.
func TestApproveQRFromDesktop(t *testing.T) {
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	d.SignIn(b, "alice")
	resp, err := http.Post(b.URL+"/connect/qrticket", "application/json", strings.NewReader(
		`{"appid":"`+b.App.AppID+`","redirect_uri":"`+e2e.RedirectURI+`","scope":"snsapi_login","state":"st"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tk struct{ UUID, Key string }
	json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	polled := make(chan string, 1)
	go func() {
		last := 408
		for range 10 {
			var st struct {
				ErrCode     int    `json:"errcode"`
				RedirectURL string `json:"redirect_url"`
			}
			r, err := http.Get(b.URL + "/connect/l/qrconnect?uuid=" + tk.UUID + "&key=" + tk.Key + "&last=" + strconv.Itoa(last))
			if err != nil {
				break
			}
			json.NewDecoder(r.Body).Decode(&st)
			r.Body.Close()
			if st.ErrCode == 405 {
				polled <- st.RedirectURL
				return
			}
			last = st.ErrCode
		}
		polled <- ""
	}()
	out, err := d.Scanfreed("approve", b.PublicURL+"/x/"+tk.UUID)
	if err != nil || !strings.Contains(out, "signed in to Demo Shop") {
		t.Fatalf("approve URL: %v %s", err, out)
	}
	redirect := <-polled
	if nick, err := b.Exchange(redirect); err != nil || nick != "Alice" || !strings.HasSuffix(redirect, "&state=st") {
		t.Fatalf("the waiting page got %q → %q %v", redirect, nick, err)
	}
	if _, err := d.Scanfreed("approve", b.PublicURL+"/x/"+tk.UUID); err == nil {
		t.Fatal("a used QR code was approved again")
	}
	if _, err := d.Scanfreed("approve", "https://evil.example/not-a-qr"); err == nil {
		t.Fatal("a non-QR URL was accepted")
	}
}

// TestRefusedBeforeDialog: the daemon asks the backend to check a sign-in
// before its dialog, which shows the redirect_uri's host: an unregistered
// redirect_uri is refused with 10067 and nobody is asked. An unknown appid
// is 10067 on every path.
func TestRefusedBeforeDialog(t *testing.T) {
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	d.SignIn(b, "alice")

	evil := strings.ReplaceAll(e2e.CheckLoginBody(b.App.AppID), e2e.RedirectURI, "https://evil.example/steal")
	cl := d.Post("/api/check-login", evil)
	if cl.ErrCode != 0 || cl.JSData.AuthorizeUUID == "" {
		t.Fatalf("check-login: %s", cl.Body)
	}
	body := strings.ReplaceAll(e2e.AuthorizeBody(b.App.AppID, cl.JSData.AuthorizeUUID), e2e.RedirectURI, "https://evil.example/steal")
	res := make(chan e2e.Response, 1)
	go func() { res <- d.Post("/api/authorize", body) }()
	select {
	case az := <-res:
		if az.ErrCode != 10067 || !strings.Contains(az.ErrMsg, "redirect_uri") {
			t.Fatalf("authorize to an unregistered redirect_uri: %s, want 10067 naming redirect_uri", az.Body)
		}
	case <-time.After(10 * time.Second):
		p, _ := d.Control.Pending(context.Background())
		t.Fatalf("no answer within 10 s; pending confirmations: %+v (the user was asked)", p)
	}
	if p, err := d.Control.Pending(context.Background()); err != nil || len(p) != 0 {
		t.Fatalf("pending after the refusal: %+v %v", p, err)
	}

	if r := d.Post("/api/check-login", e2e.CheckLoginBody("wxunknown")); r.ErrCode != 10067 {
		t.Fatalf("check-login with an unknown appid: %s, want 10067", r.Body)
	}
}

// TestNewDesktopAnnounced: when another desktop is signed in to the
// account (as after a device-code phishing), each desktop already there
// tells the person, once.
func TestNewDesktopAnnounced(t *testing.T) {
	b := e2e.StartBackend(t)
	a := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	a.SignIn(b, "alice")
	if r := a.CheckLogin(b); r.ErrCode != 0 { // the first profile: what is there is known
		t.Fatalf("check-login: %s", r.Body)
	}
	other := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	other.SignIn(b, "alice")
	// authorize reads the profile afresh before asking anyone.
	cl := a.CheckLogin(b)
	res := authorizeAsync(a, b, cl.JSData.AuthorizeUUID)
	a.Control.Deny(context.Background(), a.AwaitPending().ID)
	<-res
	testutil.Eventually(t, 5*time.Second, "the new desktop announced", func() bool {
		return strings.Count(a.Proc.Stderr.String(), "a new desktop was signed in to this account") == 1
	})
	if strings.Contains(other.Proc.Stderr.String(), "a new desktop was signed in") {
		t.Fatal("the new desktop announced the ones that were there before it")
	}
}
