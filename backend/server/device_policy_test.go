package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/posture"
)

// report is a posture report of OS version and disk encryption.
func report(at time.Time, version, disk string) posture.Report {
	return posture.Report{OS: "linux", OSVersion: version, At: at.UTC().Truncate(time.Second),
		DiskEncryption: posture.Signal{Value: disk, How: "captured"}, ScreenLock: posture.Signal{Value: posture.Yes},
		SecureBoot: posture.Signal{Value: posture.Unknown, How: "no efivars"}}
}

// sendPosture signs r with key (the desktop's own, or another) and sends
// it as d.
func (d *desktop) sendPosture(key *dpop.Key, r any) answer {
	d.e.t.Helper()
	b, _ := json.Marshal(r)
	signed, err := key.Sign(deviceapi.PostureType, b)
	if err != nil {
		d.e.t.Fatal(err)
	}
	return d.call("POST", deviceapi.PathPosture, deviceapi.PostureReport{Report: signed})
}

// TestPostureReports: a desktop's posture is kept only when signed by its
// own key, fresh and well formed.
func TestPostureReports(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	d := enrolWithKey(e, "alice")
	thief, _ := dpop.NewKey()
	stored := func() string {
		dev, err := e.store.GetDevice(context.Background(), deviceOf(t, e, d))
		if err != nil {
			t.Fatal(err)
		}
		return dev.Posture
	}
	for _, c := range []struct {
		name string
		key  *dpop.Key
		body any
		want string
	}{
		{"signed by another key", thief, report(e.clock(), "6.1", posture.Yes), "signed by another key"},
		{"an hour old", d.key, report(e.clock().Add(-time.Hour), "6.1", posture.Yes), "check this computer's clock"},
		{"a made-up signal", d.key, report(e.clock(), "6.1", "probably"), "not yes, no or unknown"},
		{"an unknown field", d.key, map[string]any{"os": "linux", "at": e.clock(), "trusted": true}, "not a posture report"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if a := d.sendPosture(c.key, c.body); a.status != http.StatusBadRequest || !strings.Contains(a.body, c.want) {
				t.Fatalf("answer %+v; want 400 saying %q", a, c.want)
			}
			if p := stored(); p != "" {
				t.Fatalf("kept %s", p)
			}
		})
	}
	if a := d.sendPosture(d.key, report(e.clock(), "6.1.0-18-amd64", posture.Yes)); a.status != http.StatusOK {
		t.Fatalf("its own report: %+v", a)
	}
	if p := stored(); !strings.Contains(p, `"os_version":"6.1.0-18-amd64"`) {
		t.Fatalf("kept %q", p)
	}
}

// deviceOf is d's device id.
func deviceOf(t *testing.T, e *env, d *desktop) string {
	t.Helper()
	var me deviceapi.Me
	if a := d.me(); a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &me) != nil {
		t.Fatalf("me: %+v", a)
	}
	return me.DeviceID
}

