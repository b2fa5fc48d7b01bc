package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// TestDeviceDeclined: a desktop reports a sign-in its person denied or
// let time out, and the operators' log holds the refusal; a report
// without a credential, for an unknown app, to a redirect_uri the app did
// not register, or with another outcome writes nothing.
func TestDeviceDeclined(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("alice")
	post := func(cred string, d deviceapi.Declined) (int, apiErr) {
		t.Helper()
		b, _ := json.Marshal(d)
		var ae apiErr
		resp := e.do("POST", deviceapi.PathDeclined, http.Header{"Authorization": {"Bearer " + cred}, "Content-Type": {"application/json"}}, strings.NewReader(string(b)), &ae)
		return resp.StatusCode, ae
	}
	refusals := func() []storage.Event {
		ev, err := e.store.QueryEvents(context.Background(), storage.EventQuery{Kinds: []string{"signin_refused"}})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	req := deviceSignIn(app)
	other := req
	other.RedirectURI = "https://evil.example/cb"
	unknown := req
	unknown.AppID = "wxnope"
	for _, c := range []struct {
		name   string
		cred   string
		d      deviceapi.Declined
		status int
	}{
		{"no credential", "", deviceapi.Declined{Request: req, Outcome: "denied"}, http.StatusUnauthorized},
		{"unknown app", cred, deviceapi.Declined{Request: unknown, Outcome: "denied"}, http.StatusNotFound},
		{"unregistered redirect_uri", cred, deviceapi.Declined{Request: other, Outcome: "denied"}, http.StatusBadRequest},
		{"another outcome", cred, deviceapi.Declined{Request: req, Outcome: "hacked by mallory"}, http.StatusBadRequest},
	} {
		if status, ae := post(c.cred, c.d); status != c.status || ae.ErrCode == 0 {
			t.Errorf("%s: %d %+v, want %d and an errcode", c.name, status, ae, c.status)
		}
	}
	if ev := refusals(); len(ev) != 0 {
		t.Fatalf("refused reports were logged: %+v", ev)
	}
	for _, outcome := range []string{deviceapi.OutcomeDenied, deviceapi.OutcomeTimeout} {
		if status, ae := post(cred, deviceapi.Declined{Request: req, Outcome: outcome}); status != http.StatusOK || ae.ErrCode != 0 {
			t.Fatalf("%s: %d %+v", outcome, status, ae)
		}
		ev := refusals()
		if len(ev) == 0 || ev[0].Reason != outcome || ev[0].Method != storage.MethodScanFree || ev[0].AppID != app.AppID || ev[0].DeviceID == "" || ev[0].Result != storage.ResultRefused {
			t.Fatalf("%s: logged %+v", outcome, ev)
		}
	}
}
