package wechat_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/connector/wechat"
)

// TestConfig: settings that cannot work are refused with the fix; plain
// http only to this machine (the qrconnect page also to .localhost names,
// which browsers keep here).
func TestConfig(t *testing.T) {
	t.Setenv("WX_SECRET", "s")
	for _, tc := range []struct {
		name string
		cfg  wechat.Config
		want string // "" accepts
	}{
		{"defaults", wechat.Config{AppID: "wx1", AppSecretEnv: "WX_SECRET"}, ""},
		{"no app id", wechat.Config{AppSecretEnv: "WX_SECRET"}, "app_id"},
		{"no secret", wechat.Config{AppID: "wx1"}, "app_secret_file"},
		{"both secrets", wechat.Config{AppID: "wx1", AppSecretEnv: "WX_SECRET", AppSecretFile: "/x"}, "choose one"},
		{"plain http API", wechat.Config{AppID: "wx1", AppSecretEnv: "WX_SECRET", APIURL: "http://api.example.org"}, "https://"},
		{"API under .localhost", wechat.Config{AppID: "wx1", AppSecretEnv: "WX_SECRET", APIURL: "http://api.localhost:8080"}, "https://"},
		{"page under .localhost", wechat.Config{AppID: "wx1", AppSecretEnv: "WX_SECRET", ConnectURL: "http://wx.localhost:8080", APIURL: "http://127.0.0.1:8080"}, ""},
		{"unparsable", wechat.Config{AppID: "wx1", AppSecretEnv: "WX_SECRET", APIURL: "http://[::1"}, "http://[::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wechat.New("wx", "WeChat", tc.cfg, slog.Default())
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
