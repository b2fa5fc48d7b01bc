package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/scanfree/scanfree/backend/storage"
)

const userCols = `id, username, nickname, avatar_url, password_hash, created_at, phone_sealed, role, disabled_at`

func scanUser(row scanner) (storage.User, error) {
	var u storage.User
	return u, storage.ScanPlans(row, storage.UserPlan(&u))
}

// CreateUser implements storage.Storage.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	return s.exec(ctx, "create user", `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.Username, u.Nickname, u.AvatarURL, u.PasswordHash, ms(u.CreatedAt), u.PhoneSealed, u.Role, ms(u.DisabledAt))
}

// SetRole implements storage.Storage.
func (s *Store) SetRole(ctx context.Context, userID, role string) error {
	return s.execOne(ctx, "set role", storage.ErrNotFound, `UPDATE users SET role = $1 WHERE id = $2`, role, userID)
}

// DisableUser implements storage.Storage. The families' UPDATE takes
// their row locks, as every revocation does (see revokeFamilies), so a
// rotation in flight on any replica is revoked too or refused.
func (s *Store) DisableUser(ctx context.Context, userID string, now time.Time) error {
	return s.tx(ctx, "disable user", func(tx pgx.Tx) error {
		err := touched(tx.Exec(ctx, `UPDATE users SET disabled_at = CASE WHEN disabled_at = 0 THEN $1 ELSE disabled_at END WHERE id = $2`,
			ms(now), userID))(storage.ErrNotFound)
		if err != nil {
			return err
		}
		return signOut(ctx, tx, userID, now)
	})
}

// SignOutUser implements storage.Storage.
func (s *Store) SignOutUser(ctx context.Context, userID string, now time.Time) error {
	return s.tx(ctx, "sign out user", func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1`, userID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return storage.ErrNotFound
		} else if err != nil {
			return err
		}
		return signOut(ctx, tx, userID, now)
	})
}

// SetPassword implements storage.Storage.
func (s *Store) SetPassword(ctx context.Context, userID, passwordHash string, now time.Time) error {
	return s.tx(ctx, "set password", func(tx pgx.Tx) error {
		err := touched(tx.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, passwordHash, userID))(storage.ErrNotFound)
		if err != nil {
			return err
		}
		return signOut(ctx, tx, userID, now)
	})
}

// signOut revokes everything userID is signed in with.
func signOut(ctx context.Context, tx pgx.Tx, userID string, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE devices SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0`, ms(now), userID); err != nil {
		return err
	}
	if err := revokeFamilies(ctx, tx, now, `user_id = $2`, userID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0`, ms(now), userID); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM sessions WHERE user_id = $1`, `DELETE FROM codes WHERE user_id = $1 AND used_at = 0`} {
		if _, err := tx.Exec(ctx, q, userID); err != nil {
			return err
		}
	}
	return nil
}

// EnableUser implements storage.Storage.
func (s *Store) EnableUser(ctx context.Context, userID string) error {
	return s.execOne(ctx, "enable user", storage.ErrNotFound, `UPDATE users SET disabled_at = 0 WHERE id = $1`, userID)
}

// GetUser implements storage.Storage.
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, wrap("get user", err)
}

// GetUserByUsername implements storage.Storage.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (storage.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
	return u, wrap(fmt.Sprintf("get user %q", username), err)
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
	var created, oldUntil, disabled int64
	return storage.Plan{Dests: []any{&a.AppID, &a.Name, &a.IconURL, &a.Owner, &a.SecretHash, &uris, &domains, &a.FastLogin, &created, &a.Public, &a.IDTokenAlg,
		&a.OldSecretHash, &oldUntil, &disabled, &fence},
		Finish: func() error {
			a.CreatedAt, a.OldSecretUntil, a.DisabledAt = fromMS(created), fromMS(oldUntil), fromMS(disabled)
			return storage.AppLists(a, uris, domains, fence)
		}}
}

