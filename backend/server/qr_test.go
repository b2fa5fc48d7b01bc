package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
)

func connectURL(e *env, appid, redirect string, extra ...string) string {
	q := url.Values{"appid": {appid}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"snsapi_login"}, "state": {"s1"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "/connect/qrconnect?" + q.Encode()
}

func getBody(t *testing.T, e *env, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(e.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHostedPage(t *testing.T) {
	e := newEnv(t)
	app := e.app(admin.AppSpec{FastLogin: true})
	qrOnly := e.app(admin.AppSpec{Name: "QR only"})

	t.Run("validated before anything is shown", func(t *testing.T) {
		for _, bad := range []string{
			connectURL(e, "wxnope", "http://shop.localhost:8081/callback"),
			connectURL(e, app.AppID, "https://evil.example/cb"),
			connectURL(e, app.AppID, "http://shop.localhost:8081/callback", "response_type", "token"),
			connectURL(e, app.AppID, "http://shop.localhost:8081/callback", "scope", "snsapi_admin"),
		} {
			resp, body := getBody(t, e, bad)
			if resp.StatusCode != 400 || !strings.Contains(body, "Cannot sign in here") || strings.Contains(body, "/connect/qrcode/") {
				t.Errorf("%s: %d, QR offered or no clear error", bad, resp.StatusCode)
			}
		}
	})
	t.Run("page", func(t *testing.T) {
		resp, body := getBody(t, e, connectURL(e, app.AppID, "http://shop.localhost:8081/callback"))
		js, jsBody := getBody(t, e, "/connect/qrconnect.js")
		if strings.Contains(body, "/connect/qrcode/") {
			t.Fatal("the page's GET created a ticket; the page asks for one when it shows the QR code")
		}
		var tk struct{ UUID string }
		e.do("POST", "/connect/qrticket", http.Header{"Content-Type": {"application/json"}},
			strings.NewReader(`{"appid":"`+app.AppID+`","redirect_uri":"http://shop.localhost:8081/callback","scope":"snsapi_login","state":"s1"}`), &tk)
		qr, qrBody := getBody(t, e, "/connect/qrcode/"+tk.UUID)
		weight := len(body) + len(jsBody) + len(qrBody)
		if resp.StatusCode != 200 || js.StatusCode != 200 || qr.StatusCode != 200 || qr.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("page %d, script %d, QR %d %s", resp.StatusCode, js.StatusCode, qr.StatusCode, qr.Header.Get("Content-Type"))
		}
		if weight > 20<<10 {
			t.Fatalf("page weight %d bytes, over 20 KB", weight)
		}
		t.Logf("page weight: %d bytes (HTML %d, script %d, QR %d)", weight, len(body), len(jsBody), len(qrBody))
		if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, `"fast":true`) || !strings.Contains(body, `alt="QR code: scan it with your phone`) {
			t.Fatal("page lacks lang, fast login or the QR's alt text")
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "connect-src 'self' https://scanfree.localhost:14013") || strings.Contains(csp, "frame-ancestors") {
			t.Fatalf("CSP %q", csp)
		}
	})
	t.Run("chinese", func(t *testing.T) {
		_, body := getBody(t, e, connectURL(e, app.AppID, "http://shop.localhost:8081/callback", "lang", "cn"))
		if !strings.Contains(body, `<html lang="zh-CN">`) || !strings.Contains(body, "使用手机扫码登录") {
			t.Fatal("lang=cn page is not Chinese")
		}
	})
	t.Run("qr only", func(t *testing.T) {
		_, body := getBody(t, e, connectURL(e, qrOnly.AppID, "http://shop.localhost:8081/callback"))
		_, body2 := getBody(t, e, connectURL(e, app.AppID, "http://shop.localhost:8081/callback", "fast_login", "0"))
		if !strings.Contains(body, `"fast":false`) || !strings.Contains(body2, `"fast":false`) {
			t.Fatal("QR-only app or fast_login=0 still offers scan-free login")
		}
	})
}

type pollAnswer struct {
	ErrCode     int    `json:"errcode"`
	Code        string `json:"code"`
	RedirectURL string `json:"redirect_url"`
}

func poll(t *testing.T, e *env, uuid, key string, last int) (pollAnswer, time.Duration) {
	t.Helper()
	start := time.Now()
	var a pollAnswer
	e.getJSON("/connect/l/qrconnect?"+url.Values{"uuid": {uuid}, "key": {key}, "last": {strconv.Itoa(last)}}.Encode(), &a)
	return a, time.Since(start)
}

// rawPoll is a poll's answer with its bytes, to check what it leaves out.
type rawPoll struct {
	a    pollAnswer
	body string
}

func rawPollOf(t *testing.T, e *env, uuid, key string, last int) rawPoll {
	resp, err := http.Get(e.url + "/connect/l/qrconnect?" + url.Values{"uuid": {uuid}, "key": {key}, "last": {strconv.Itoa(last)}}.Encode())
	if err != nil {
		t.Error(err)
		return rawPoll{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r rawPoll
	r.body = string(b)
	json.Unmarshal(b, &r.a)
	return r
}

func TestQRTicketsOverHTTP(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	var tk struct{ UUID, Key string }
	resp := e.do("POST", "/connect/qrticket", http.Header{"Content-Type": {"application/json"}},
		strings.NewReader(`{"appid":"`+app.AppID+`","redirect_uri":"http://shop.localhost:8081/callback","scope":"snsapi_login","state":"st"}`), &tk)
	if resp.StatusCode != 200 || tk.UUID == "" || tk.Key == "" {
		t.Fatalf("qrticket: %d %+v", resp.StatusCode, tk)
	}
	if a, d := poll(t, e, tk.UUID, tk.Key, 408); a.ErrCode != 408 || d < 250*time.Millisecond {
		t.Fatalf("unchanged ticket: %+v after %v, want 408 after the poll timeout", a, d)
	}
	if a, _ := poll(t, e, tk.UUID, "wrong-key", 0); a.ErrCode != 500 || a.Code != "" {
		t.Fatalf("poll with the wrong key: %+v", a)
	}
	if a, _ := poll(t, e, "unknown", "x", 408); a.ErrCode != 500 {
		t.Fatalf("unknown ticket: %+v", a)
	}

	b := e.browser()
	b.login("alice")
	// Opening the phone page is not consent: a link or a hidden frame can
	// cause it. It changes nothing and tells the waiting page nothing.
	if resp, body := b.get("/x/" + tk.UUID); resp.StatusCode != 200 || !strings.Contains(body, "Demo Shop") {
		t.Fatalf("phone page: %d", resp.StatusCode)
	}
	if a, _ := poll(t, e, tk.UUID, tk.Key, 408); a.ErrCode != 408 {
		t.Fatalf("after a GET of the phone page the ticket changed: %+v", a)
	}
	done := make(chan rawPoll, 1)
	go func() { done <- rawPollOf(t, e, tk.UUID, tk.Key, 408) }()
	if resp, _ := b.post("/x/"+tk.UUID, url.Values{"decision": {"allow"}}, nil); resp.StatusCode != 200 {
		t.Fatalf("allow: %d", resp.StatusCode)
	}
	raw := <-done
	if raw.a.ErrCode == 404 {
		raw = rawPollOf(t, e, tk.UUID, tk.Key, 404)
	}
	a := raw.a
	if strings.Contains(raw.body, "Alice") || strings.Contains(raw.body, "avatar") || strings.Contains(raw.body, "nickname") {
		t.Fatalf("the waiting page learned who signed in: %s", raw.body)
	}
	if a.ErrCode != 405 || a.Code == "" || a.RedirectURL != "http://shop.localhost:8081/callback?code="+url.QueryEscape(a.Code)+"&state=st" {
		t.Fatalf("after allow: %+v", a)
	}
	if r := e.exchange(app, a.Code); r.ErrCode != 0 {
		t.Fatalf("exchange of the QR code: %+v", r)
	}
	if resp, body := b.get("/x/" + tk.UUID); resp.StatusCode != 410 || !strings.Contains(body, "already used") {
		t.Fatalf("used ticket on the phone: %d", resp.StatusCode)
	}
	// Cross-origin form posts to the phone page are refused.
	if resp, _ := b.post("/x/"+tk.UUID, url.Values{"decision": {"allow"}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); resp.StatusCode != 403 {
		t.Fatalf("cross-site allow: %d", resp.StatusCode)
	}
}

// TestTicketsPerClient: one client cannot create tickets without bound,
// and loading the page (which any site can make a visitor do, in a hidden
// frame) spends none of that budget.
func TestTicketsPerClient(t *testing.T) {
	e := newEnv(t)
	app := e.app(admin.AppSpec{FastLogin: true})
	body := `{"appid":"` + app.AppID + `","redirect_uri":"http://shop.localhost:8081/callback","scope":"snsapi_login","state":"s"}`
	create := func() int {
		return e.do("POST", "/connect/qrticket", http.Header{"Content-Type": {"application/json"}}, strings.NewReader(body), nil).StatusCode
	}
	for i := range 70 {
		if resp, _ := getBody(t, e, connectURL(e, app.AppID, "http://shop.localhost:8081/callback")); resp.StatusCode != 200 {
			t.Fatalf("page load %d: %d", i+1, resp.StatusCode)
		}
	}
	for i := range 60 {
		if st := create(); st != 200 {
			t.Fatalf("ticket %d: %d", i, st)
		}
	}
	if st := create(); st != http.StatusTooManyRequests {
		t.Fatalf("ticket 61 within a minute: %d, want 429", st)
	}
	if resp, _ := getBody(t, e, connectURL(e, app.AppID, "http://shop.localhost:8081/callback")); resp.StatusCode != 200 {
		t.Fatalf("page while the ticket budget is spent: %d, want 200 (scan-free login needs no ticket)", resp.StatusCode)
	}
	e.advance(time.Minute)
	if st := create(); st != 200 {
		t.Fatalf("after the window: %d", st)
	}
}

// TestQRCancelOnlyByScanner: someone signed in who can see the QR code
// (a colleague, a shoulder) cannot end the waiting sign-in by posting
// Cancel without scanning it; the person who claimed it with Continue
// can, and nobody else can once it is claimed.
func TestQRCancelOnlyByScanner(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	e.user("bob")
	app := e.app(admin.AppSpec{FastLogin: true})
	var tk struct{ UUID, Key string }
	e.do("POST", "/connect/qrticket", http.Header{"Content-Type": {"application/json"}},
		strings.NewReader(`{"appid":"`+app.AppID+`","redirect_uri":"http://shop.localhost:8081/callback","scope":"snsapi_login","state":"st"}`), &tk)
	alice, bob := e.browser(), e.browser()
	alice.login("alice")
	bob.login("bob")

	if resp, body := bob.post("/x/"+tk.UUID, url.Values{"decision": {"cancel"}}, nil); resp.StatusCode != 200 || !strings.Contains(body, "Nothing was shared") {
		t.Fatalf("bob's cancel: %d", resp.StatusCode)
	}
	if a, _ := poll(t, e, tk.UUID, tk.Key, 408); a.ErrCode != 408 {
		t.Fatalf("a cancel by someone who never scanned ended the ticket: %+v", a)
	}
	// Alice's phone page offers Continue first; it claims the ticket.
	if _, body := alice.get("/x/" + tk.UUID); !strings.Contains(body, `value="scan"`) || strings.Contains(body, `value="cancel"`) {
		t.Fatalf("phone page of a waiting ticket: %s", body)
	}
	if _, body := alice.post("/x/"+tk.UUID, url.Values{"decision": {"scan"}}, nil); !strings.Contains(body, `value="allow"`) || !strings.Contains(body, `value="cancel"`) {
		t.Fatalf("after Continue: %s", body)
	}
	if a, _ := poll(t, e, tk.UUID, tk.Key, 408); a.ErrCode != 404 {
		t.Fatalf("after Continue the page is not told it was scanned: %+v", a)
	}
	if resp, _ := bob.post("/x/"+tk.UUID, url.Values{"decision": {"cancel"}}, nil); resp.StatusCode != http.StatusGone {
		t.Fatalf("bob's cancel of alice's claimed ticket: %d, want 410", resp.StatusCode)
	}
	if resp, _ := alice.post("/x/"+tk.UUID, url.Values{"decision": {"cancel"}}, nil); resp.StatusCode != 200 {
		t.Fatalf("alice's cancel: %d", resp.StatusCode)
	}
	if a, _ := poll(t, e, tk.UUID, tk.Key, 404); a.ErrCode != 403 {
		t.Fatalf("after the scanner's cancel: %+v, want 403", a)
	}
}

// TestStrictJSON: the JSON bodies pages send the backend are read as the
// daemon reads them: a repeated name, a name in other case, invalid
// UTF-8 or data after the object is refused, not silently taken.
func TestStrictJSON(t *testing.T) {
	e := newEnv(t)
	app := e.app(admin.AppSpec{FastLogin: true})
	good := `{"appid":"` + app.AppID + `","redirect_uri":"http://shop.localhost:8081/callback","scope":"snsapi_login","state":"st"}`
	for name, body := range map[string]string{
		"repeated appid":    `{"appid":"wxother","appid":"` + app.AppID + `","redirect_uri":"http://shop.localhost:8081/callback","scope":"snsapi_login","state":"st"}`,
		"AppID in capitals": `{"AppID":"` + app.AppID + `","redirect_uri":"http://shop.localhost:8081/callback","scope":"snsapi_login","state":"st"}`,
		"invalid UTF-8":     `{"appid":"` + app.AppID + `","redirect_uri":"http://shop.localhost:8081/callback","scope":"snsapi_login","state":"s` + "\xff" + `"}`,
		"trailing data":     good + `{}`,
	} {
		resp := e.do("POST", "/connect/qrticket", http.Header{"Content-Type": {"application/json"}}, strings.NewReader(body), nil)
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s: accepted", name)
		}
	}
	if resp := e.do("POST", "/connect/qrticket", http.Header{"Content-Type": {"application/json"}}, strings.NewReader(good), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("a well-formed request: %d", resp.StatusCode)
	}
}
