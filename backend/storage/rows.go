package storage

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
