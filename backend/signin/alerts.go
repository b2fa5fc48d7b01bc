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

// alertHistory is how many of her earlier sign-ins an alert looks back on.
const alertHistory = 500

// watch raises the alert sign-in e calls for, if any: on her account
// page and in the log (an "alert" event), and to the webhook
// (Config.Alerted). Her first sign-in ever raises none: there is nothing
// to compare it with. "Too far apart for the time between" is, with a
// country database and no coordinates, two countries within
// Config.TravelWindow.
func (s *Service) watch(ctx context.Context, e storage.Event) {
	if e.UserID == "" || (e.DeviceID == "" && e.Country == "") {
		return
	}
	past, err := s.store.QueryEvents(ctx, storage.EventQuery{UserID: e.UserID, Kinds: []string{"signin"}, Result: storage.ResultOK,
		Until: e.CreatedAt, Limit: alertHistory})
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "alerts: read her sign-ins", "err", err)
		return
	}
	if len(past) == 0 {
		return
	}
	var reason, detail string
	seenDesktop, seenCountry := false, false
	for _, p := range past {
		seenDesktop = seenDesktop || (e.DeviceID != "" && p.DeviceID == e.DeviceID)
		seenCountry = seenCountry || (e.Country != "" && p.Country == e.Country)
	}
	// Her latest sign-in whose country is known, if from another country.
	var lastAbroad *storage.Event
	if i := firstWithCountry(past); i >= 0 && e.Country != "" && past[i].Country != e.Country {
		lastAbroad = &past[i]
	}
	switch {
	case lastAbroad != nil && e.CreatedAt.Sub(lastAbroad.CreatedAt) < s.cfg.TravelWindow:
		reason = AlertImpossibleTravel
		detail = "Signed in from " + e.Country + " " + e.CreatedAt.Sub(lastAbroad.CreatedAt).Round(time.Minute).String() +
			" after a sign-in from " + lastAbroad.Country + ": too far apart for the time between"
	case e.Country != "" && !seenCountry:
		reason, detail = AlertNewCountry, "Signed in from "+e.Country+", a country new for this account"
	case e.DeviceID != "" && !seenDesktop:
		reason, detail = AlertNewDesktop, "Signed in from a desktop new for this account"
	default:
		return
	}
	a := storage.Event{UserID: e.UserID, Kind: "alert", AppID: e.AppID, DeviceID: e.DeviceID, Addr: e.Addr, Country: e.Country,
		Reason: reason, Detail: detail + " (from " + e.Addr + ")", CreatedAt: e.CreatedAt}
	s.Event(ctx, a)
	s.cfg.Alerted(ctx, a)
}

// firstWithCountry is the index of the newest sign-in whose country is known.
func firstWithCountry(past []storage.Event) int {
	for i, p := range past {
		if p.Country != "" {
			return i
		}
	}
	return -1
}

// AlertJSON is an alert as the webhook delivers it.
func AlertJSON(a storage.Event) []byte {
	b, _ := json.Marshal(map[string]any{"type": "scanfree.alert", "reason": a.Reason, "user_id": a.UserID, "appid": a.AppID,
		"device_id": a.DeviceID, "addr": a.Addr, "country": a.Country, "detail": a.Detail, "at": a.CreatedAt.UTC().Format(time.RFC3339Nano)})
	return b
}
