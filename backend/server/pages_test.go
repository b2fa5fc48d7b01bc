package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
)

// TestErrorPages: the hosted page's refusal and an unknown address are
// pages a person can read on a phone, in her language (lang=cn on the
// hosted page, the browser's Accept-Language elsewhere), with a way on.
func TestErrorPages(t *testing.T) {
	e := newEnv(t)
	app := e.app(admin.AppSpec{FastLogin: true})
	get := func(path, acceptLang string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url+path, nil)
		if acceptLang != "" {
			req.Header.Set("Accept-Language", acceptLang)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	bad := "/connect/qrconnect?appid=" + app.AppID + "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code&scope=snsapi_login&state=s"
	for _, tc := range []struct {
		name, path, acceptLang string
		status                 int
		want                   []string
	}{
		// The site's mistake in people's words, its detail for the site's developers apart.
		{"refusal", bad, "", http.StatusBadRequest, []string{`lang="en"`, "Cannot sign in here", "asked for a sign-in in a way this service does not accept",
			"For the site&#39;s developers: <code translate=\"no\">redirect_uri is not registered for this app</code>", "go back to it and try again", `href="/account"`}},
		// A reason that is the person's to know is the reason itself.
		{"gone", "/oauth2/resume?request=nope", "", http.StatusBadRequest, []string{`<p role="alert">this sign-in request expired or is unknown; go back to the site and sign in again</p>`}},
		{"refusal in Chinese", bad + "&lang=cn", "", http.StatusBadRequest, []string{`lang="zh-CN"`, "无法在此登录", "请返回该网站重试"}},
		{"not found", "/no/such/page", "", http.StatusNotFound, []string{"Page not found", `href="/account"`}},
		{"not found in Chinese", "/no/such/page", "zh-CN,zh;q=0.9", http.StatusNotFound, []string{`lang="zh-CN"`, "找不到页面"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(tc.path, tc.acceptLang)
			if status != tc.status || !strings.Contains(body, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
				t.Fatalf("%d, want %d with a viewport: %.400s", status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("no %q in %.600s", w, body)
				}
			}
		})
	}
}
