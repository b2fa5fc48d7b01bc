package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// testEventQuery: the sign-in log's filters (person, app, desktop, kinds,
// method, result, address or CIDR range, time range) each narrow the
// selection, newest first; a page continues exactly where the previous
// one stopped, also among events of the same millisecond; the new fields
// survive a round trip.
func testEventQuery(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	addrs := []string{"192.0.2.10", "192.0.2.200", "198.51.100.7", "2001:db8::1", "2001:db8:1::1", ""}
	var all []storage.Event
	for i := range 60 {
		e := storage.Event{UserID: fmt.Sprint("u", i%3), Kind: []string{"signin", "signin_refused", "login"}[i%3], AppID: fmt.Sprint("wx", i%2),
			DeviceID: fmt.Sprint("d", i%4), Detail: fmt.Sprint("event ", i), CreatedAt: now.Add(time.Duration(i/2) * time.Second), // two per instant
			Method: []string{storage.MethodScanFree, storage.MethodQR, storage.MethodPassword}[i%3], Face: "wechat",
			Addr: addrs[i%len(addrs)], Country: "CN", Result: []string{storage.ResultOK, storage.ResultRefused}[i%2], Reason: fmt.Sprint("r", i%2)}
		must(t, s.AddEvent(ctx, e))
		all = append([]storage.Event{e}, all...) // newest first, as the log lists
	}
	query := func(q storage.EventQuery) []storage.Event {
		t.Helper()
		got, err := s.QueryEvents(ctx, q)
		must(t, err)
		return got
	}
	want := func(name string, q storage.EventQuery, keep func(storage.Event) bool) {
		t.Helper()
		q.Limit = 1000
		got := query(q)
		var exp []string
		for _, e := range all {
			if keep(e) {
				exp = append(exp, e.Detail)
			}
		}
		var gotD []string
		for _, e := range got {
			gotD = append(gotD, e.Detail)
		}
		if fmt.Sprint(gotD) != fmt.Sprint(exp) || len(exp) == 0 {
			t.Fatalf("%s: got %v, want %v", name, gotD, exp)
		}
	}
	want("everything", storage.EventQuery{}, func(storage.Event) bool { return true })
	want("person", storage.EventQuery{UserID: "u1"}, func(e storage.Event) bool { return e.UserID == "u1" })
	want("app and result", storage.EventQuery{AppID: "wx1", Result: storage.ResultRefused}, func(e storage.Event) bool { return e.AppID == "wx1" && e.Result == storage.ResultRefused })
	want("desktop", storage.EventQuery{DeviceID: "d3"}, func(e storage.Event) bool { return e.DeviceID == "d3" })
	want("kinds", storage.EventQuery{Kinds: []string{"signin", "login"}}, func(e storage.Event) bool { return e.Kind != "signin_refused" })
	want("method", storage.EventQuery{Method: storage.MethodQR}, func(e storage.Event) bool { return e.Method == storage.MethodQR })
	want("one address", storage.EventQuery{Addr: netip.MustParsePrefix("192.0.2.10/32")}, func(e storage.Event) bool { return e.Addr == "192.0.2.10" })
	want("an IPv4 range", storage.EventQuery{Addr: netip.MustParsePrefix("192.0.2.0/24")}, func(e storage.Event) bool { return e.Addr == "192.0.2.10" || e.Addr == "192.0.2.200" })
	want("an IPv6 range", storage.EventQuery{Addr: netip.MustParsePrefix("2001:db8::/48")}, func(e storage.Event) bool { return e.Addr == "2001:db8::1" })
	want("a wide IPv6 range", storage.EventQuery{Addr: netip.MustParsePrefix("2001:db8::/32")}, func(e storage.Event) bool { return e.Addr == "2001:db8::1" || e.Addr == "2001:db8:1::1" })
	since, until := now.Add(5*time.Second), now.Add(10*time.Second)
	want("time range", storage.EventQuery{UserID: "u2", Since: since, Until: until}, func(e storage.Event) bool {
		return e.UserID == "u2" && !e.CreatedAt.Before(since) && e.CreatedAt.Before(until)
	})

	// Paging, seven at a time: every event once, in order.
	var paged []string
	var c storage.Cursor
	for range 20 {
		page := query(storage.EventQuery{Before: c, Limit: 7})
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			paged = append(paged, e.Detail)
		}
		c = page[len(page)-1].Cursor()
		if back, ok := storage.ParseCursor(c.String()); !ok || back != c {
			t.Fatalf("cursor %q read back as %+v", c, back)
		}
	}
	var exp []string
	for _, e := range all {
		exp = append(exp, e.Detail)
	}
	if fmt.Sprint(paged) != fmt.Sprint(exp) {
		t.Fatalf("paged:\n%v\nwant\n%v", paged, exp)
	}
	if got := query(storage.EventQuery{Limit: 1}); len(got) != 1 || got[0].Method == "" || got[0].Addr != all[0].Addr || got[0].Country != "CN" ||
		got[0].Result == "" || got[0].Reason == "" || got[0].Face != "wechat" {
		t.Fatalf("the newest event's fields: %+v", got)
	}

	// A store that imports events keeps them as AddEvent does.
	if imp, ok := s.(storage.EventImporter); ok {
		batch := []storage.Event{{UserID: "imp", Kind: "signin", Addr: "203.0.113.9", Result: storage.ResultOK, CreatedAt: now.Add(time.Hour), Detail: "imported 1"},
			{UserID: "imp", Kind: "signin", Addr: "203.0.113.10", Result: storage.ResultOK, CreatedAt: now.Add(2 * time.Hour), Detail: "imported 2"}}
		must(t, imp.ImportEvents(ctx, batch))
		got := query(storage.EventQuery{UserID: "imp", Addr: netip.MustParsePrefix("203.0.113.0/24")})
		if len(got) != 2 || got[0].Detail != "imported 2" || got[1].Addr != "203.0.113.9" {
			t.Fatalf("imported events: %+v", got)
		}
		// Their country is not known: the country filters leave them out.
		if got := query(storage.EventQuery{UserID: "imp", CountryKnown: true}); len(got) != 0 {
			t.Fatalf("imported events of no country, as known: %+v", got)
		}
		if got := query(storage.EventQuery{Country: "CN", Limit: 1000}); len(got) != len(all) {
			t.Fatalf("events of CN: %d, want %d", len(got), len(all))
		}
	}
}
