// Package broker turns each sign-in request into one pending confirmation,
// offers it at once to every frontend (the native dialog, the control API,
// the tray) and returns the first answer. There is never more than one
// pending confirmation: a page cannot queue dialogs, and a deny starts a
// per-origin cooldown so a page cannot pester the user either.
package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// Errors of Ask.
var (
	// ErrBusy reports that another confirmation is pending.
	ErrBusy = errors.New("another confirmation is pending")
	// ErrCooldown reports that the origin's last request was denied, timed
	// out or withdrawn moments ago.
	ErrCooldown = errors.New("origin is cooling down after a request that did not allow")
)

// CooldownError is Ask's ErrCooldown with how long the cooldown lasts yet.
type CooldownError struct{ Left time.Duration }

func (e *CooldownError) Error() string        { return ErrCooldown.Error() }
func (e *CooldownError) Is(target error) bool { return target == ErrCooldown }

// Decision is how a confirmation ended.
type Decision string

// Decisions.
const (
	Allow     Decision = "allow"
	Deny      Decision = "deny"
	Timeout   Decision = "timeout"
	Withdrawn Decision = "withdrawn" // the page went away before an answer
)

// Request is what the user is asked to confirm.
type Request struct {
	ID           string `json:"id"`
	AppID        string `json:"appid"`
	AppName      string `json:"app_name"`
	AppIcon      string `json:"app_icon,omitempty"`
	Origin       string `json:"origin"`        // the page that asked
	RedirectHost string `json:"redirect_host"` // where the code will go
	Scope        string `json:"scope"`
	Account      string `json:"account"` // nickname of the signed-in user
	// Kind is "" for a web sign-in, KindApp for a desktop app's first
	// sign-in, KindPhone for its first use of the phone number.
	Kind string `json:"kind,omitempty"`
	// CooldownKey is what a refusal cools down: the Origin when empty.
	CooldownKey string    `json:"-"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
}

// Kinds of request beside the web sign-in.
const (
	KindApp   = "app"
	KindPhone = "phone"
)

// Frontend is an active way of asking, such as a native dialog. Confirm
// shows r and returns the user's answer; when ctx ends (another frontend
// answered, the request timed out or was withdrawn) it must take its
// question down and return promptly.
type Frontend interface {
	Name() string
	Confirm(ctx context.Context, r Request) (allow bool, err error)
}

// Event tells subscribers about the pending confirmation.
type Event struct {
	Type     string   `json:"type"` // "pending" or "resolved"
	Request  Request  `json:"request"`
	Decision Decision `json:"decision,omitempty"`
	By       string   `json:"by,omitempty"` // which frontend answered
}

// Config tunes a Broker.
type Config struct {
	Timeout  time.Duration // how long a confirmation waits (60 s)
	Cooldown time.Duration // refusal period per origin after a deny, timeout or withdrawal (30 s)
	Now      func() time.Time
	OnError  func(frontend string, err error) // a frontend failed; others still ask
}

// Broker holds the single pending confirmation.
type Broker struct {
	cfg       Config
	frontends []Frontend

	mu       sync.Mutex
	pending  *pending
	cooldown map[string]time.Time
	subs     map[chan Event]struct{}
}

type pending struct {
	req    Request
	answer chan answer // buffered 1: the first answer wins
}

type answer struct {
	allow bool
	by    string
}

// New returns a Broker asking frontends.
func New(cfg Config, frontends ...Frontend) *Broker {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Broker{cfg: cfg, frontends: frontends, cooldown: map[string]time.Time{}, subs: map[chan Event]struct{}{}}
}

// Limits are how long a confirmation waits for its answer, and how long
// an origin waits after one that did not allow.
func (b *Broker) Limits() (timeout, cooldown time.Duration) { return b.cfg.Timeout, b.cfg.Cooldown }

// Ask offers r to every frontend and waits for the first answer, the
// timeout, or the end of ctx. It fails at once with ErrBusy while another
// confirmation is pending and with ErrCooldown during an origin's cooldown.
func (b *Broker) Ask(ctx context.Context, r Request) (Decision, error) {
	now := b.cfg.Now()
	b.mu.Lock()
	if b.pending != nil {
		b.mu.Unlock()
		return "", ErrBusy
	}
	if r.CooldownKey == "" {
		r.CooldownKey = r.Origin
	}
	if until, ok := b.cooldown[r.CooldownKey]; ok && now.Before(until) {
		b.mu.Unlock()
		return "", &CooldownError{Left: until.Sub(now)}
	}
	r.ID = newID()
	r.Created, r.Expires = now, now.Add(b.cfg.Timeout)
	p := &pending{req: r, answer: make(chan answer, 1)}
	b.pending = p
	b.publishLocked(Event{Type: "pending", Request: r})
	b.mu.Unlock()

	askCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, f := range b.frontends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			allow, err := f.Confirm(askCtx, r)
			if askCtx.Err() != nil {
				return // withdrawn: its answer no longer counts
			}
			if err != nil {
				if b.cfg.OnError != nil {
					b.cfg.OnError(f.Name(), err)
				}
				return
			}
			b.offer(p, answer{allow: allow, by: f.Name()})
		}()
	}

	timer := time.NewTimer(b.cfg.Timeout)
	defer timer.Stop()
	var d Decision
	var by string
	select {
	case a := <-p.answer:
		d, by = Deny, a.by
		if a.allow {
			d = Allow
		}
	case <-timer.C:
		d = Timeout
	case <-ctx.Done():
		d = Withdrawn
	}
	cancel()
	wg.Wait() // every dialog is down before the next request may open one

	b.mu.Lock()
	b.pending = nil
	if d != Allow {
		// Not only after a deny: a page that withdraws its request (or lets
		// it time out) could otherwise raise dialog after dialog.
		b.cooldown[r.CooldownKey] = b.cfg.Now().Add(b.cfg.Cooldown)
	}
	for o, until := range b.cooldown {
		if !b.cfg.Now().Before(until) {
			delete(b.cooldown, o)
		}
	}
	b.publishLocked(Event{Type: "resolved", Request: r, Decision: d, By: by})
	b.mu.Unlock()
	return d, nil
}

// offer delivers an answer unless one was delivered already.
func (b *Broker) offer(p *pending, a answer) bool {
	select {
	case p.answer <- a:
		return true
	default:
		return false
	}
}

// ErrNoSuchRequest reports an answer for a request that is not pending.
var ErrNoSuchRequest = errors.New("no such pending request")

// Answer answers the pending request id on behalf of frontend by (the
// control API and the tray). It fails when id is not pending or was
// answered already.
func (b *Broker) Answer(id string, allow bool, by string) error {
	b.mu.Lock()
	p := b.pending
	b.mu.Unlock()
	if p == nil || p.req.ID != id {
		return ErrNoSuchRequest
	}
	if !b.offer(p, answer{allow: allow, by: by}) {
		return ErrNoSuchRequest
	}
	return nil
}

// Pending returns the pending requests (none or one).
func (b *Broker) Pending() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		return []Request{}
	}
	return []Request{b.pending.req}
}

// Subscribe returns a channel of events and a function to stop. Slow
// subscribers miss events rather than stall the broker.
func (b *Broker) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 16)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
		b.mu.Unlock()
	}
}

func (b *Broker) publishLocked(e Event) {
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func newID() string {
	buf := make([]byte, 8)
	rand.Read(buf)
	return hex.EncodeToString(buf)
}
