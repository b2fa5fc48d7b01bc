package admin

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// Session is one way a person is signed in, as operators list and end
// them: a web session of the hosted pages, a sign-in to an app (its token
// family) or an enrolled desktop.
type Session struct {
	// ID is what EndSession takes: "web:", "app:" or "desktop:" and an id.
	ID      string    `json:"id"`
	Kind    string    `json:"kind"` // web, app, desktop
	What    string    `json:"what"` // the app's or the desktop's name
	Device  string    `json:"device,omitempty"`
	Started time.Time `json:"started"`
	// Ended is when it was revoked; zero while it stands.
	Ended time.Time `json:"ended,omitzero"`
}

// shortID names a hashed session or family by its first 8 bytes: enough
// to tell a person's apart, and nothing a token could be rebuilt from.
func shortID(hash []byte) string { return hex.EncodeToString(hash[:min(8, len(hash))]) }

// Sessions lists username's web sessions (unexpired), sign-ins to apps and
// desktops, newest first within each kind.
func Sessions(ctx context.Context, st storage.Storage, username string, now time.Time) ([]Session, error) {
	u, err := person(ctx, st, "list sessions", username)
	if err != nil {
		return nil, err
	}
	var out []Session
	web, err := st.ListSessions(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	for _, se := range web {
		if now.Before(se.ExpiresAt) {
			out = append(out, Session{ID: "web:" + shortID(se.Hash), Kind: "web", What: "browser", Started: se.CreatedAt})
		}
	}
	devices, err := st.ListDevices(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	names := map[string]string{}
	for _, d := range devices {
		names[d.ID] = d.Name
	}
	fams, err := st.ListFamilies(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	apps := map[string]string{}
	for _, f := range fams {
		if _, ok := apps[f.AppID]; !ok {
			apps[f.AppID] = f.AppID
			if a, err := st.GetApp(ctx, f.AppID); err == nil {
				apps[f.AppID] = a.Name
			}
		}
		out = append(out, Session{ID: "app:" + shortID(f.ID), Kind: "app", What: apps[f.AppID], Device: names[f.DeviceID], Started: f.CreatedAt, Ended: f.RevokedAt})
	}
	slices.SortStableFunc(devices, func(a, b storage.Device) int { return b.CreatedAt.Compare(a.CreatedAt) })
	for _, d := range devices {
		out = append(out, Session{ID: "desktop:" + d.ID, Kind: "desktop", What: d.Name + " (" + d.OS + ")", Started: d.CreatedAt, Ended: d.RevokedAt})
	}
	return out, nil
}

// EndSession ends one of username's sessions by the ID Sessions gave it,
// or every one with "all" (SignOutEverywhere). operator names who did it
// in the audit log.
func EndSession(ctx context.Context, st storage.Storage, username, id, operator string, now time.Time) error {
	if id == "all" {
		return SignOutEverywhere(ctx, st, username, operator, now)
	}
	u, err := person(ctx, st, "end session", username)
	if err != nil {
		return err
	}
	kind, key, _ := strings.Cut(id, ":")
	notFound := fmt.Errorf("end session: %s has no session %q (see `scanfree-server session list %s`)", username, id, username)
	switch kind {
	case "web":
		web, err := st.ListSessions(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		i := slices.IndexFunc(web, func(se storage.Session) bool { return shortID(se.Hash) == key })
		if i < 0 {
			return notFound
		}
		if err := st.DeleteSession(ctx, web[i].Hash); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "session_ended", Detail: "a web session ended by " + operator, CreatedAt: now})
	case "app":
		fams, err := st.ListFamilies(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		i := slices.IndexFunc(fams, func(f storage.Family) bool { return shortID(f.ID) == key })
		if i < 0 {
			return notFound
		}
		if err := st.RevokeFamily(ctx, fams[i].ID, now); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "signin_revoked", AppID: fams[i].AppID,
			Detail: "a sign-in to " + cmp.Or(appName(ctx, st, fams[i].AppID), fams[i].AppID) + " revoked by " + operator, CreatedAt: now})
	case "desktop":
		d, err := st.GetDevice(ctx, key)
		if err != nil || d.UserID != u.ID {
			return notFound
		}
		if err := st.RevokeDevice(ctx, d.ID, now); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "device_revoked", DeviceID: d.ID, Detail: d.Name + " revoked by " + operator, CreatedAt: now})
	}
	return fmt.Errorf("end session: %q: want an id that `scanfree-server session list %s` prints (web:…, app:…, desktop:…) or all", id, username)
}

// appName is appID's name, or "" when there is no such app.
func appName(ctx context.Context, st storage.Storage, appID string) string {
	a, _ := st.GetApp(ctx, appID)
	return a.Name
}
