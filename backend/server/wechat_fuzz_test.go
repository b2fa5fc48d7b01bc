package server

import (
	"net/url"
	"testing"
)

// FuzzSNSParams feeds arbitrary query strings to the /sns/* parameter
// parsers: they never panic, and a parsed request has every field set.
func FuzzSNSParams(f *testing.F) {
	for _, seed := range []string{
		"appid=wx1&secret=s&code=c&grant_type=authorization_code",
		"appid=wx1&refresh_token=r&grant_type=refresh_token",
		"access_token=a&openid=o",
		"appid=&secret=s",
		"appid=a&appid=b&secret=s&code=c&grant_type=authorization_code",
		"%zz=1&appid=%",
		"access_token=%00&openid=%E4%B8%AD",
		";;&&==",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		if r, err := parseAccessTokenRequest(q); err == nil {
			if r.AppID == "" || r.Secret == "" || r.Code == "" || q.Get("grant_type") != "authorization_code" {
				t.Fatalf("accepted incomplete access_token request %q: %+v", raw, r)
			}
		} else if err.Code == 0 || err.Msg == "" {
			t.Fatalf("error without errcode for %q", raw)
		}
		if r, err := parseRefreshRequest(q); err == nil && (r.AppID == "" || r.RefreshToken == "") {
			t.Fatalf("accepted incomplete refresh request %q: %+v", raw, r)
		}
		if r, err := parseTokenRequest(q); err == nil && (r.AccessToken == "" || r.OpenID == "") {
			t.Fatalf("accepted incomplete token request %q: %+v", raw, r)
		}
	})
}
