package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRenameDevice: two desktops of one host name are told apart on the
// account page by renaming one; nobody renames another's desktop, a
// cross-site form cannot, and an empty name is refused.
func TestRenameDevice(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	e.user("bob")
	e.enrol("alice")
	e.enrol("alice") // the same name, "laptop"
	bobCred := e.enrol("bob")
	var bobMe struct {
		DeviceID string `json:"device_id"`
	}
	e.do("GET", "/api/v1/device/me", http.Header{"Authorization": {"Bearer " + bobCred}}, nil, &bobMe)

	b := e.browser()
	b.login("alice")
	u, _ := e.store.GetUserByUsername(t.Context(), "alice")
	ds, err := e.store.ListDevices(t.Context(), u.ID)
	if err != nil || len(ds) != 2 || ds[0].Name != ds[1].Name {
		t.Fatalf("her desktops %+v, %v: want two of one name", ds, err)
	}
	rename := func(id, name string, h http.Header) int {
		resp, _ := b.post("/account/devices/"+id+"/rename", url.Values{"name": {name}}, h)
		return resp.StatusCode
	}
	for _, c := range []struct {
		name, id, to string
		h            http.Header
		want         int
	}{
		{"hers", ds[1].ID, "Work laptop", nil, http.StatusSeeOther},
		{"his", bobMe.DeviceID, "Mine now", nil, http.StatusNotFound},
		{"empty", ds[0].ID, "  ", nil, http.StatusBadRequest},
		{"cross-site", ds[0].ID, "Evil", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"http://evil.localhost"}}, http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := rename(c.id, c.to, c.h); got != c.want {
				t.Fatalf("%d, want %d", got, c.want)
			}
		})
	}
	if _, body := b.get("/account"); !strings.Contains(body, `value="Work laptop"`) || !strings.Contains(body, `value="laptop"`) {
		t.Fatal("the account page does not tell her two desktops apart")
	}
	if d, _ := e.store.GetDevice(t.Context(), bobMe.DeviceID); d.Name == "Mine now" {
		t.Fatal("alice renamed bob's desktop")
	}
}
