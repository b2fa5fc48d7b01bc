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
	if _, err := s.checkPassword(ctx, hash, "pw"); !errors.Is(err, errHashBusy) {
		t.Fatalf("a third check while two run: %v, want errHashBusy", err)
	}
	<-s.hashSlots
	if ok, err := s.checkPassword(context.Background(), hash, "pw"); !ok || err != nil {
		t.Fatalf("with a slot free: %v %v", ok, err)
	}
	if len(s.hashSlots) != 1 {
		t.Fatalf("the check kept its slot: %d busy, want 1", len(s.hashSlots))
	}
}
