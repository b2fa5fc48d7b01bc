package server

import (
	"context"
	"fmt"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// The per-account ceiling on password guessing. The per-address budgets
// bound one guesser; many addresses guessing one account are bounded by
// the account's own count of wrong passwords, kept in the shared store
// for an hour: past accountFreeFailures, every password check for the
// account waits first, twice as long at each further failure, up to
// accountMaxDelay. It slows guessing without ever refusing the owner,
// whose right password still signs in (after the wait), and scan-free and
// QR sign-in, which take no password, do not wait at all.
const (
	accountWindow       = time.Hour
	accountFreeFailures = 10
	accountMaxDelay     = 30 * time.Second
)

// accountDelay is the wait before a password check of an account with
// failures wrong passwords in the window.
func accountDelay(failures int) time.Duration {
	if failures < accountFreeFailures {
		return 0
	}
	d := time.Second << min(failures-accountFreeFailures, 16)
	return min(d, accountMaxDelay)
}

func accountKey(username string) string { return storage.AccountKey(username) }

// accountFailures returns the wrong passwords counted for username in the
// current window; an unknown name counts as well, so the delay does not
// tell which accounts exist.
func (s *Server) accountFailures(ctx context.Context, username string) (int, error) {
	return s.store.CountAttempts(ctx, accountKey(username), accountWindow, s.now())
}

// waitForAccount sleeps the account's delay, or until ctx ends.
func (s *Server) waitForAccount(ctx context.Context, failures int) error {
	d := accountDelay(failures)
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// accountFailed counts a wrong password for username (userID when the
// account exists). Crossing into the slow regime is an audit event, which
// the account page shows its owner.
func (s *Server) accountFailed(ctx context.Context, username, userID string) {
	if _, err := s.store.AddAttempt(ctx, accountKey(username), 1<<30, accountWindow, s.now()); err != nil {
		s.log.ErrorContext(ctx, "login: count the account's failure", "err", err)
		return
	}
	n, err := s.accountFailures(ctx, username)
	if err != nil || n != accountFreeFailures || userID == "" {
		return
	}
	s.log.WarnContext(ctx, "many wrong passwords for one account; its password sign-ins now wait", "user", username)
	s.signin.Event(ctx, storage.Event{UserID: userID, Kind: "password_throttled",
		Detail: fmt.Sprintf("%d wrong passwords within an hour; password sign-ins to this account now wait up to %v (scan-free and QR sign-in do not)",
			accountFreeFailures, accountMaxDelay)})
}