// TestDevicePolicy: an app's device policy refuses desktops that fall
// short, on the daemon's app lookup (what the hosted page shows) and at
// authorize, saying what to fix and logging the failing signal; a desktop
// that meets it signs in; a phone's QR confirmation is not a desktop's.
func TestDevicePolicy(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true, RedirectURIs: []string{"http://shop.localhost:8081/callback", oidcRedirect}})
	d := enrolWithKey(e, "alice")
	setPolicy := func(p storage.DevicePolicy) {
		t.Helper()
		a, err := e.store.GetApp(context.Background(), app.AppID)
		if err != nil {
			t.Fatal(err)
		}
		a.Fence.Device = p
		if _, err := admin.EditApp(context.Background(), e.store, app.AppID, admin.AppEdit{Fence: &a.Fence}, "test", e.clock()); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func() answer {
		return d.call("POST", deviceapi.PathAuthorize, deviceSignIn(app))
	}
	lookup := func() answer { return d.call("GET", deviceapi.PathApps+app.AppID, nil) }

	for _, c := range []struct {
		name   string
		policy storage.DevicePolicy
		report *posture.Report // nil: none sent
		age    time.Duration   // how long ago the report was sent
		want   string          // "" allowed
	}{
		{"no policy, no report", storage.DevicePolicy{}, nil, 0, ""},
		{"disk encryption, no report", storage.DevicePolicy{RequireDiskEncryption: true}, nil, 0, "has not reported it lately"},
		{"disk encryption, not encrypted", storage.DevicePolicy{RequireDiskEncryption: true}, &posture.Report{}, 0, "Demo Shop needs an encrypted disk on this computer (captured)"},
		{"disk encryption, cannot tell", storage.DevicePolicy{RequireDiskEncryption: true}, &posture.Report{}, 0, "could not tell"},
		{"disk encryption, encrypted", storage.DevicePolicy{RequireDiskEncryption: true}, &posture.Report{}, 0, ""},
		{"disk encryption, encrypted two hours ago", storage.DevicePolicy{RequireDiskEncryption: true}, &posture.Report{}, 2 * time.Hour, "has not reported it lately"},
		{"Linux 6.1, runs 5.15", storage.DevicePolicy{MinOS: map[string]string{"linux": "6.1"}}, &posture.Report{}, 0, "needs Linux 6.1 or newer on this computer, which runs 5.15.0"},
		{"Linux 6.1, runs 6.1.0-18", storage.DevicePolicy{MinOS: map[string]string{"linux": "6.1"}}, &posture.Report{}, 0, ""},
		{"only Windows limited", storage.DevicePolicy{MinOS: map[string]string{"windows": "10.0.19045"}}, &posture.Report{}, 0, ""},
		{"a TPM key, software", storage.DevicePolicy{RequireKey: "tpm"}, nil, 0, "needs this computer to sign in with a key held by its TPM; it signs in with a key kept in software"},
		{"any proven key, software", storage.DevicePolicy{RequireKey: "software"}, nil, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.report != nil {
				disk, version := posture.No, "5.15.0"
				switch {
				case strings.Contains(c.name, "cannot tell"):
					disk = posture.Unknown
				case strings.Contains(c.name, ", encrypted"), strings.Contains(c.name, "6.1.0"), strings.Contains(c.name, "Windows"):
					disk, version = posture.Yes, "6.1.0-18-amd64"
				}
				if a := d.sendPosture(d.key, report(e.clock(), version, disk)); a.status != http.StatusOK {
					t.Fatalf("posture: %+v", a)
				}
				e.advance(c.age)
			}
			setPolicy(c.policy)
			for what, a := range map[string]answer{"the app lookup": lookup(), "authorize": signIn()} {
				if c.want == "" && a.status != http.StatusOK {
					t.Fatalf("%s: %+v; want allowed", what, a)
				}
				if c.want != "" && (a.status != http.StatusBadRequest || !strings.Contains(a.body, c.want) || !strings.Contains(a.body, "10067")) {
					t.Fatalf("%s: %+v; want 10067 saying %q", what, a, c.want)
				}
			}
			if c.want != "" {
				evs, _ := e.store.ListEvents(context.Background(), "", "", 1)
				if len(evs) == 0 || evs[0].Reason != "device" || !strings.Contains(evs[0].Detail, c.want) {
					t.Fatalf("the last event %+v; want the refusal with reason device", evs)
				}
			}
			e.store.SetDevicePosture(context.Background(), deviceOf(t, e, d), "")
		})
	}

	// A sign-in through a desktop logs its posture.
	setPolicy(storage.DevicePolicy{})
	d.sendPosture(d.key, report(e.clock(), "6.1.0-18-amd64", posture.Yes))
	if a := signIn(); a.status != http.StatusOK {
		t.Fatalf("authorize: %+v", a)
	}
	evs, _ := e.store.ListEvents(context.Background(), "", "signin", 1)
	if len(evs) != 1 || !strings.Contains(evs[0].Detail, "desktop: linux 6.1.0-18-amd64; disk encryption yes") || !strings.Contains(evs[0].Detail, "key software") {
		t.Fatalf("the sign-in's log line: %+v", evs)
	}

	// Her desktop is told which of the apps she uses would refuse it.
	setPolicy(storage.DevicePolicy{RequireKey: "tpm"})
	var me deviceapi.Me
	if a := d.me(); json.Unmarshal([]byte(a.body), &me) != nil || len(me.PolicyWarnings) != 1 ||
		!strings.Contains(me.PolicyWarnings[0], "Demo Shop needs this computer to sign in with a key held by its TPM") {
		t.Fatalf("me's policy warnings: %+v", me.PolicyWarnings)
	}
	if evs, _ := e.store.ListEvents(context.Background(), "", "", 1); len(evs) == 1 && evs[0].Reason == "device" {
		t.Fatalf("a warning was logged as a refusal: %+v", evs[0])
	}

	// Her phone is no desktop: its QR confirmation stays open to her.
	setPolicy(storage.DevicePolicy{RequireKey: "tpm", RequireDiskEncryption: true})
	b := e.browser()
	b.login("alice")
	tk := e.ticket(app)
	if resp, body := b.post("/x/"+tk, url.Values{"decision": {"allow"}}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("her phone allows the QR code: %d %.300s", resp.StatusCode, body)
	}
	if st, _ := e.store.GetTicket(context.Background(), tk); st.Status != storage.TicketConfirmed {
		t.Fatalf("the ticket after her phone allowed it: %v", st.Status)
	}
}

