package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// The state every replica must agree on: QR tickets, attempt windows and
// the device flow's polling interval.

// testDevicePollRace polls one device authorization from many goroutines
// at the same instant: only one of them may find itself in time.
func testDevicePollRace(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	must(t, s.CreateDeviceAuth(ctx, storage.DeviceAuth{DeviceCodeHash: h("dc-race"), UserCode: "RACERACE", ClientID: "c",
		Status: storage.DeviceAuthPending, Interval: 5 * time.Second, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	var inTime, slow atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, err := s.PollDeviceAuth(ctx, h("dc-race"), now.Add(time.Second), 5*time.Second)
			switch {
			case err != nil:
				t.Errorf("poll: %v", err)
			case s:
				slow.Add(1)
			default:
				inTime.Add(1)
			}
		}()
	}
	wg.Wait()
	da, err := s.GetDeviceAuth(ctx, h("dc-race"))
	must(t, err)
	if inTime.Load() != 1 || slow.Load() != 19 || da.Interval != 5*time.Second+19*5*time.Second {
		t.Fatalf("%d in time, %d slow_down, interval %s; want 1, 19, 1m40s", inTime.Load(), slow.Load(), da.Interval)
	}
}

func seedTicket(t *testing.T, s storage.Storage, uuid string) storage.Ticket {
	t.Helper()
	tk := storage.Ticket{UUID: uuid, AppID: "wx1", RedirectURI: "https://rp.example/cb", Scope: "snsapi_login", State: "s1",
		Status: storage.TicketWaiting, Computer: "Chrome on Linux, 10.0.0.5", CreatedAt: now, ExpiresAt: now.Add(2 * time.Minute)}
	must(t, s.CreateTicket(context.Background(), tk))
	return tk
}

var errRefuse = errors.New("refused by fn")

func testTickets(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	tk := seedTicket(t, s, "t1")
	wantErr(t, s.CreateTicket(ctx, tk), storage.ErrAlreadyExists)
	got, err := s.GetTicket(ctx, "t1")
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(tk) {
		t.Fatalf("GetTicket = %+v, want %+v", got, tk)
	}
	_, err = s.GetTicket(ctx, "nope")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.UpdateTicket(ctx, "nope", func(*storage.Ticket) error { return nil })
	wantErr(t, err, storage.ErrNotFound)

	// A refusing fn stores nothing, even what it changed before refusing.
	_, err = s.UpdateTicket(ctx, "t1", func(t *storage.Ticket) error {
		t.Status = storage.TicketCancelled
		return errRefuse
	})
	wantErr(t, err, errRefuse)
	scanned, err := s.UpdateTicket(ctx, "t1", func(t *storage.Ticket) error {
		if t.Status != storage.TicketWaiting {
			return fmt.Errorf("fn saw status %d, want waiting", t.Status)
		}
		t.Status, t.UserID, t.Nickname, t.HeadImgURL = storage.TicketScanned, "u1", "Alice", "https://a.example/a.png"
		t.AppID = "changed" // the request fields are not the fn's to change
		return nil
	})
	must(t, err)
	_, err = s.UpdateTicket(ctx, "t1", func(t *storage.Ticket) error {
		t.Status, t.SealedCode = storage.TicketConfirmed, []byte("sealed\x00code")
		return nil
	})
	must(t, err)
	got, err = s.GetTicket(ctx, "t1")
	must(t, err)
	if got.Status != storage.TicketConfirmed || got.UserID != "u1" || got.Nickname != "Alice" || string(got.SealedCode) != "sealed\x00code" ||
		got.AppID != "wx1" || got.RedirectURI != tk.RedirectURI || got.State != "s1" || !got.ExpiresAt.Equal(tk.ExpiresAt) {
		t.Fatalf("after confirm: %+v (scanned: %+v)", got, scanned)
	}
	seedTicket(t, s, "t2")
	n, err := s.CountTickets(ctx, now)
	must(t, err)
	if n != 2 {
		t.Fatalf("CountTickets = %d, want 2", n)
	}
	if n, err := s.CountTickets(ctx, now.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("CountTickets an hour later = %d, %v; want 0", n, err)
	}
	must(t, s.Ping(ctx))
}

// testTicketRace lets many users scan one ticket at once: exactly one wins,
// and what fn read is what the store held (no lost update).
func testTicketRace(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	seedTicket(t, s, "race")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateTicket(ctx, "race", func(t *storage.Ticket) error {
				if t.Status != storage.TicketWaiting {
					return errRefuse
				}
				t.Status, t.UserID = storage.TicketScanned, fmt.Sprint("u", i)
				return nil
			})
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, errRefuse):
				t.Errorf("update: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d scans won, want 1", wins.Load())
	}
}

// testTicketWatch checks that a watcher hears of a change made through
// the store, and that a stopped watcher returns.
func testTicketWatch(t *testing.T, s storage.Storage) {
	ctx, cancel := context.WithCancel(context.Background())
	heard := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- s.WatchTickets(ctx, func(uuid string) {
			select {
			case heard <- uuid:
			default:
			}
		})
	}()
	seedTicket(t, s, "w1")
	deadline := time.After(10 * time.Second)
	// The watcher may start listening after the first update; update until
	// it hears one, as a waiter would re-read.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for heardIt := false; !heardIt; {
		_, err := s.UpdateTicket(context.Background(), "w1", func(t *storage.Ticket) error {
			t.Nickname += "x"
			return nil
		})
		must(t, err)
		for drain := true; drain; {
			select {
			case u := <-heard:
				if u == "w1" {
					heardIt = true
				} else if u != "" {
					t.Fatalf("heard of ticket %q, want w1", u)
				}
			case <-tick.C:
				drain = false
			case <-deadline:
				t.Fatal("the watcher never heard of the change")
			}
		}
	}
	cancel()
	select {
	case err := <-done:
		wantErr(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("WatchTickets did not return after its context ended")
	}
}

