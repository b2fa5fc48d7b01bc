package tickets

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLifecycleWakesWaiters(t *testing.T) {
	s := New(time.Minute, 10)
	tk, err := s.Create(Ticket{AppID: "wx1"})
	if err != nil || len(tk.UUID) < 22 || tk.Status != Waiting {
		t.Fatalf("Create = %+v, %v", tk, err)
	}
	got := make(chan Ticket, 3)
	for range 3 {
		go func() { got <- s.Wait(context.Background(), tk.UUID, Waiting) }()
	}
	if _, err := s.Scan(tk.UUID, "u1", "Alice", "a.png"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case w := <-got:
			if w.Status != Scanned || w.Nickname != "Alice" {
				t.Fatalf("waiter saw %+v", w)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a waiter was not woken by the scan")
		}
	}
	if _, err := s.Scan(tk.UUID, "u2", "Mallory", ""); !errors.Is(err, ErrTaken) {
		t.Fatalf("second scanner: %v", err)
	}
	if _, err := s.Confirm(tk.UUID, "u2", "c", "r"); !errors.Is(err, ErrTaken) {
		t.Fatalf("confirm by another user: %v", err)
	}
	if _, err := s.Confirm(tk.UUID, "u1", "CODE", "https://rp/cb?code=CODE"); err != nil {
		t.Fatal(err)
	}
	if w := s.Wait(context.Background(), tk.UUID, Scanned); w.Status != Confirmed || w.Code != "CODE" {
		t.Fatalf("after confirm: %+v", w)
	}
	if _, err := s.Cancel(tk.UUID, "u1"); !errors.Is(err, ErrUsed) {
		t.Fatalf("cancel after confirm: %v", err)
	}
}

func TestConfirmNeedsScan(t *testing.T) {
	s := New(time.Minute, 10)
	tk, _ := s.Create(Ticket{})
	if _, err := s.Confirm(tk.UUID, "u1", "c", "r"); err == nil {
		t.Fatal("confirmed an unscanned ticket")
	}
	s.Scan(tk.UUID, "u1", "A", "")
	if tk, err := s.Cancel(tk.UUID, "u1"); err != nil || tk.Status != Cancelled {
		t.Fatalf("cancel: %+v %v", tk, err)
	}
}

func TestExpiryIsPushed(t *testing.T) {
	s := New(100*time.Millisecond, 10)
	tk, _ := s.Create(Ticket{})
	start := time.Now()
	w := s.Wait(context.Background(), tk.UUID, Waiting)
	if w.Status != Expired || time.Since(start) > 5*time.Second {
		t.Fatalf("waiter got %+v after %v", w, time.Since(start))
	}
	if _, err := s.Scan(tk.UUID, "u", "", ""); !errors.Is(err, ErrExpired) {
		t.Fatalf("scan after expiry: %v", err)
	}
	if w := s.Wait(context.Background(), "nope", Waiting); w.Status != Expired {
		t.Fatalf("unknown ticket: %+v", w)
	}
}

func TestWaitTimesOutAndCap(t *testing.T) {
	s := New(time.Minute, 2)
	tk, _ := s.Create(Ticket{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if w := s.Wait(ctx, tk.UUID, Waiting); w.Status != Waiting {
		t.Fatalf("wait without change: %+v", w)
	}
	s.Create(Ticket{})
	if _, err := s.Create(Ticket{}); !errors.Is(err, ErrFull) {
		t.Fatalf("third ticket of 2: %v", err)
	}
}
