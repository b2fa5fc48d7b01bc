package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

const userCols = `id, username, nickname, avatar_url, password_hash, created_at, phone_sealed, role, disabled_at`

type scanner interface{ Scan(...any) error }

func scanUser(row scanner) (storage.User, error) {
	var u storage.User
	return u, storage.ScanPlans(row, storage.UserPlan(&u))
}

// CreateUser implements storage.Storage.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	return s.exec(ctx, "create user", `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Username, u.Nickname, u.AvatarURL, u.PasswordHash, ms(u.CreatedAt), u.PhoneSealed, u.Role, ms(u.DisabledAt))
}

// SetRole implements storage.Storage.
func (s *Store) SetRole(ctx context.Context, userID, role string) error {
	return s.execOne(ctx, "set role", storage.ErrNotFound, `UPDATE users SET role = ? WHERE id = ?`, role, userID)
}

// DisableUser implements storage.Storage.
func (s *Store) DisableUser(ctx context.Context, userID string, now time.Time) error {
	return s.write(ctx, "disable user", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = CASE WHEN disabled_at = 0 THEN ? ELSE disabled_at END WHERE id = ?`, ms(now), userID)
		if err := touched(res, err, storage.ErrNotFound); err != nil {
			return err
		}
		return signOut(ctx, tx, userID, now)
	})
}

// SignOutUser implements storage.Storage.
func (s *Store) SignOutUser(ctx context.Context, userID string, now time.Time) error {
	return s.write(ctx, "sign out user", func(tx *wtx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one); err != nil {
			return notFound(err)
		}
		return signOut(ctx, tx, userID, now)
	})
}

// SetPassword implements storage.Storage.
func (s *Store) SetPassword(ctx context.Context, userID, passwordHash string, now time.Time) error {
	return s.write(ctx, "set password", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, userID)
		if err := touched(res, err, storage.ErrNotFound); err != nil {
			return err
		}
		return signOut(ctx, tx, userID, now)
	})
}

// signOut revokes everything userID is signed in with.
func signOut(ctx context.Context, tx *wtx, userID string, now time.Time) error {
	for _, q := range []string{
		`UPDATE devices SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0`,
		`UPDATE families SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0`,
		`UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0`,
	} {
		if _, err := tx.ExecContext(ctx, q, ms(now), userID); err != nil {
			return err
		}
	}
	for _, q := range []string{`DELETE FROM sessions WHERE user_id = ?`, `DELETE FROM codes WHERE user_id = ? AND used_at = 0`} {
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			return err
		}
	}
	return nil
}

// EnableUser implements storage.Storage.
func (s *Store) EnableUser(ctx context.Context, userID string) error {
	return s.execOne(ctx, "enable user", storage.ErrNotFound, `UPDATE users SET disabled_at = 0 WHERE id = ?`, userID)
}

// GetUser implements storage.Storage.
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return u, fmt.Errorf("get user: %w", notFound(err))
	}
	return u, nil
}

// GetUserByUsername implements storage.Storage.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (storage.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE username = ?`, username))
	if err != nil {
		return u, fmt.Errorf("get user %q: %w", username, notFound(err))
	}
	return u, nil
}

// ListUsers implements storage.Storage.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	return list(ctx, s, "list users", scanUser, `SELECT `+userCols+` FROM users ORDER BY username`)
}

const appCols = `appid, name, icon_url, owner, secret_hash, redirect_uris, domains, fast_login, created_at, public, id_token_alg, old_secret_hash, old_secret_until, disabled_at, fence`

func scanApp(row scanner) (storage.App, error) {
	var a storage.App
	return a, storage.ScanPlans(row, appPlan(&a))
}

// appPlan scans appCols into a.
func appPlan(a *storage.App) storage.Plan {
	var uris, domains, fence string
	var fast, public int
	var created, oldUntil, disabled int64
	return storage.Plan{Dests: []any{&a.AppID, &a.Name, &a.IconURL, &a.Owner, &a.SecretHash, &uris, &domains, &fast, &created, &public, &a.IDTokenAlg,
		&a.OldSecretHash, &oldUntil, &disabled, &fence},
		Finish: func() error {
			a.FastLogin, a.Public = fast != 0, public != 0
			a.CreatedAt, a.OldSecretUntil, a.DisabledAt = fromMS(created), fromMS(oldUntil), fromMS(disabled)
			return storage.AppLists(a, uris, domains, fence)
		}}
}

