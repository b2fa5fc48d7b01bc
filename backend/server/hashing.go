package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/scanfree/scanfree/internal/secret"
)

// errHashBusy is checkPassword's answer when no hashing slot freed up in
// time: the caller answers 503 and the try stays counted.
var errHashBusy = errors.New("password hashing is at capacity")

// hashWait is how long a sign-in waits for a hashing slot.
const hashWait = 2 * time.Second

// checkPassword checks password against hash in one of a fixed number of
// slots: each argon2id check holds about 19 MiB for about 30 ms, so an
// unbounded burst of sign-ins would exhaust memory long before the
// per-address limits had counted it. The slots are shared fairly: one
// client (key, its address or /64) holds at most one, so a burst from
// one place queues behind itself instead of filling every slot.
func (s *Server) checkPassword(ctx context.Context, client, hash, password string) (bool, error) {
	var ok bool
	var err error
	if busy := s.inHashSlot(ctx, client, func() { ok, err = secret.CheckPassword(hash, password) }); busy != nil {
		return false, busy
	}
	return ok, err
}

// newPasswordHash hashes a new password in one of the same slots.
func (s *Server) newPasswordHash(ctx context.Context, client, password string) (string, error) {
	var h string
	err := s.inHashSlot(ctx, client, func() { h = secret.HashPassword(password) })
	return h, err
}

// inHashSlot runs fn holding a hashing slot, or answers errHashBusy.
func (s *Server) inHashSlot(ctx context.Context, client string, fn func()) error {
	t := time.NewTimer(hashWait)
	defer t.Stop()
	release, ok := s.hashClients.acquire(ctx, client, t.C)
	if !ok {
		return errHashBusy
	}
	defer release()
	select {
	case s.hashSlots <- struct{}{}:
	case <-t.C:
		return errHashBusy
	case <-ctx.Done():
		return errHashBusy
	}
	defer func() { <-s.hashSlots }()
	fn()
	return nil
}

// clientSlots lets each client run one password check at a time.
type clientSlots struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when that client's check ends
}

// acquire waits until client holds no check (or give fires, or ctx
// ends), then marks it holding one; release unmarks it.
func (c *clientSlots) acquire(ctx context.Context, client string, give <-chan time.Time) (release func(), ok bool) {
	for {
		c.mu.Lock()
		if c.held == nil {
			c.held = map[string]chan struct{}{}
		}
		busy, taken := c.held[client]
		if !taken {
			done := make(chan struct{})
			c.held[client] = done
			c.mu.Unlock()
			return func() {
				c.mu.Lock()
				delete(c.held, client)
				c.mu.Unlock()
				close(done)
			}, true
		}
		c.mu.Unlock()
		select {
		case <-busy:
		case <-give:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}
