package server

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// watchEvery is how often a held watch reads its desktop: the database is
// what every replica shares, so a revocation on any replica is seen
// within this (one indexed read per online desktop per interval).
const watchEvery = 500 * time.Millisecond

// handleDeviceWatch holds a desktop's long poll (deviceapi.PathWatch) for
// up to deviceapi.WatchHold and answers 401 the moment the desktop is
// signed out, by the person, an operator's offboarding or a sign-out
// everywhere, with who did it in errmsg; else ok when the hold ends.
// The daemon asks again at once, so its check-login answers "signed out"
// within about a second, not at its next profile refresh.
func (s *Server) handleDeviceWatch(w http.ResponseWriter, r *http.Request, d storage.Device) {
	ctx, cancel := context.WithTimeout(r.Context(), deviceapi.WatchHold)
	defer cancel()
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			writeJSON(w, http.StatusOK, apiErr(0, "ok"))
			return
		case <-t.C:
		}
		cur, err := s.store.GetDevice(ctx, d.ID)
		if err != nil || cur.Active() {
			continue // a failing read is not a sign-out; the next one may answer
		}
		s.deviceUnauthorized(w, s.signOutReason(ctx, cur))
		return
	}
}

// signOutReason says who signed desktop d out, from the audit log.
func (s *Server) signOutReason(ctx context.Context, d storage.Device) string {
	const generic = "this desktop was signed out; sign in again with `scanfreed login`"
	events, err := s.store.ListEvents(ctx, d.UserID, "", 20)
	if err != nil {
		return generic
	}
	for _, e := range events {
		if (e.Kind == "device_revoked" && e.DeviceID == d.ID) || slices.Contains([]string{"user_disabled", "signed_out_everywhere"}, e.Kind) {
			return "this desktop was signed out: " + e.Detail
		}
	}
	return generic
}