// CreateApp implements storage.Storage.
func (s *Store) CreateApp(ctx context.Context, a storage.App) error {
	uris, _ := json.Marshal(nonNil(a.RedirectURIs))
	domains, _ := json.Marshal(nonNil(a.Domains))
	fast := boolInt(a.FastLogin)
	return s.exec(ctx, "create app", `INSERT INTO apps (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.AppID, a.Name, a.IconURL, a.Owner, append([]byte{}, a.SecretHash...), string(uris), string(domains), fast, ms(a.CreatedAt), boolInt(a.Public), a.IDTokenAlg,
		a.OldSecretHash, ms(a.OldSecretUntil), ms(a.DisabledAt), a.Fence.JSON())
}

// UpdateApp implements storage.Storage.
func (s *Store) UpdateApp(ctx context.Context, a storage.App) error {
	uris, _ := json.Marshal(nonNil(a.RedirectURIs))
	domains, _ := json.Marshal(nonNil(a.Domains))
	return s.execOne(ctx, "update app", storage.ErrNotFound, `UPDATE apps SET name = ?, icon_url = ?, owner = ?, secret_hash = ?, redirect_uris = ?,
		domains = ?, fast_login = ?, public = ?, id_token_alg = ?, old_secret_hash = ?, old_secret_until = ?, disabled_at = ?, fence = ? WHERE appid = ?`,
		a.Name, a.IconURL, a.Owner, append([]byte{}, a.SecretHash...), string(uris), string(domains), boolInt(a.FastLogin), boolInt(a.Public), a.IDTokenAlg,
		a.OldSecretHash, ms(a.OldSecretUntil), ms(a.DisabledAt), a.Fence.JSON(), a.AppID)
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// GetApp implements storage.Storage.
func (s *Store) GetApp(ctx context.Context, appID string) (storage.App, error) {
	a, err := scanApp(s.r.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE appid = ?`, appID))
	if err != nil {
		return a, fmt.Errorf("get app %q: %w", appID, notFound(err))
	}
	return a, nil
}

// ListApps implements storage.Storage.
func (s *Store) ListApps(ctx context.Context) ([]storage.App, error) {
	return list(ctx, s, "list apps", scanApp, `SELECT `+appCols+` FROM apps ORDER BY created_at, appid`)
}

// CreateSession implements storage.Storage.
func (s *Store) CreateSession(ctx context.Context, se storage.Session) error {
	return s.exec(ctx, "create session", `INSERT INTO sessions (hash, user_id, created_at, expires_at, last_seen_at, method) VALUES (?, ?, ?, ?, ?, ?)`,
		se.Hash, se.UserID, ms(se.CreatedAt), ms(se.ExpiresAt), ms(se.LastSeenAt), se.Method)
}

// GetSession implements storage.Storage.
func (s *Store) GetSession(ctx context.Context, hash []byte) (storage.Session, error) {
	var se storage.Session
	var created, expires, seen int64
	err := s.r.QueryRowContext(ctx, `SELECT hash, user_id, created_at, expires_at, last_seen_at, method FROM sessions WHERE hash = ?`, hash).
		Scan(&se.Hash, &se.UserID, &created, &expires, &seen, &se.Method)
	if err != nil {
		return se, fmt.Errorf("get session: %w", notFound(err))
	}
	se.CreatedAt, se.ExpiresAt, se.LastSeenAt = fromMS(created), fromMS(expires), fromMS(seen)
	return se, nil
}

// TouchSession implements storage.Storage.
func (s *Store) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	return s.execOne(ctx, "touch session", storage.ErrNotFound, `UPDATE sessions SET last_seen_at = ? WHERE hash = ?`, ms(at), hash)
}

// DeleteSession implements storage.Storage.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	return s.exec(ctx, "delete session", `DELETE FROM sessions WHERE hash = ?`, hash)
}

// ListGrants implements storage.Storage.
func (s *Store) ListGrants(ctx context.Context, userID string) ([]storage.Grant, error) {
	return list(ctx, s, "list grants", func(row scanner) (storage.Grant, error) {
		var g storage.Grant
		var first, last int64
		err := row.Scan(&g.UserID, &g.AppID, &g.Scope, &first, &last)
		g.FirstAt, g.LastAt = fromMS(first), fromMS(last)
		return g, err
	}, `SELECT user_id, appid, scope, first_at, last_at FROM grants WHERE user_id = ? ORDER BY last_at DESC, appid`, userID)
}

