package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// watchEvery is how often a held watch reads its desktop: the database is
// what every replica shares, so a revocation on any replica is seen
// within this (one indexed read per online desktop per interval).
const watchEvery = 500 * time.Millisecond

// maxWatchesPerDevice caps the watches one replica holds for a desktop:
// its daemon keeps one open, and each costs a goroutine, a connection and
// a read every watchEvery, so a leaked credential cannot pile them up.
// They are not counted per address: a whole office may sit behind one.
const maxWatchesPerDevice = 4

// handleDeviceWatch holds a desktop's long poll (deviceapi.PathWatch) for
// up to deviceapi.WatchHold and answers 401 the moment the desktop is
// signed out, by the person, an operator's offboarding or a sign-out
// everywhere, with who did it in errmsg; else ok when the hold ends.
// The daemon asks again at once, so its check-login answers "signed out"
// within about a second, not at its next profile refresh.
func (s *Server) handleDeviceWatch(w http.ResponseWriter, r *http.Request, d storage.Device) {
	if !s.watches.take(d.ID) {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusTooManyRequests, apiErr(http.StatusTooManyRequests,
			"this desktop is already watched; stop the other scanfreed using its credential"))
		return
	}
	defer s.watches.done(d.ID)
	ctx, cancel := context.WithTimeout(r.Context(), deviceapi.WatchHold)
	defer cancel()
	// Alerts raised since the previous answer (or since now) come back at
	// once, for the desktop to show.
	since := s.now()
	if ms, err := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64); err == nil && ms > 0 && s.now().Sub(storage.FromMillis(ms)) < time.Hour {
		since = storage.FromMillis(ms)
	}
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for tick := 0; ; tick++ {
		select {
		case <-ctx.Done():
			writeJSON(w, http.StatusOK, deviceapi.WatchAnswer{ErrMsg: "ok", Next: storage.Millis(since)})
			return
		case <-t.C:
		}
		cur, err := s.store.GetDevice(ctx, d.ID)
		if errors.Is(err, storage.ErrNotFound) {
			cur, err = d, nil // deleted with its account
		} else if err != nil || cur.Active() {
			if err == nil && tick%alertEvery == alertEvery-1 {
				if alerts, next := s.alertsSince(ctx, d.UserID, since); len(alerts) > 0 {
					writeJSON(w, http.StatusOK, deviceapi.WatchAnswer{ErrMsg: "ok", Alerts: alerts, Next: next})
					return
				}
			}
			continue // a failing read is not a sign-out; the next one may answer
		}
		s.deviceUnauthorized(w, s.signOutReason(ctx, cur))
		return
	}
}

// alertEvery is how many watch ticks pass between reads of the alerts
// (2 s): an alert may wait that long, a sign-out not.
const alertEvery = 4

// alertsSince returns the details of userID's alerts at or after since,
// oldest first, and the time to read on from.
func (s *Server) alertsSince(ctx context.Context, userID string, since time.Time) ([]string, int64) {
	events, err := s.store.QueryEvents(ctx, storage.EventQuery{UserID: userID, Kinds: []string{"alert"}, Since: since, Limit: 20})
	if err != nil || len(events) == 0 {
		return nil, storage.Millis(since)
	}
	var out []string
	for i := len(events) - 1; i >= 0; i-- {
		out = append(out, events[i].Detail)
	}
	return out, storage.Millis(events[0].CreatedAt) + 1
}

// signOutReason says who signed desktop d out, from the audit log.
func (s *Server) signOutReason(ctx context.Context, d storage.Device) string {
	const generic = "this desktop was signed out; sign in again with `scanfreed login`"
	events, err := s.store.ListEvents(ctx, d.UserID, "", 20)
	if err != nil {
		return generic
	}
	for _, e := range events {
		if (e.Kind == "device_revoked" && e.DeviceID == d.ID) || slices.Contains([]string{"user_disabled", "signed_out_everywhere", "password_reset", "user_deleted"}, e.Kind) {
			return "this desktop was signed out: " + e.Detail
		}
	}
	return generic
}

// watchCounts counts the watches held per desktop.
type watchCounts struct {
	mu       sync.Mutex
	byDevice map[string]int
}

// take admits one more watch of device and reports whether it did; an
// admitted watch is given back with done.
func (c *watchCounts) take(device string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byDevice == nil {
		c.byDevice = map[string]int{}
	}
	if c.byDevice[device] >= maxWatchesPerDevice {
		return false
	}
	c.byDevice[device]++
	return true
}

func (c *watchCounts) done(device string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byDevice[device]--; c.byDevice[device] <= 0 {
		delete(c.byDevice, device)
	}
}
