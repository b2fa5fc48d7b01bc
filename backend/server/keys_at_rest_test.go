package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
)

// TestKeysNotInDatabase: with a data key, a dump of the database forges
// no QR poll key and opens no sealed code (their key derives from the data
// key), and holds the openid key only sealed. A database from before,
// with the openid key in the clear, keeps every openid and unionid when a
// server with a data key first opens it, and the clear copy is deleted.
func TestKeysNotInDatabase(t *testing.T) {
	e := newEnv(t) // no data key: the openid key in the clear, as before
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("alice")
	before := e.exchange(app, e.code(cred, app))
	ticket := func() (string, string) {
		var tk struct{ UUID, Key string }
		resp := e.do("POST", "/connect/qrticket", http.Header{"Content-Type": {"application/json"}},
			strings.NewReader(`{"appid":"`+app.AppID+`","redirect_uri":"http://shop.localhost:8081/callback","scope":"snsapi_login","state":"st"}`), &tk)
		if resp.StatusCode != 200 {
			t.Fatalf("qrticket: %d", resp.StatusCode)
		}
		return tk.UUID, tk.Key
	}
	// The control: without a data key the dump does forge the poll key.
	if uuid, key := ticket(); !forgeable(t, e, uuid, key) {
		t.Fatal("control: the poll key of a server without a data key is not derived from the stored key as this test assumes")
	}

	// The same database under a server with a data key.
	s, err := server.New(e.store, server.Config{PublicURL: e.url, Now: e.clock, PollTimeout: 300 * time.Millisecond, QRTTL: time.Minute,
		Logger: slog.New(slog.DiscardHandler), DataKey: testDataKey})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = s.Handler()
	after := e.exchange(app, e.code(cred, app))
	if after.OpenID != before.OpenID || after.UnionID != before.UnionID {
		t.Fatalf("ids changed when the openid key was sealed: %s/%s → %s/%s", before.OpenID, before.UnionID, after.OpenID, after.UnionID)
	}
	secrets := dbSecrets(t, e)
	if _, ok := secrets["openid-key"]; ok {
		t.Fatal("the openid key is still in the database in the clear")
	}
	if len(secrets["openid-key-sealed"]) == 0 {
		t.Fatalf("no sealed openid key; secrets: %v", keysOf(secrets))
	}
	if uuid, key := ticket(); forgeable(t, e, uuid, key) {
		t.Fatal("a database dump forges the QR poll key of a server with a data key")
	}
}

// forgeable reports whether any secret in e's database yields the poll
// key of ticket uuid.
func forgeable(t *testing.T, e *env, uuid, key string) bool {
	for _, v := range dbSecrets(t, e) {
		m := hmac.New(sha256.New, v)
		m.Write([]byte("qr-poll\x00" + uuid))
		if base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:22] == key {
			return true
		}
	}
	return false
}

// dbSecrets reads the secrets table as a dump would.
func dbSecrets(t *testing.T, e *env) map[string][]byte {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.store.Path()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT name, value FROM secrets`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string][]byte{}
	for rows.Next() {
		var name string
		var v []byte
		rows.Scan(&name, &v)
		m[name] = v
	}
	return m
}

func keysOf(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
