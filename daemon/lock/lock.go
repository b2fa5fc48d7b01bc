// Package lock tells whether the user's screen is locked, so the daemon can
// send pages to the QR code instead of offering a sign-in nobody is there to
// see. Each OS watches its own signals (one file per OS): logind and the
// screensavers over DBus on Linux, Terminal Services session
// notifications on Windows; macOS, whose lock notifications need an
// Objective-C run loop, has its login session's state read every two
// seconds.
package lock

import (
	"context"
	"sync"
)

// State is the screen's lock state.
type State string

// States.
const (
	Unlocked State = "unlocked"
	Locked   State = "locked"
	Unknown  State = "unknown" // no lock signal source could be watched
)

// Watcher follows the lock state.
type Watcher struct {
	mu       sync.Mutex
	sources  map[string]bool // source → locked
	detail   string          // why the state is unknown, when it is
	onChange func(State)
}

// New returns a Watcher; onChange (may be nil) is called on every change.
// It does no I/O.
func New(onChange func(State)) *Watcher {
	return &Watcher{sources: map[string]bool{}, onChange: onChange, detail: "not started"}
}

// State returns the current state and, when it is unknown, why.
func (w *Watcher) State() (State, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stateLocked(), w.detail
}

func (w *Watcher) stateLocked() State {
	if len(w.sources) == 0 {
		return Unknown
	}
	for _, locked := range w.sources {
		if locked {
			return Locked
		}
	}
	return Unlocked
}

// Locked reports whether the screen is known to be locked.
func (w *Watcher) Locked() bool {
	s, _ := w.State()
	return s == Locked
}

// report records what source says.
func (w *Watcher) report(source string, locked bool) {
	w.mu.Lock()
	before := w.stateLocked()
	w.sources[source] = locked
	after := w.stateLocked()
	w.detail = ""
	cb := w.onChange
	w.mu.Unlock()
	if after != before && cb != nil {
		cb(after)
	}
}

// Run watches until ctx is done. When no source can be watched the state
// stays Unknown, with the reason in State's second result.
func (w *Watcher) Run(ctx context.Context) {
	err := watch(ctx, w.report)
	w.mu.Lock()
	switch {
	case err != nil:
		w.detail = err.Error()
	case len(w.sources) == 0:
		w.detail = "no screensaver or login session has reported a lock state yet"
	}
	w.mu.Unlock()
	if err == nil {
		<-ctx.Done()
	}
}
