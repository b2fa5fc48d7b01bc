package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/geoip"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/harness/geotest"
)

// TestFences: an app fenced to networks or countries refuses a sign-in
// from elsewhere, saying why, and logs it with the client's country from
// a real (generated) GeoLite2-Country database; inside the fence it signs
// in. A country fence without a database refuses: it fails closed.
func TestFences(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := geotest.Write(path, map[string]string{"127.0.0.0/8": "CN", "::1/128": "CN"}); err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name   string
		fence  storage.Fence
		geo    bool
		reason string // "" signs in
	}{
		{"outside the networks", storage.Fence{CIDRs: []string{"10.0.0.0/8"}}, true, "networks its operator allowed"},
		{"inside the networks", storage.Fence{CIDRs: []string{"10.0.0.0/8", "127.0.0.0/8"}}, true, ""},
		{"another country", storage.Fence{Countries: []string{"SG", "DE"}}, true, "only from SG, DE; this sign-in came from 127.0.0.1 (CN)"},
		{"her country", storage.Fence{Countries: []string{"CN"}}, true, ""},
		{"a country fence and no database", storage.Fence{Countries: []string{"CN"}}, false, "a country not known"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, func(c *server.Config) {
				if tc.geo {
					c.Country = db.Country
				}
			})
			e.user("alice")
			cred := e.enrol("alice")
			ctx := context.Background()
			app := e.app(admin.AppSpec{FastLogin: true, Fence: tc.fence})
			redirect, ae, _ := e.authorize(cred, deviceSignIn(app))
			events, _ := e.store.QueryEvents(ctx, storage.EventQuery{Kinds: []string{"signin", "signin_refused"}})
			if len(events) != 1 {
				t.Fatalf("events: %+v", events)
			}
			ev := events[0]
			if tc.reason == "" {
				if redirect == "" || ev.Result != storage.ResultOK {
					t.Fatalf("inside the fence: %+v %+v", ae, ev)
				}
			} else if redirect != "" || !strings.Contains(ae.ErrMsg, tc.reason) || ev.Reason != "fence" {
				t.Fatalf("outside the fence: redirect %q, %+v, event %+v; want %q", redirect, ae, ev, tc.reason)
			}
			if want := map[bool]string{true: "CN", false: ""}[tc.geo]; ev.Country != want {
				t.Fatalf("the event's country %q, want %q", ev.Country, want)
			}
		})
	}
	if _, err := admin.CreateApp(context.Background(), nil, admin.AppSpec{Name: "X", RedirectURIs: []string{"https://x.example/cb"},
		Fence: storage.Fence{Countries: []string{"China"}}}, time.Now()); err == nil || !strings.Contains(err.Error(), "two letters") {
		t.Fatalf("a country named in full: %v", err)
	}
}
