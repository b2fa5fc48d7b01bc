// Package tickets holds the QR login tickets of the hosted login page in
// memory and wakes the page's waiting long polls the moment a ticket
// changes: there is no polling loop on the server side. Each ticket has a
// channel that is closed (and replaced) on every change, so any number of
// waiters learn of it at once.
//
// Tickets live for minutes and need no durability; a backend run as
// several replicas would need them shared (e.g. in the database with
// LISTEN/NOTIFY), which this reference server does not do.
package tickets

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"time"
)

// Status is a ticket's state, numbered as the seeds' wx_errcode values.
type Status int

// Statuses.
const (
	Waiting   Status = 408
	Scanned   Status = 404
	Confirmed Status = 405
	Cancelled Status = 403
	Expired   Status = 402
)

// Errors of the state changes.
var (
	ErrUnknown    = errors.New("unknown or expired QR ticket")
	ErrExpired    = errors.New("the QR code expired")
	ErrUsed       = errors.New("the QR code was already used")
	ErrTaken      = errors.New("someone else scanned this QR code")
	ErrFull       = errors.New("too many QR tickets")
	errNotScanned = errors.New("the QR code was not scanned by this user")
)

// Ticket is one QR login.
type Ticket struct {
	UUID        string
	AppID       string
	RedirectURI string
	Scope       string
	State       string
	Created     time.Time
	Expires     time.Time
	Status      Status
	UserID      string // who scanned
	Nickname    string
	HeadImgURL  string
	Code        string
	RedirectURL string // set once confirmed
}

// Store holds tickets.
type Store struct {
	ttl   time.Duration
	grace time.Duration // how long a finished ticket is kept to answer late polls
	max   int

	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	t       Ticket
	changed chan struct{}
}

// New returns a store whose tickets live ttl (120 s) and of which at most
// max (100,000) exist at once.
func New(ttl time.Duration, max int) *Store {
	if ttl <= 0 {
		ttl = 120 * time.Second
	}
	if max <= 0 {
		max = 100_000
	}
	return &Store{ttl: ttl, grace: time.Minute, max: max, m: map[string]*entry{}}
}

// Len is the number of tickets held, finished ones included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// TTL is a ticket's lifetime.
func (s *Store) TTL() time.Duration { return s.ttl }

// Create stores a new waiting ticket for t's request fields.
func (s *Store) Create(t Ticket) (Ticket, error) {
	b := make([]byte, 18)
	rand.Read(b)
	t.UUID = base64.RawURLEncoding.EncodeToString(b)
	t.Created = time.Now()
	t.Expires = t.Created.Add(s.ttl)
	t.Status = Waiting
	s.mu.Lock()
	if len(s.m) >= s.max {
		s.mu.Unlock()
		return t, ErrFull
	}
	s.m[t.UUID] = &entry{t: t, changed: make(chan struct{})}
	s.mu.Unlock()
	time.AfterFunc(s.ttl, func() { s.expire(t.UUID) })
	return t, nil
}

func (s *Store) expire(id string) {
	s.update(id, func(t *Ticket) error {
		if t.Status == Waiting || t.Status == Scanned {
			t.Status = Expired
		}
		return nil
	})
	time.AfterFunc(s.grace, func() {
		s.mu.Lock()
		delete(s.m, id)
		s.mu.Unlock()
	})
}

// Get returns the ticket id.
func (s *Store) Get(id string) (Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok {
		return Ticket{}, false
	}
	return e.t, true
}

// Wait returns ticket id as soon as its status differs from last, or its
// current state when ctx ends first. An unknown ticket reads as expired.
func (s *Store) Wait(ctx context.Context, id string, last Status) Ticket {
	for {
		s.mu.Lock()
		e, ok := s.m[id]
		if !ok {
			s.mu.Unlock()
			return Ticket{UUID: id, Status: Expired}
		}
		t, ch := e.t, e.changed
		s.mu.Unlock()
		if t.Status != last {
			return t
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return t
		}
	}
}

// update applies fn to ticket id and wakes its waiters if fn succeeds.
func (s *Store) update(id string, fn func(t *Ticket) error) (Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok {
		return Ticket{}, ErrUnknown
	}
	before := e.t
	if err := fn(&e.t); err != nil {
		e.t = before
		return before, err
	}
	if e.t != before {
		close(e.changed)
		e.changed = make(chan struct{})
	}
	return e.t, nil
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

// Scan records that userID opened the ticket's URL; the page then shows who.
func (s *Store) Scan(id, userID, nickname, avatar string) (Ticket, error) {
	return s.update(id, func(t *Ticket) error {
		if err := usable(t, userID); err != nil {
			return err
		}
		t.Status, t.UserID, t.Nickname, t.HeadImgURL = Scanned, userID, nickname, avatar
		return nil
	})
}

// Confirm completes the ticket scanned by userID with a minted code.
func (s *Store) Confirm(id, userID, code, redirectURL string) (Ticket, error) {
	return s.update(id, func(t *Ticket) error {
		if err := usable(t, userID); err != nil {
			return err
		}
		if t.Status != Scanned {
			return errNotScanned
		}
		t.Status, t.Code, t.RedirectURL = Confirmed, code, redirectURL
		return nil
	})
}

// Cancel ends the ticket at the scanning user's request.
func (s *Store) Cancel(id, userID string) (Ticket, error) {
	return s.update(id, func(t *Ticket) error {
		if err := usable(t, userID); err != nil {
			return err
		}
		t.Status = Cancelled
		return nil
	})
}
