package server

import (
	"context"
	"errors"
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
// per-address limits had counted it.
func (s *Server) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case s.hashSlots <- struct{}{}:
	case <-t.C:
		return false, errHashBusy
	case <-ctx.Done():
		return false, errHashBusy
	}
	defer func() { <-s.hashSlots }()
	return secret.CheckPassword(hash, password)
}
