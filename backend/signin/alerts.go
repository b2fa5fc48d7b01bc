package signin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// Alert reasons (storage.Event.Reason of an "alert" event).
const (
	AlertNewDesktop       = "new_desktop"       // a sign-in from a desktop she never signed in from
	AlertNewCountry       = "new_country"       // from a country she never signed in from
	AlertImpossibleTravel = "impossible_travel" // from another country than her sign-in shortly before
)

// watch raises the alert sign-in e calls for, if any: on her account
// page and in the log (an "alert" event), and to the webhook
// (Config.Webhook), stored together. Her first sign-in ever raises none: there is nothing
// to compare it with. "Too far apart for the time between" is, with a
// country database and no coordinates, two countries within
// Config.TravelWindow. It runs on every sign-in, so it asks the log only
// for single events (has she signed in from here before?), each found
// by the (person, time) index.
func (s *Service) watch(ctx context.Context, e storage.Event) {
	if e.UserID == "" || (e.DeviceID == "" && e.Country == "") {
		return
	}
	// newest returns her newest earlier sign-in matching narrow, if any.
	failed := false
	newest := func(narrow func(q *storage.EventQuery)) (storage.Event, bool) {
		q := storage.EventQuery{UserID: e.UserID, Kinds: []string{"signin"}, Result: storage.ResultOK, Until: e.CreatedAt, Limit: 1}
		narrow(&q)
		past, err := s.store.QueryEvents(ctx, q)
		if err != nil {
			failed = true
			s.cfg.Logger.WarnContext(ctx, "alerts: read her sign-ins", "err", err)
		}
		if len(past) == 0 {
			return storage.Event{}, false
		}
		return past[0], true
	}
	seenDesktop, seenCountry, before := false, false, false
	var lastKnown storage.Event
	if e.DeviceID != "" {
		_, seenDesktop = newest(func(q *storage.EventQuery) { q.DeviceID = e.DeviceID })
	}
	if e.Country != "" {
		_, seenCountry = newest(func(q *storage.EventQuery) { q.Country = e.Country })
		lastKnown, _ = newest(func(q *storage.EventQuery) { q.CountryKnown = true })
	}
	if before = seenDesktop || seenCountry || lastKnown.Country != ""; !before {
		_, before = newest(func(*storage.EventQuery) {})
	}
	if failed || !before {
		return
	}
	var reason, detail string
	switch gap := e.CreatedAt.Sub(lastKnown.CreatedAt); {
	case lastKnown.Country != "" && lastKnown.Country != e.Country && gap < s.cfg.TravelWindow:
		reason = AlertImpossibleTravel
		detail = "Signed in from " + e.Country + " " + gap.Round(time.Minute).String() +
			" after a sign-in from " + lastKnown.Country + ": too far apart for the time between"
	case e.Country != "" && !seenCountry:
		reason, detail = AlertNewCountry, "Signed in from "+e.Country+", a country new for this account"
	case e.DeviceID != "" && !seenDesktop:
		reason, detail = AlertNewDesktop, "Signed in from a desktop new for this account"
	default:
		return
	}
	a := storage.Event{UserID: e.UserID, Kind: "alert", AppID: e.AppID, DeviceID: e.DeviceID, Addr: e.Addr, Country: e.Country,
		Reason: reason, Detail: detail + " (from " + e.Addr + ")", CreatedAt: e.CreatedAt}
	var body []byte
	if s.cfg.Webhook {
		body = AlertJSON(a)
	}
	s.Logged(ctx, a)
	if err := s.store.AddAlert(ctx, a, body); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "audit log: alert", "reason", a.Reason, "err", err)
	}
}

// AlertJSON is an alert as the webhook delivers it.
func AlertJSON(a storage.Event) []byte {
	b, _ := json.Marshal(map[string]any{"type": "scanfree.alert", "reason": a.Reason, "user_id": a.UserID, "appid": a.AppID,
		"device_id": a.DeviceID, "addr": a.Addr, "country": a.Country, "detail": a.Detail, "at": a.CreatedAt.UTC().Format(time.RFC3339Nano)})
	return b
}
