package tickets

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage/sqlite"
)

func newStore(t *testing.T, ttl time.Duration) *Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db, ttl, nil)
}

func TestLifecycleWakesWaiters(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, time.Minute)
	tk, err := s.Create(ctx, Ticket{AppID: "wx1"})
	if err != nil || len(tk.UUID) < 22 || tk.Status != Waiting {
		t.Fatalf("Create = %+v, %v", tk, err)
	}
	got := make(chan Ticket, 3)
	for range 3 {
		go func() { got <- s.Wait(ctx, tk.UUID, Waiting) }()
	}
	// Only scan once every waiter is waiting, so that the scan is what wakes them.
	for deadline := time.Now().Add(5 * time.Second); s.Waiting() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want 3", s.Waiting())
		}
	}
	if _, err := s.Scan(ctx, tk.UUID, "u1"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case w := <-got:
			if w.Status != Scanned || w.UserID != "u1" || w.Nickname != "" {
				t.Fatalf("waiter saw %+v", w)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a waiter was not woken by the scan")
		}
	}
	if _, err := s.Scan(ctx, tk.UUID, "u2"); !errors.Is(err, ErrTaken) {
		t.Fatalf("second scanner: %v", err)
	}
	if _, err := s.Confirm(ctx, tk.UUID, "u2", []byte("c")); !errors.Is(err, ErrTaken) {
		t.Fatalf("confirm by another user: %v", err)
	}
	if _, err := s.Confirm(ctx, tk.UUID, "u1", []byte("SEALED")); err != nil {
		t.Fatal(err)
	}
	if w := s.Wait(ctx, tk.UUID, Scanned); w.Status != Confirmed || string(w.SealedCode) != "SEALED" {
		t.Fatalf("after confirm: %+v", w)
	}
	if _, err := s.Cancel(ctx, tk.UUID, "u1"); !errors.Is(err, ErrUsed) {
		t.Fatalf("cancel after confirm: %v", err)
	}
	if s.Waiting() != 0 || len(s.waits) != 0 {
		t.Fatalf("%d waiting, %d subscriptions left", s.Waiting(), len(s.waits))
	}
}

func TestConfirmNeedsScan(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, time.Minute)
	tk, _ := s.Create(ctx, Ticket{})
	if _, err := s.Confirm(ctx, tk.UUID, "u1", []byte("c")); err == nil {
		t.Fatal("confirmed an unscanned ticket")
	}
	if _, err := s.Cancel(ctx, tk.UUID, "u2"); !errors.Is(err, ErrNotScanned) {
		t.Fatalf("cancel of a waiting ticket by someone who did not scan it: %v", err)
	}
	s.Scan(ctx, tk.UUID, "u1")
	if _, err := s.Cancel(ctx, tk.UUID, "u2"); !errors.Is(err, ErrTaken) {
		t.Fatalf("cancel by another user than the scanner: %v", err)
	}
	if tk, err := s.Cancel(ctx, tk.UUID, "u1"); err != nil || tk.Status != Cancelled {
		t.Fatalf("cancel: %+v %v", tk, err)
	}
}

func TestExpiryWakesWaiter(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, 100*time.Millisecond)
	tk, _ := s.Create(ctx, Ticket{})
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if w := s.Wait(wctx, tk.UUID, Waiting); w.Status != Expired {
		t.Fatalf("waiter got %+v, want expired before its own deadline", w)
	}
	if _, err := s.Scan(ctx, tk.UUID, "u"); !errors.Is(err, ErrExpired) {
		t.Fatalf("scan after expiry: %v", err)
	}
	if w := s.Wait(ctx, "nope", Waiting); w.Status != Expired {
		t.Fatalf("unknown ticket: %+v", w)
	}
	// A poll that already saw the expiry waits for its deadline, not in a loop.
	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	if w := s.Wait(short, tk.UUID, Expired); w.Status != Expired {
		t.Fatalf("poll after expiry: %+v", w)
	}
}

func TestWaitTimesOut(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, time.Minute)
	tk, _ := s.Create(ctx, Ticket{})
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if w := s.Wait(wctx, tk.UUID, Waiting); w.Status != Waiting {
		t.Fatalf("wait without change: %+v", w)
	}
}

// TestFeedWakesWaiter changes a ticket behind this Store's back, as
// another replica would: the storage's feed, followed by Run, wakes it.
func TestFeedWakesWaiter(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, b := New(db, time.Minute, nil), New(db, time.Minute, nil)
	go a.Run(ctx)
	tk, _ := b.Create(ctx, Ticket{})
	got := make(chan Ticket, 1)
	go func() { got <- a.Wait(ctx, tk.UUID, Waiting) }()
	for deadline := time.Now().Add(5 * time.Second); a.Waiting() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the waiter never waited")
		}
	}
	if _, err := b.Scan(ctx, tk.UUID, "u1"); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-got:
		if w.Status != Scanned {
			t.Fatalf("waiter saw %+v", w)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the feed did not wake the other store's waiter")
	}
}
