package server_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/internal/harness/system"
)

// TestAuditLogLines: every audit event is also one structured JSON log
// line at info level, for a SIEM, naming kind, person and app; the code
// and tokens of the sign-in are in none of them.
func TestAuditLogLines(t *testing.T) {
	var buf system.SyncBuffer
	e := newEnvWith(t, func(c *server.Config) { c.Logger = slog.New(slog.NewJSONHandler(&buf, nil)) })
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("alice")
	code := e.code(cred, app)
	tok := e.exchange(app, code)
	e.exchange(app, code) // a replay: code_reused
	kinds := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(buf.String()))
	for sc.Scan() {
		var line struct {
			Level, Msg, Kind, App string
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON log line: %s", sc.Text())
		}
		if line.Msg == "audit" {
			if line.Level != "INFO" {
				t.Errorf("audit line at %s", line.Level)
			}
			kinds[line.Kind] = true
		}
	}
	for _, k := range []string{"device_enrolled", "signin", "code_reused"} {
		if !kinds[k] {
			t.Errorf("no audit log line of kind %s; got %v", k, kinds)
		}
	}
	for name, s := range map[string]string{"code": code, "access token": tok.AccessToken, "refresh token": tok.RefreshToken, "credential": cred, "secret": app.Secret} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("the log holds the %s", name)
		}
	}
}
