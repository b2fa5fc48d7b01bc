package server_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/geoip"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/harness/geotest"
)

// receiver is a webhook receiver the test runs: down (503) until up, and
// hanging on its first request until released.
type receiver struct {
	mu      sync.Mutex
	down    int      // 503s to answer before it is up
	got     []string // reasons, in the order delivered
	bad     int      // requests with a wrong signature
	release chan struct{}
	hung    chan struct{}
	once    sync.Once
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.once.Do(func() { close(rc.hung); <-rc.release })
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !hmac.Equal([]byte(r.Header.Get("X-Scanfree-Signature")), []byte(server.WebhookSignature([]byte("webhook-secret-webhook"), body))) {
		rc.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rc.down > 0 {
		rc.down--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var a struct{ Reason string }
	json.Unmarshal(body, &a)
	if n := len(rc.got); n == 0 || rc.got[n-1] != a.Reason { // at least once: a repeat is allowed
		rc.got = append(rc.got, a.Reason)
	}
}

// TestAlerts: a sign-in from another country soon after one, from a new
// country, and from a new desktop are alerts: in the log, on her account
// page, and at the webhook, which is hung and then down at first and
// comes back: every alert arrives, signed, in order, and sign-in never
// waited for it.
func TestAlerts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := geotest.Write(path, map[string]string{"192.0.2.0/24": "CN", "198.51.100.0/24": "US", "203.0.113.0/24": "SG"}); err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rc := &receiver{release: make(chan struct{}), hung: make(chan struct{}), down: 3}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(rc.release) }) }
	defer release()
	e := newEnvWith(t, func(c *server.Config) {
		c.Country, c.WebhookURL, c.WebhookSecret = db.Country, hook.URL, []byte("webhook-secret-webhook")
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.server.DeliverWebhooks(ctx)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	signIn := func(cred, from string) {
		t.Helper()
		b, _ := json.Marshal(deviceSignIn(app))
		var ok deviceapi.AuthorizeResponse
		e.do("POST", "/api/v1/device/authorize", http.Header{"Authorization": {"Bearer " + cred}, "Content-Type": {"application/json"},
			"X-Forwarded-For": {from}}, strings.NewReader(string(b)), &ok)
		if ok.RedirectURL == "" {
			t.Fatalf("sign-in from %s refused", from)
		}
	}
	laptop := e.enrol("alice")
	signIn(laptop, "192.0.2.1") // her first: nothing to compare with
	e.advance(time.Minute)
	signIn(laptop, "192.0.2.2") // same desktop, same country
	e.advance(10 * time.Minute)
	signIn(laptop, "198.51.100.1") // the US ten minutes after China
	<-rc.hung                      // the receiver hangs on that alert …
	e.advance(3 * time.Hour)
	signIn(laptop, "203.0.113.1") // … and sign-in goes on: Singapore, three hours later
	e.advance(time.Minute)
	desk := e.enrol("alice")
	signIn(desk, "203.0.113.2") // a new desktop
	want := []string{"impossible_travel", "new_country", "new_desktop"}

	alerts, _ := e.store.QueryEvents(context.Background(), storage.EventQuery{Kinds: []string{"alert"}})
	var reasons []string
	for i := len(alerts) - 1; i >= 0; i-- {
		reasons = append(reasons, alerts[i].Reason)
	}
	if strings.Join(reasons, " ") != strings.Join(want, " ") {
		t.Fatalf("alerts in the log: %v, want %v", reasons, want)
	}
	b := e.browser()
	b.login("alice")
	if _, page := b.get("/account"); !strings.Contains(page, "too far apart") || !strings.Contains(page, "a desktop new for this account") {
		t.Fatalf("her account page lacks the alerts: %.2000s", page)
	}

	release() // the receiver answers now, but is down (503) three times, then up
	delivered := func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return len(rc.got) == len(want)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !delivered() && time.Now().Before(deadline) {
		e.advance(10 * time.Second) // the backoff runs on the server's clock, which the test moves
		waitUntil(t, time.Second, func() bool { return delivered() })
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if strings.Join(rc.got, " ") != strings.Join(want, " ") || rc.bad != 0 {
		t.Fatalf("the webhook received %v (%d badly signed), want %v in order", rc.got, rc.bad, want)
	}
}

// waitUntil polls cond until it holds or d passes, and reports which.
func waitUntil(t *testing.T, d time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond) // the poll's interval, not a synchronisation
	}
	return cond()
}
