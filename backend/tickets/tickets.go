// Package tickets runs the QR login tickets of the hosted login page: their
// state changes, kept in the shared storage so that any replica can create,
// scan, confirm or answer a poll for any ticket, and the long polls that
// wait for a change.
//
// A waiting long poll is woken, not polled: the store's change feed
// (storage.Tickets.WatchTickets, LISTEN/NOTIFY on PostgreSQL) tells this
// process which ticket changed, and a change made here also wakes local
// waiters at once. Each woken waiter reads its ticket again, so a missed
// or doubled notification costs a read, never a wrong answer.
package tickets

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// Status is a ticket's state, numbered as the seeds' wx_errcode values.
type Status = storage.TicketStatus

// Statuses.
const (
	Waiting   = storage.TicketWaiting
	Scanned   = storage.TicketScanned
	Confirmed = storage.TicketConfirmed
	Cancelled = storage.TicketCancelled
	Expired   = storage.TicketExpired
)

// Ticket is one QR login.
type Ticket = storage.Ticket

// Errors of the state changes.
var (
	ErrUnknown = errors.New("unknown or expired QR ticket")
	ErrExpired = errors.New("the QR code expired")
	ErrUsed    = errors.New("the QR code was already used")
	ErrTaken   = errors.New("someone else scanned this QR code")
	// ErrNotScanned refuses confirming or cancelling a ticket that the
	// user did not claim (scan) first.
	ErrNotScanned = errors.New("the QR code was not scanned by this user")
)

// retryEvery is how soon a waiter reads again after the database failed.
const retryEvery = 250 * time.Millisecond

// Store runs tickets kept in a storage.Tickets.
type Store struct {
	st  storage.Tickets
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	waits   map[string]*waiters
	waiting atomic.Int64
}

// waiters are the long polls of one ticket: ch is closed on its change.
type waiters struct {
	ch chan struct{}
	n  int
}

// New returns a store whose tickets live ttl (120 s). It does no I/O.
func New(st storage.Tickets, ttl time.Duration, now func() time.Time) *Store {
	if ttl <= 0 {
		ttl = 120 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Store{st: st, ttl: ttl, now: now, waits: map[string]*waiters{}}
}

// Run follows the storage's change feed until ctx ends, so that changes
// made by other replicas wake this process's waiters.
func (s *Store) Run(ctx context.Context) error {
	return s.st.WatchTickets(ctx, s.wake)
}

// TTL is a ticket's lifetime.
func (s *Store) TTL() time.Duration { return s.ttl }

// Waiting is the number of long polls waiting in this process.
func (s *Store) Waiting() int { return int(s.waiting.Load()) }

// Create stores a new waiting ticket for t's request fields.
func (s *Store) Create(ctx context.Context, t Ticket) (Ticket, error) {
	b := make([]byte, 18)
	rand.Read(b)
	t.UUID = base64.RawURLEncoding.EncodeToString(b)
	t.CreatedAt = s.now()
	t.ExpiresAt = t.CreatedAt.Add(s.ttl)
	t.Status = Waiting
	t.UserID, t.Nickname, t.HeadImgURL, t.SealedCode = "", "", "", nil
	if err := s.st.CreateTicket(ctx, t); err != nil {
		return t, fmt.Errorf("create QR ticket: %w", err)
	}
	return t, nil
}

// Get returns ticket id as it stands now; an unfinished ticket past its
// expiry reads as Expired. A missing ticket is ErrUnknown.
func (s *Store) Get(ctx context.Context, id string) (Ticket, error) {
	t, err := s.st.GetTicket(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return Ticket{UUID: id, Status: Expired}, ErrUnknown
	}
	if err != nil {
		return t, err
	}
	s.expire(&t)
	return t, nil
}

func (s *Store) expire(t *Ticket) {
	if (t.Status == Waiting || t.Status == Scanned) && !s.now().Before(t.ExpiresAt) {
		t.Status = Expired
	}
}

// Wait returns ticket id as soon as its status differs from last, or its
// latest state when ctx ends first. An unknown ticket reads as expired.
// While the database is unreachable it keeps trying until ctx ends.
func (s *Store) Wait(ctx context.Context, id string, last Status) Ticket {
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	latest := Ticket{UUID: id, Status: last}
	for {
		// Subscribe before reading, so a change between the two still wakes us.
		ch := s.subscribe(id)
		t, err := s.Get(ctx, id)
		var wakeAt <-chan time.Time
		switch {
		case errors.Is(err, ErrUnknown):
			s.unsubscribe(id)
			return t
		case err != nil:
			wakeAt = time.After(retryEvery)
		case t.Status != last:
			s.unsubscribe(id)
			return t
		default:
			latest = t
			if t.Status == Waiting || t.Status == Scanned {
				// Expiry is read, not written: wake to read it.
				wakeAt = time.After(t.ExpiresAt.Sub(s.now()) + time.Millisecond)
			}
		}
		select {
		case <-ch:
		case <-wakeAt:
		case <-ctx.Done():
			s.unsubscribe(id)
			return latest
		}
		s.unsubscribe(id)
	}
}

func (s *Store) subscribe(id string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.waits[id]
	if w == nil {
		w = &waiters{ch: make(chan struct{})}
		s.waits[id] = w
	}
	w.n++
	return w.ch
}

func (s *Store) unsubscribe(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The entry may have been woken and replaced meanwhile; count down
	// whichever is current, and drop it when no one waits on it.
	if w := s.waits[id]; w != nil {
		if w.n--; w.n <= 0 {
			delete(s.waits, id)
		}
	}
}

// wake wakes the waiters of ticket id, or of every ticket when id is "".
func (s *Store) wake(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		for k, w := range s.waits {
			close(w.ch)
			s.waits[k] = &waiters{ch: make(chan struct{}), n: w.n}
		}
		return
	}
	if w := s.waits[id]; w != nil {
		close(w.ch)
		s.waits[id] = &waiters{ch: make(chan struct{}), n: w.n}
	}
}

