package storage

import (
	"encoding/json"
	"fmt"
)

// Rows names the rows of one table that a delete takes: those whose
// Column equals the deleted record's id.
type Rows struct{ Table, Column string }

// UserRows and AppRows list what DeleteUser and DeleteApp delete, for
// every store to run the same deletes, in this order: families before
// tokens (a rotation in flight holds its family's lock, so the tokens it
// adds are committed before its family's delete goes on), and the record
// itself last (nothing is left referring to it).
var (
	UserRows = []Rows{{"families", "user_id"}, {"tokens", "user_id"}, {"codes", "user_id"}, {"sessions", "user_id"}, {"grants", "user_id"},
		{"app_consents", "user_id"}, {"device_auths", "user_id"}, {"qr_tickets", "user_id"}, {"devices", "user_id"}, {"password_resets", "user_id"},
		{"identities", "user_id"}, {"totp", "user_id"}, {"recovery_codes", "user_id"}, {"passkeys", "user_id"}, {"users", "id"}}
	AppRows = []Rows{{"families", "appid"}, {"tokens", "appid"}, {"codes", "appid"}, {"grants", "appid"}, {"app_consents", "appid"},
		{"qr_tickets", "appid"}, {"auth_requests", "client_id"}, {"apps", "appid"}}
)

// Targets lists the deletes of p, in an order that keeps references
// intact, for every store to run the same ones.
func (p PurgeBefore) Targets() []PurgeTarget {
	return []PurgeTarget{
		{"qr_tickets", "expires_at", p.Expired, ""},
		{"attempts", "expires_at", p.Expired, ""},
		{"sessions", "expires_at", p.Expired, ""},
		{"password_resets", "expires_at", p.Expired, ""},
		{"device_auths", "expires_at", p.Expired, ""},
		{"tokens", "expires_at", p.Expired, ""},
		{"auth_requests", "expires_at", p.Expired, ""},
		{"spent_challenges", "expires_at", p.Expired, ""},
		{"codes", "expires_at", p.Codes, "SELECT 1 FROM tokens WHERE tokens.code_hash = codes.hash"},
		{"families", "created_at", p.Codes, "SELECT 1 FROM tokens WHERE tokens.code_hash = families.id"},
		{"events", "created_at", p.Events, ""},
		{"webhook_outbox", "created_at", p.Webhooks, ""},
	}
}

// Scanner is a row of either store's driver.
type Scanner interface{ Scan(dest ...any) error }

// Plan is how one table's columns are scanned: their destinations, and
// what turns those into the record once the row is read. A joined read
// scans the plans of several tables from one row.
type Plan struct {
	Dests  []any
	Finish func() error
}

// ScanPlans scans row into the plans' destinations, then finishes each.
func ScanPlans(row Scanner, plans ...Plan) error {
	n := 0
	for _, p := range plans {
		n += len(p.Dests)
	}
	dests := make([]any, 0, n)
	for _, p := range plans {
		dests = append(dests, p.Dests...)
	}
	if err := row.Scan(dests...); err != nil {
		return err
	}
	for _, p := range plans {
		if err := p.Finish(); err != nil {
			return err
		}
	}
	return nil
}

// AppLists decodes an app's JSON columns (redirect URIs, domains and
// fence) into a, as both stores keep them.
func AppLists(a *App, uris, domains, fence string) error {
	if err := json.Unmarshal([]byte(fence), &a.Fence); err != nil {
		return fmt.Errorf("app %s: fence: %w", a.AppID, err)
	}
	if err := json.Unmarshal([]byte(uris), &a.RedirectURIs); err != nil {
		return fmt.Errorf("app %s: redirect_uris: %w", a.AppID, err)
	}
	if err := json.Unmarshal([]byte(domains), &a.Domains); err != nil {
		return fmt.Errorf("app %s: domains: %w", a.AppID, err)
	}
	return nil
}

// UserPlan scans a user's columns, in the stores' order (id, username,
// nickname, avatar_url, password_hash, created_at, phone_sealed, role,
// disabled_at), into u.
func UserPlan(u *User) Plan {
	var created, disabled int64
	return Plan{Dests: []any{&u.ID, &u.Username, &u.Nickname, &u.AvatarURL, &u.PasswordHash, &created, &u.PhoneSealed, &u.Role, &disabled},
		Finish: func() error {
			u.CreatedAt, u.DisabledAt = FromMillis(created), FromMillis(disabled)
			return nil
		}}
}

// TokenPlan scans a token's columns, in the stores' order (hash, kind,
// appid, user_id, code_hash, scope, created_at, expires_at, revoked_at,
// face, rotated_at), into t.
func TokenPlan(t *Token) Plan {
	var kind, face string
	var created, expires, revoked, rotated int64
	return Plan{Dests: []any{&t.Hash, &kind, &t.AppID, &t.UserID, &t.CodeHash, &t.Scope, &created, &expires, &revoked, &face, &rotated},
		Finish: func() error {
			t.Kind, t.Face = TokenKind(kind), Face(face)
			t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.RotatedAt = FromMillis(created), FromMillis(expires), FromMillis(revoked), FromMillis(rotated)
			return nil
		}}
}