// CreateApp implements storage.Storage.
func (s *Store) CreateApp(ctx context.Context, a storage.App) error {
	uris, _ := json.Marshal(nonNil(a.RedirectURIs))
	domains, _ := json.Marshal(nonNil(a.Domains))
	return s.exec(ctx, "create app", `INSERT INTO apps (`+appCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		a.AppID, a.Name, a.IconURL, a.Owner, append([]byte{}, a.SecretHash...), string(uris), string(domains), a.FastLogin, ms(a.CreatedAt), a.Public, a.IDTokenAlg,
		a.OldSecretHash, ms(a.OldSecretUntil), ms(a.DisabledAt), a.Fence.JSON())
}

// UpdateApp implements storage.Storage.
func (s *Store) UpdateApp(ctx context.Context, a storage.App) error {
	uris, _ := json.Marshal(nonNil(a.RedirectURIs))
	domains, _ := json.Marshal(nonNil(a.Domains))
	return s.execOne(ctx, "update app", storage.ErrNotFound, `UPDATE apps SET name = $1, icon_url = $2, owner = $3, secret_hash = $4, redirect_uris = $5,
		domains = $6, fast_login = $7, public = $8, id_token_alg = $9, old_secret_hash = $10, old_secret_until = $11, disabled_at = $12, fence = $14 WHERE appid = $13`,
		a.Name, a.IconURL, a.Owner, append([]byte{}, a.SecretHash...), string(uris), string(domains), a.FastLogin, a.Public, a.IDTokenAlg,
		a.OldSecretHash, ms(a.OldSecretUntil), ms(a.DisabledAt), a.AppID, a.Fence.JSON())
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// GetApp implements storage.Storage.
func (s *Store) GetApp(ctx context.Context, appID string) (storage.App, error) {
	a, err := scanApp(s.pool.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE appid = $1`, appID))
	return a, wrap(fmt.Sprintf("get app %q", appID), err)
}

// ListApps implements storage.Storage.
func (s *Store) ListApps(ctx context.Context) ([]storage.App, error) {
	return list(ctx, s, "list apps", scanApp, `SELECT `+appCols+` FROM apps ORDER BY created_at, appid`)
}

// CreateSession implements storage.Storage.
func (s *Store) CreateSession(ctx context.Context, se storage.Session) error {
	return s.exec(ctx, "create session", `INSERT INTO sessions (hash, user_id, created_at, expires_at, last_seen_at, method) VALUES ($1, $2, $3, $4, $5, $6)`,
		se.Hash, se.UserID, ms(se.CreatedAt), ms(se.ExpiresAt), ms(se.LastSeenAt), se.Method)
}

// GetSession implements storage.Storage.
func (s *Store) GetSession(ctx context.Context, hash []byte) (storage.Session, error) {
	var se storage.Session
	var created, expires, seen int64
	err := s.pool.QueryRow(ctx, `SELECT hash, user_id, created_at, expires_at, last_seen_at, method FROM sessions WHERE hash = $1`, hash).
		Scan(&se.Hash, &se.UserID, &created, &expires, &seen, &se.Method)
	se.CreatedAt, se.ExpiresAt, se.LastSeenAt = fromMS(created), fromMS(expires), fromMS(seen)
	return se, wrap("get session", err)
}

// TouchSession implements storage.Storage.
func (s *Store) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	return s.execOne(ctx, "touch session", storage.ErrNotFound, `UPDATE sessions SET last_seen_at = $1 WHERE hash = $2`, ms(at), hash)
}

// DeleteSession implements storage.Storage.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	return s.exec(ctx, "delete session", `DELETE FROM sessions WHERE hash = $1`, hash)
}

// ListGrants implements storage.Storage.
func (s *Store) ListGrants(ctx context.Context, userID string) ([]storage.Grant, error) {
	return list(ctx, s, "list grants", func(row scanner) (storage.Grant, error) {
		var g storage.Grant
		var first, last int64
		err := row.Scan(&g.UserID, &g.AppID, &g.Scope, &first, &last)
		g.FirstAt, g.LastAt = fromMS(first), fromMS(last)
		return g, err
	}, `SELECT user_id, appid, scope, first_at, last_at FROM grants WHERE user_id = $1 ORDER BY last_at DESC, appid`, userID)
}

// AddEvent implements storage.Storage.
func (s *Store) AddEvent(ctx context.Context, e storage.Event) error {
	return wrap("add event", insertEvent(ctx, s.pool, e))
}

func insertEvent(ctx context.Context, tx execer, e storage.Event) error {
	_, err := tx.Exec(ctx, `INSERT INTO events (`+storage.InsertEventCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		storage.InsertEventValues(e)...)
	return err
}

// ListEvents implements storage.Storage.
func (s *Store) ListEvents(ctx context.Context, userID, kind string, limit int) ([]storage.Event, error) {
	if limit <= 0 {
		limit = 50
	}
	return list(ctx, s, "list events", scanEvent, `SELECT `+storage.EventCols+` FROM events
		WHERE ($1 = '' OR user_id = $1) AND ($2 = '' OR kind = $2) ORDER BY id DESC LIMIT $3`, userID, kind, limit)
}

// QueryEvents implements storage.Storage.
func (s *Store) QueryEvents(ctx context.Context, q storage.EventQuery) ([]storage.Event, error) {
	where, args := q.Where(func(n int) string { return "$" + strconv.Itoa(n) })
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
		if err := s.exec(ctx, "store secret "+name, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return nil, err
		}
	}
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	return v, wrap("read secret "+name, err)
}

// DeleteSecret implements storage.Storage.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	return s.exec(ctx, "delete secret "+name, `DELETE FROM secrets WHERE name = $1`, name)
}

// RevokeGrant implements storage.Storage.
func (s *Store) RevokeGrant(ctx context.Context, userID, appID string, now time.Time) error {
	return s.tx(ctx, "revoke grant", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM grants WHERE user_id = $1 AND appid = $2`, userID, appID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM codes WHERE user_id = $1 AND appid = $2 AND used_at = 0`, userID, appID); err != nil {
			return err
		}
		if err := revokeFamilies(ctx, tx, now, `user_id = $2 AND appid = $3`, userID, appID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM app_consents WHERE user_id = $1 AND appid = $2`, userID, appID); err != nil {
			return err
		}
		// Tokens stored outside any family (CreateToken) go too.
		_, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND appid = $3 AND revoked_at = 0`, ms(now), userID, appID)
		return err
	})
}

// DeleteUser implements storage.Storage.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	return s.tx(ctx, "delete user", func(tx pgx.Tx) error { return deleteRows(ctx, tx, storage.UserRows, userID) })
}

// DeleteApp implements storage.Storage.
func (s *Store) DeleteApp(ctx context.Context, appID string) error {
	return s.tx(ctx, "delete app", func(tx pgx.Tx) error { return deleteRows(ctx, tx, storage.AppRows, appID) })
}

// deleteRows runs the deletes of rows for id; the last is the record
// itself, ErrNotFound when there was none.
func deleteRows(ctx context.Context, tx pgx.Tx, rows []storage.Rows, id string) error {
	var tag pgconn.CommandTag
	var err error
	for _, r := range rows {
		if tag, err = tx.Exec(ctx, `DELETE FROM `+r.Table+` WHERE `+r.Column+` = $1`, id); err != nil {
			return err
		}
	}
	return touched(tag, nil)(storage.ErrNotFound)
}

// CreatePasswordReset implements storage.Storage.
func (s *Store) CreatePasswordReset(ctx context.Context, hash []byte, userID string, now, expires time.Time) error {
	return s.exec(ctx, "create password reset", `INSERT INTO password_resets (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, userID, ms(now), ms(expires))
}

// UsePasswordReset implements storage.Storage.
func (s *Store) UsePasswordReset(ctx context.Context, hash []byte, passwordHash string, now time.Time) (string, error) {
	var userID string
	err := s.tx(ctx, "use password reset", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM password_resets WHERE hash = $1 AND expires_at > $2 RETURNING user_id`, hash, ms(now)).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return storage.ErrNotFound
		} else if err != nil {
			return err
		}
		if err := touched(tx.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, passwordHash, userID))(storage.ErrNotFound); err != nil {
			return err
		}
		return signOut(ctx, tx, userID, now)
	})
	return userID, err
}