// update applies fn to ticket id in the store and wakes local waiters.
func (s *Store) update(ctx context.Context, id string, fn func(t *Ticket) error) (Ticket, error) {
	t, err := s.st.UpdateTicket(ctx, id, func(t *Ticket) error {
		s.expire(t)
		return fn(t)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return t, ErrUnknown
	}
	if err != nil {
		return t, err
	}
	s.wake(id)
	return t, nil
}

func usable(t *Ticket, userID string) error {
	switch {
	case t.Status == Expired:
		return ErrExpired
	case t.Status == Confirmed || t.Status == Cancelled:
		return ErrUsed
	case t.Status == Scanned && t.UserID != userID:
		return ErrTaken
	}
	return nil
}

// Check returns ticket id if userID could scan it now, changing nothing:
// the phone page's GET, which any link or hidden frame can cause.
func (s *Store) Check(ctx context.Context, id, userID string) (Ticket, error) {
	t, err := s.Get(ctx, id)
	if err != nil {
		return t, err
	}
	return t, usable(&t, userID)
}

// Scan claims the ticket for userID, after the person chose to sign in
// with it (a POST from a click, never a page load). The waiting page is
// told only that it was scanned, never by whom: nickname and avatar stay
// out of tickets, so a poll cannot deanonymise the person.
func (s *Store) Scan(ctx context.Context, id, userID string) (Ticket, error) {
	return s.update(ctx, id, func(t *Ticket) error {
		if err := usable(t, userID); err != nil {
			return err
		}
		t.Status, t.UserID = Scanned, userID
		return nil
	})
}

// Confirm completes the ticket scanned by userID with a minted code,
// sealed by the caller so the database never holds it in the clear.
func (s *Store) Confirm(ctx context.Context, id, userID string, sealedCode []byte) (Ticket, error) {
	return s.update(ctx, id, func(t *Ticket) error {
		if err := usable(t, userID); err != nil {
			return err
		}
		if t.Status != Scanned {
			return ErrNotScanned
		}
		t.Status, t.SealedCode = Confirmed, sealedCode
		return nil
	})
}

// Cancel ends the ticket at the request of the user who scanned it. Only
// that user may: anyone else signed in who can see the screen could
// otherwise end another person's sign-in without scanning (ErrNotScanned).
func (s *Store) Cancel(ctx context.Context, id, userID string) (Ticket, error) {
	return s.update(ctx, id, func(t *Ticket) error {
		if err := usable(t, userID); err != nil {
			return err
		}
		if t.Status != Scanned {
			return ErrNotScanned
		}
		t.Status = Cancelled
		return nil
	})
}

// IsStateError reports whether err is the ticket's state refusing the
// change, rather than the database failing.
func IsStateError(err error) bool {
	return errors.Is(err, ErrUnknown) || errors.Is(err, ErrExpired) || errors.Is(err, ErrUsed) ||
		errors.Is(err, ErrTaken) || errors.Is(err, ErrNotScanned)
}
