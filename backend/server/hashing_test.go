package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/secret"
)

// TestPasswordChecksBounded: no more than MaxConcurrentHashes argon2id
// checks run at once; the next one waits for a slot and gives up with
// errHashBusy instead of adding its 19 MiB.
func TestPasswordChecksBounded(t *testing.T) {
	s := &Server{hashSlots: make(chan struct{}, 2)}
	hash := secret.HashPassword("pw")
	s.hashSlots <- struct{}{}
	s.hashSlots <- struct{}{} // both slots busy
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.checkPassword(ctx, "198.51.100.1", hash, "pw"); !errors.Is(err, errHashBusy) {
		t.Fatalf("a third check while two run: %v, want errHashBusy", err)
	}
	<-s.hashSlots
	if ok, err := s.checkPassword(context.Background(), "198.51.100.1", hash, "pw"); !ok || err != nil {
		t.Fatalf("with a slot free: %v %v", ok, err)
	}
	if len(s.hashSlots) != 1 {
		t.Fatalf("the check kept its slot: %d busy, want 1", len(s.hashSlots))
	}
}

// TestPasswordSlotsFair: one client holds at most one slot; while its
// check runs, its next check waits, and another client's runs at once.
func TestPasswordSlotsFair(t *testing.T) {
	s := &Server{hashSlots: make(chan struct{}, 4)}
	hash := secret.HashPassword("pw")
	give := make(chan time.Time)
	release, ok := s.hashClients.acquire(context.Background(), "2001:db8::/64", give)
	if !ok {
		t.Fatal("first acquire refused")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.checkPassword(ctx, "2001:db8::/64", hash, "pw"); !errors.Is(err, errHashBusy) {
		t.Fatalf("a second check of one client while its first runs: %v, want errHashBusy", err)
	}
	if ok, err := s.checkPassword(context.Background(), "198.51.100.1", hash, "pw"); !ok || err != nil {
		t.Fatalf("another client, slots free: %v %v", ok, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.checkPassword(context.Background(), "2001:db8::/64", hash, "pw")
		done <- err
	}()
	release()
	if err := <-done; err != nil {
		t.Fatalf("the client's next check after its first ended: %v", err)
	}
}