func testAttempts(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	const w = time.Minute
	count := func(at time.Duration) int {
		t.Helper()
		n, err := s.CountAttempts(ctx, "k", w, now.Add(at))
		must(t, err)
		return n
	}
	add := func(at time.Duration, max int) bool {
		t.Helper()
		ok, err := s.AddAttempt(ctx, "k", max, w, now.Add(at))
		must(t, err)
		return ok
	}
	if count(0) != 0 {
		t.Fatal("a new key has attempts")
	}
	for i := range 3 {
		if !add(time.Duration(i)*time.Second, 3) {
			t.Fatalf("attempt %d refused under a budget of 3", i+1)
		}
	}
	if add(10*time.Second, 3) || count(10*time.Second) != 3 {
		t.Fatalf("a fourth attempt counted: %d", count(10*time.Second))
	}
	// The window began with the first try, not the last: it ends at +60 s.
	if count(59*time.Second) != 3 || count(60*time.Second) != 0 {
		t.Fatalf("window: %d at +59 s, %d at +60 s; want 3 and 0", count(59*time.Second), count(60*time.Second))
	}
	if !add(61*time.Second, 3) || count(61*time.Second) != 1 {
		t.Fatal("a new window did not start over")
	}
	if n, err := s.CountAttempts(ctx, "other", w, now); err != nil || n != 0 {
		t.Fatalf("another key: %d, %v", n, err)
	}
	// A released try is given back once; never below zero.
	add(62*time.Second, 3)
	must(t, s.ReleaseAttempt(ctx, "k", now.Add(63*time.Second)))
	if count(63*time.Second) != 1 {
		t.Fatalf("after a release: %d, want 1", count(63*time.Second))
	}
	must(t, s.ReleaseAttempt(ctx, "k", now.Add(63*time.Second)))
	must(t, s.ReleaseAttempt(ctx, "k", now.Add(63*time.Second)))
	if count(63*time.Second) != 0 || !add(64*time.Second, 1) || add(64*time.Second, 1) {
		t.Fatalf("released below zero: %d", count(64*time.Second))
	}
	must(t, s.ReleaseAttempt(ctx, "never-seen", now))
	must(t, s.ResetAttempts(ctx, "k"))
	if count(61*time.Second) != 0 {
		t.Fatal("reset kept the attempts")
	}
	must(t, s.ResetAttempts(ctx, "never-seen"))
}

// testAttemptRace adds 50 attempts at once under a budget of 10: exactly
// 10 count, wherever they came from.
func testAttemptRace(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	var counted atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.AddAttempt(ctx, "race", 10, time.Minute, now)
			if err != nil {
				t.Errorf("add attempt: %v", err)
			}
			if ok {
				counted.Add(1)
			}
		}()
	}
	wg.Wait()
	n, err := s.CountAttempts(ctx, "race", time.Minute, now)
	must(t, err)
	if counted.Load() != 10 || n != 10 {
		t.Fatalf("%d counted, %d stored; want 10", counted.Load(), n)
	}
}

func testPurge(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	seedTicket(t, s, "old") // expires at now+2m
	must(t, s.CreateSession(ctx, storage.Session{Hash: h("s-old"), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	must(t, s.CreateSession(ctx, storage.Session{Hash: h("s-new"), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	_, err := s.AddAttempt(ctx, "a-old", 5, time.Minute, now)
	must(t, err)
	c := seedCode(t, s, "kept")                                   // expires at now+5m
	must(t, s.RedeemCode(ctx, c.Hash, now, tokensFor(c, "kept"))) // access +2h, refresh +30d
	must(t, s.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "login", Detail: "old", CreatedAt: now}))
	must(t, s.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "login", Detail: "new", CreatedAt: now.Add(time.Hour)}))

	// Codes are kept while a token they issued may live; events apart.
	n, err := s.Purge(ctx, storage.PurgeBefore{Expired: now.Add(3 * time.Minute), Codes: now, Events: now})
	must(t, err)
	if n != 3 {
		t.Fatalf("Purge removed %d rows, want 3 (ticket, session, attempt window)", n)
	}
	_, err = s.GetTicket(ctx, "old")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetSession(ctx, h("s-old"))
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetSession(ctx, h("s-new"))
	must(t, err)
	_, err = s.GetCode(ctx, c.Hash)
	must(t, err)

	// Later: the expired access token and session go, the refresh token
	// and (by Codes) the code stay; old events go.
	n, err = s.Purge(ctx, storage.PurgeBefore{Expired: now.Add(3 * time.Hour), Codes: now, Events: now.Add(time.Minute)})
	must(t, err)
	if n != 4 {
		t.Fatalf("second Purge removed %d rows, want 4 (access token, the hour-long session, the old event and the code's sign-in event)", n)
	}
	_, err = s.GetToken(ctx, h("at-kept"))
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetToken(ctx, h("rt-kept"))
	must(t, err)
	if ev, err := s.ListEvents(ctx, u.ID, "", 10); err != nil || len(ev) != 1 || ev[0].Detail != "new" {
		t.Fatalf("events after purge: %+v %v", ev, err)
	}

	// Once its tokens are gone, the code goes too.
	n, err = s.Purge(ctx, storage.PurgeBefore{Expired: now.Add(31 * 24 * time.Hour), Codes: now.Add(time.Hour)})
	must(t, err)
	if n != 3 {
		t.Fatalf("third Purge removed %d rows, want 3 (refresh token, code, family)", n)
	}
	_, err = s.GetCode(ctx, c.Hash)
	wantErr(t, err, storage.ErrNotFound)
}