// TestPostureOnPages: the person's account page and the operators'
// desktops page show what her desktop last reported.
func TestPostureOnPages(t *testing.T) {
	c := newConsoleEnv(t, nil)
	d := enrolWithKey(c.env, "alice")
	if a := d.sendPosture(d.key, report(c.clock(), "6.1.0-18-amd64", posture.Yes)); a.status != http.StatusOK {
		t.Fatalf("posture: %+v", a)
	}
	for _, page := range []string{"/account", "/admin/desktops"} {
		if resp, body := c.admin.get(page); resp.StatusCode != http.StatusOK || !strings.Contains(body, `6.1.0-18-amd64</span> · disk encrypted`) {
			t.Errorf("%s: %d, without the desktop's posture: %.2000s", page, resp.StatusCode, body)
		}
	}
}

// TestConsoleDevicePolicy: the console's app form sets the device policy,
// shows it, keeps it when the form is saved again, and refuses a bad
// --min-os with the reason, changing nothing.
func TestConsoleDevicePolicy(t *testing.T) {
	c := newConsoleEnv(t, nil)
	edit := "/admin/apps/" + c.app.AppID + "/edit"
	form := url.Values{"name": {"Demo Shop"}, "redirect_uris": {"http://shop.localhost:8081/callback"}, "fast_login": {"on"}, "alg": {"RS256"},
		"require_key": {"tpm"}, "require_disk_encryption": {"on"}, "min_os": {"linux:6.1, darwin:14"}}
	policy := func() storage.DevicePolicy {
		a, err := c.store.GetApp(context.Background(), c.app.AppID)
		if err != nil {
			t.Fatal(err)
		}
		return a.Fence.Device
	}
	want := storage.DevicePolicy{RequireKey: "tpm", RequireDiskEncryption: true, MinOS: map[string]string{"linux": "6.1", "darwin": "14"}}
	if resp, body := c.admin.post(edit, form, nil); resp.StatusCode >= 400 {
		t.Fatalf("save: %d %.500s", resp.StatusCode, body)
	}
	if got := policy(); !reflect.DeepEqual(got, want) {
		t.Fatalf("policy %+v; want %+v", got, want)
	}
	_, page := c.admin.get("/admin/apps/" + c.app.AppID)
	for _, s := range []string{`<option value="tpm" selected>`, `name="require_disk_encryption" checked`, `value="darwin:14,linux:6.1"`} {
		if !strings.Contains(page, s) {
			t.Fatalf("the app's page lacks %s", s)
		}
	}
	form.Set("min_os", "linux:six")
	if resp, body := c.admin.post(edit, form, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "--min-os") {
		t.Fatalf("a bad --min-os: %d %.500s", resp.StatusCode, body)
	}
	if got := policy(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a refused save the policy is %+v", got)
	}
}
