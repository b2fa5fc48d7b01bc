package storage

import (
	"context"
	"time"
)

// TicketStatus is a QR ticket's state, numbered as the seeds' wx_errcode
// values.
type TicketStatus int

// QR ticket states.
const (
	TicketWaiting   TicketStatus = 408
	TicketScanned   TicketStatus = 404
	TicketConfirmed TicketStatus = 405
	TicketCancelled TicketStatus = 403
	TicketExpired   TicketStatus = 402
)

// Ticket is one QR login of the hosted page.
type Ticket struct {
	UUID        string
	AppID       string
	RedirectURI string
	Scope       string
	State       string
	Status      TicketStatus
	UserID      string // who scanned
	Nickname    string
	HeadImgURL  string
	SealedCode  []byte // the minted code, sealed by the server; set once confirmed
	// Computer says which computer shows the QR code (its browser and
	// address), for the phone to show whose sign-in it approves.
	Computer  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PurgeBefore says what Purge deletes. A zero time deletes nothing of
// its kind.
type PurgeBefore struct {
	// Expired: QR tickets, attempt windows, web sessions, device
	// authorizations and tokens that expired before it.
	Expired time.Time
	// Codes: codes that expired before it, and families begun before it,
	// once no token of theirs is left: a code presented again must still
	// be found to revoke its family, and a family is what revocation goes
	// by. It lags Expired by the longest life of a token a code issues.
	Codes time.Time
	// Events: audit events recorded before it.
	Events time.Time
	// Webhooks: webhook messages stored before it and still not
	// delivered (their alerts stay in the log).
	Webhooks time.Time
}

// Tickets keeps the hosted page's QR tickets, shared by every replica.
type Tickets interface {
	// CreateTicket stores t; a uuid stored before is ErrAlreadyExists.
	CreateTicket(ctx context.Context, t Ticket) error
	GetTicket(ctx context.Context, uuid string) (Ticket, error)
	// UpdateTicket atomically applies fn to ticket uuid and stores the
	// result; when fn fails nothing is stored and its error is returned.
	// No other change to the ticket interleaves. Once it is stored, every
	// WatchTickets of every replica hears of the change.
	UpdateTicket(ctx context.Context, uuid string, fn func(t *Ticket) error) (Ticket, error)
	// WatchTickets calls changed with the uuid of every ticket changed
	// through this database until ctx ends, then returns ctx's error.
	// changed("") means changes may have been missed (a lost connection
	// was re-established): every waiter must read its ticket again.
	// changed is called from one goroutine and must not block.
	WatchTickets(ctx context.Context, changed func(uuid string)) error
	// CountTickets counts the tickets that expire after now.
	CountTickets(ctx context.Context, now time.Time) (int, error)
}

// Attempts counts tries per key (a client address, a username) in fixed
// windows that begin with a key's first try, so a budget does not refill
// while someone keeps trying. Every replica counts into the same windows.
type Attempts interface {
	// CountAttempts returns the tries of key in its current window.
	CountAttempts(ctx context.Context, key string, window time.Duration, now time.Time) (int, error)
	// AddAttempt counts one try of key unless max were counted in the
	// current window already, and reports whether it counted. Check and
	// count are one atomic step across all callers.
	AddAttempt(ctx context.Context, key string, max int, window time.Duration, now time.Time) (bool, error)
	// ReleaseAttempt gives back one try of key in its current window (a
	// reserved try that turned out a success); never below zero.
	ReleaseAttempt(ctx context.Context, key string, now time.Time) error
	// ResetAttempts forgets key's tries.
	ResetAttempts(ctx context.Context, key string) error
}

// PurgeTarget is one DELETE of Purge: rows of Table whose Column (Unix
// milliseconds) is before Before and, when set, for which Unless finds no
// row (an SQL subquery both stores accept).
type PurgeTarget struct {
	Table, Column string
	Before        time.Time
	Unless        string
}

// AccountKey is the Attempts key of a username's wrong passwords: the
// per-account ceiling on password guessing, which every replica counts
// and an operator can reset.
func AccountKey(username string) string { return "login-account:" + username }
