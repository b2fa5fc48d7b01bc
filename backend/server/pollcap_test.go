package server_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestLongPollCaps: one address cannot hold thousands of long polls open
// (each a goroutine and a connection for the poll timeout): past four on
// one ticket, or 64 from one address, the answer is an immediate 429;
// another address is not affected, and a slot frees when a poll ends.
func TestLongPollCaps(t *testing.T) {
	e := newEnvWith(t, func(c *server.Config) {
		c.PollTimeout, c.TicketsPerMinute = time.Minute, 1000
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	app := e.app(admin.AppSpec{FastLogin: true})
	type tk struct{ UUID, Key string }
	newTicket := func() tk {
		var t tk
		e.do("POST", "/connect/qrticket", http.Header{"Content-Type": {"application/json"}},
			strings.NewReader(`{"appid":"`+app.AppID+`","redirect_uri":"http://shop.localhost:8081/callback","scope":"snsapi_login","state":"st"}`), &t)
		return t
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	// pollFrom sends a poll from address from; it returns its status, or
	// 0 when it was still waiting after wait.
	pollFrom := func(ctx context.Context, t tk, from string) int {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/connect/l/qrconnect?"+url.Values{"uuid": {t.UUID}, "key": {t.Key}, "last": {"408"}}.Encode(), nil)
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// hold keeps one poll of t from address from waiting until the test
	// ends (sent again if a probe took its place for a moment).
	hold := func(t tk, from string) {
		wg.Go(func() {
			for pollFrom(ctx, t, from) == http.StatusTooManyRequests {
				select {
				case <-ctx.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
	quick := func(t tk, from string) int {
		c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		return pollFrom(c, t, from)
	}

	one := newTicket()
	for range 4 {
		hold(one, "198.51.100.1")
	}
	testutil.Eventually(t, 10*time.Second, "a fifth poll of one ticket refused", func() bool { return quick(one, "198.51.100.1") == 429 })

	// 64 from one address over 16 tickets, then any further one is refused,
	// while another address still waits normally.
	for range 15 {
		t := newTicket()
		for range 4 {
			hold(t, "203.0.113.5")
		}
	}
	for range 4 {
		hold(newTicket(), "203.0.113.5")
	}
	fresh := newTicket()
	testutil.Eventually(t, 10*time.Second, "the 65th poll of one address refused", func() bool { return quick(fresh, "203.0.113.5") == 429 })
	if code := quick(fresh, "192.0.2.77"); code != 0 {
		t.Fatalf("another address's poll: %d, want it waiting", code)
	}
}