// AddEvent implements storage.Storage.
func (s *Store) AddEvent(ctx context.Context, e storage.Event) error {
	return s.write(ctx, "add event", func(tx *wtx) error { return insertEvent(ctx, tx, e) })
}

func insertEvent(ctx context.Context, tx *wtx, e storage.Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO events (`+storage.InsertEventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		storage.InsertEventValues(e)...)
	return err
}

// ListEvents implements storage.Storage.
func (s *Store) ListEvents(ctx context.Context, userID, kind string, limit int) ([]storage.Event, error) {
	if limit <= 0 {
		limit = 50
	}
	return list(ctx, s, "list events", scanEvent, `SELECT `+storage.EventCols+` FROM events
		WHERE (? = '' OR user_id = ?) AND (? = '' OR kind = ?) ORDER BY id DESC LIMIT ?`, userID, userID, kind, kind, limit)
}

// QueryEvents implements storage.Storage.
func (s *Store) QueryEvents(ctx context.Context, q storage.EventQuery) ([]storage.Event, error) {
	where, args := q.Where(func(int) string { return "?" })
	return list(ctx, s, "query events", scanEvent, `SELECT `+storage.EventCols+` FROM events WHERE `+where, args...)
}

func scanEvent(row scanner) (storage.Event, error) {
	var e storage.Event
	var created int64
	err := row.Scan(storage.EventFields(&e, &created)...)
	e.CreatedAt = fromMS(created)
	return e, err
}

// Secret implements storage.Storage.
func (s *Store) Secret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	if fresh != nil {
		if err := s.exec(ctx, "store secret "+name, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return nil, err
		}
	}
	var v []byte
	if err := s.r.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("read secret %s: %w", name, notFound(err))
	}
	return v, nil
}

// DeleteSecret implements storage.Storage.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	return s.exec(ctx, "delete secret "+name, `DELETE FROM secrets WHERE name = ?`, name)
}

func list[T any](ctx context.Context, s *Store, op string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// RevokeGrant implements storage.Storage.
func (s *Store) RevokeGrant(ctx context.Context, userID, appID string, now time.Time) error {
	return s.write(ctx, "revoke grant", func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE user_id = ? AND appid = ?`, userID, appID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM codes WHERE user_id = ? AND appid = ? AND used_at = 0`, userID, appID); err != nil {
			return err
		}
		if err := revokeFamilies(ctx, tx, now, `user_id = ? AND appid = ?`, userID, appID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_consents WHERE user_id = ? AND appid = ?`, userID, appID); err != nil {
			return err
		}
		// Tokens stored outside any family (CreateToken) go too.
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND appid = ? AND revoked_at = 0`, ms(now), userID, appID)
		return err
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DeleteUser implements storage.Storage.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	return s.write(ctx, "delete user", func(tx *wtx) error { return deleteRows(ctx, tx, storage.UserRows, userID) })
}

// DeleteApp implements storage.Storage.
func (s *Store) DeleteApp(ctx context.Context, appID string) error {
	return s.write(ctx, "delete app", func(tx *wtx) error { return deleteRows(ctx, tx, storage.AppRows, appID) })
}

// deleteRows runs the deletes of rows for id; the last is the record
// itself, ErrNotFound when there was none.
func deleteRows(ctx context.Context, tx *wtx, rows []storage.Rows, id string) error {
	var res sql.Result
	var err error
	for _, r := range rows {
		if res, err = tx.ExecContext(ctx, `DELETE FROM `+r.Table+` WHERE `+r.Column+` = ?`, id); err != nil {
			return err
		}
	}
	return touched(res, nil, storage.ErrNotFound)
}

// CreatePasswordReset implements storage.Storage.
func (s *Store) CreatePasswordReset(ctx context.Context, hash []byte, userID string, now, expires time.Time) error {
	return s.exec(ctx, "create password reset", `INSERT INTO password_resets (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		hash, userID, ms(now), ms(expires))
}

// UsePasswordReset implements storage.Storage.
func (s *Store) UsePasswordReset(ctx context.Context, hash []byte, passwordHash string, now time.Time) (string, error) {
	var userID string
	err := s.write(ctx, "use password reset", func(tx *wtx) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM password_resets WHERE hash = ? AND expires_at > ? RETURNING user_id`, hash, ms(now)).Scan(&userID)
		if err != nil {
			return notFound(err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, userID)
		if err := touched(res, err, storage.ErrNotFound); err != nil {
			return err
		}
		return signOut(ctx, tx, userID, now)
	})
	return userID, err
}
