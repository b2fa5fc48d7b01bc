package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scanfree/scanfree/backend/storage"
)

const codeCols = `hash, appid, redirect_uri, user_id, device_id, scope, created_at, expires_at, used_at, face, nonce, code_challenge, auth_time, amr, acr`

// CreateSignIn implements storage.Storage: one transaction, one commit.
func (s *Store) CreateSignIn(ctx context.Context, c storage.Code, e storage.Event) error {
	return s.tx(ctx, "create sign-in", func(tx pgx.Tx) error { return signIn(ctx, tx, c, e) })
}

// CreateAppSignIn implements storage.Storage.
func (s *Store) CreateAppSignIn(ctx context.Context, a storage.Consent, allowed storage.Event, c storage.Code, e storage.Event) error {
	return s.tx(ctx, "create app sign-in", func(tx pgx.Tx) error {
		if err := putConsent(ctx, tx, a); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, allowed); err != nil {
			return err
		}
		return signIn(ctx, tx, c, e)
	})
}

// signIn stores the sign-in of code c with its event e.
func signIn(ctx context.Context, tx pgx.Tx, c storage.Code, e storage.Event) error {
	if err := insertCode(ctx, tx, c); err != nil {
		return err
	}
	if c.AuthRequestID != "" {
		if err := consumeAuthRequest(ctx, tx, c.AuthRequestID, c.CreatedAt); err != nil {
			return err
		}
	}
	if c.DeviceID != "" {
		err := touched(tx.Exec(ctx, `UPDATE devices SET last_seen_at = $1, last_addr = COALESCE(NULLIF($2, ''), last_addr) WHERE id = $3`, ms(c.CreatedAt), e.Addr, c.DeviceID))(storage.ErrNotFound)
		if err != nil {
			return err
		}
	}
	return insertEvent(ctx, tx, e)
}

// insertCode stores c and records the user's grant of the app.
func insertCode(ctx context.Context, tx pgx.Tx, c storage.Code) error {
	if _, err := tx.Exec(ctx, `INSERT INTO codes (`+codeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.Hash, c.AppID, c.RedirectURI, c.UserID, c.DeviceID, c.Scope, ms(c.CreatedAt), ms(c.ExpiresAt), ms(c.UsedAt),
		c.Face.String(), c.Nonce, c.CodeChallenge, ms(c.AuthTime), strings.Join(c.AMR, " "), c.ACR); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO grants (user_id, appid, scope, first_at, last_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (user_id, appid) DO UPDATE SET scope = excluded.scope, last_at = excluded.last_at`,
		c.UserID, c.AppID, c.Scope, ms(c.CreatedAt))
	return err
}

// GetCode implements storage.Storage.
func (s *Store) GetCode(ctx context.Context, hash []byte) (storage.Code, error) {
	var c storage.Code
	var created, expires, used, authTime int64
	var face, amr string
	err := s.pool.QueryRow(ctx, `SELECT `+codeCols+` FROM codes WHERE hash = $1`, hash).
		Scan(&c.Hash, &c.AppID, &c.RedirectURI, &c.UserID, &c.DeviceID, &c.Scope, &created, &expires, &used, &face, &c.Nonce, &c.CodeChallenge, &authTime, &amr, &c.ACR)
	c.CreatedAt, c.ExpiresAt, c.UsedAt, c.AuthTime = fromMS(created), fromMS(expires), fromMS(used), fromMS(authTime)
	c.Face, c.AMR = storage.Face(face), strings.Fields(amr)
	return c, wrap("get code", err)
}

// RedeemCode implements storage.Storage. The conditional UPDATE takes the
// row lock: concurrent redeemers on any replica queue behind the first,
// then find used_at set and change nothing.
func (s *Store) RedeemCode(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
	if len(issued) == 0 {
		return s.redeemed(ctx, hash, touched(s.pool.Exec(ctx, `WITH claimed AS (
				UPDATE codes SET used_at = $1 WHERE hash = $2 AND used_at = 0 RETURNING hash, appid, user_id, device_id
			), family AS (
				INSERT INTO families (id, appid, user_id, device_id, created_at)
				SELECT hash, appid, user_id, device_id, $1 FROM claimed ON CONFLICT (id) DO NOTHING
			)
			SELECT 1 FROM claimed`, ms(now), hash)))
	}
	// One statement, so one round trip and one commit: the exchange is the
	// relying party's hot path. The tokens are inserted only when the
	// update claimed the code; a concurrent redeemer waits on the row lock
	// and then finds used_at set.
	var t tokenColumns
	for _, tk := range issued {
		t.add(tk)
	}
	return s.redeemed(ctx, hash, touched(s.pool.Exec(ctx, `WITH claimed AS (
			UPDATE codes SET used_at = $1 WHERE hash = $2 AND used_at = 0 RETURNING hash, appid, user_id, device_id
		), family AS (
			INSERT INTO families (id, appid, user_id, device_id, created_at)
			SELECT hash, appid, user_id, device_id, $1 FROM claimed ON CONFLICT (id) DO NOTHING
		)
		INSERT INTO tokens (`+issuedCols+`)
		SELECT t.* FROM claimed, unnest($3::bytea[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[]) AS t`,
		ms(now), hash, t.hash, t.kind, t.appid, t.userID, t.codeHash, t.scope, t.createdAt, t.expiresAt, t.revokedAt, t.face)))
}

// redeemed turns the outcome of claiming code hash into RedeemCode's
// answer: nothing touched is ErrAlreadyUsed for a known code, ErrNotFound
// for an unknown one.
func (s *Store) redeemed(ctx context.Context, hash []byte, claim func(none error) error) error {
	err := claim(storage.ErrAlreadyUsed)
	if errors.Is(err, storage.ErrAlreadyUsed) {
		var one int
		if err := s.pool.QueryRow(ctx, `SELECT 1 FROM codes WHERE hash = $1`, hash).Scan(&one); err != nil {
			return wrap("redeem code", err)
		}
	}
	return wrap("redeem code", err)
}

// tokenColumns are tokens as one array per column, for unnest.
type tokenColumns struct {
	hash, codeHash                   [][]byte
	kind, appid, userID, scope, face []string
	createdAt, expiresAt, revokedAt  []int64
}

func (c *tokenColumns) add(t storage.Token) {
	c.hash, c.codeHash = append(c.hash, t.Hash), append(c.codeHash, t.CodeHash)
	c.kind, c.appid, c.userID, c.scope = append(c.kind, string(t.Kind)), append(c.appid, t.AppID), append(c.userID, t.UserID), append(c.scope, t.Scope)
	c.createdAt, c.expiresAt, c.revokedAt = append(c.createdAt, ms(t.CreatedAt)), append(c.expiresAt, ms(t.ExpiresAt)), append(c.revokedAt, ms(t.RevokedAt))
	c.face = append(c.face, t.Face.String())
}

// RevokeFamily implements storage.Storage.
func (s *Store) RevokeFamily(ctx context.Context, codeHash []byte, now time.Time) error {
	return s.tx(ctx, "revoke family", func(tx pgx.Tx) error {
		return revokeFamilies(ctx, tx, now, `id = $2`, codeHash)
	})
}

// revokeFamilies revokes the families that where selects (its argument is
// $2) and all their tokens. The UPDATE of the families takes their row
// locks first, so it waits for a rotation in flight on any replica; the
// tokens' UPDATE, a later statement, then sees what that rotation stored.
// A rotation that comes later waits for this transaction and finds the
// family revoked.
func revokeFamilies(ctx context.Context, tx pgx.Tx, now time.Time, where string, args ...any) error {
	args = append([]any{ms(now)}, args...)
	if _, err := tx.Exec(ctx, `UPDATE families SET revoked_at = $1 WHERE revoked_at = 0 AND `+where, args...); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE revoked_at = 0 AND code_hash IN (SELECT id FROM families WHERE `+where+`)`, args...)
	return err
}

// lockFamily locks the family of token hash (FOR UPDATE: a revocation in
// flight on any replica finishes first, and one that comes later waits
// for this transaction) and reports ErrRevoked when it was revoked. A
// token without a family row (stored by CreateToken) locks nothing.
func lockFamily(ctx context.Context, tx pgx.Tx, hash []byte) error {
	var familyRevoked int64
	err := tx.QueryRow(ctx, `SELECT f.revoked_at FROM tokens t JOIN families f ON f.id = t.code_hash WHERE t.hash = $1 FOR UPDATE OF f`, hash).
		Scan(&familyRevoked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	case familyRevoked != 0:
		return storage.ErrRevoked
	}
	return nil
}

// notLive says why token hash is not live: ErrRevoked, ErrAlreadyUsed
// (rotated) or ErrNotFound.
func notLive(ctx context.Context, tx pgx.Tx, hash []byte) error {
	var revoked, rotated int64
	err := tx.QueryRow(ctx, `SELECT revoked_at, rotated_at FROM tokens WHERE hash = $1`, hash).Scan(&revoked, &rotated)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return storage.ErrNotFound
	case err != nil:
		return err
	case revoked != 0:
		return storage.ErrRevoked
	case rotated != 0:
		return storage.ErrAlreadyUsed
	}
	return nil
}

// issuedCols are the columns a new token is given; rotated_at starts 0.
const issuedCols = `hash, kind, appid, user_id, code_hash, scope, created_at, expires_at, revoked_at, face`

const tokenCols = issuedCols + `, rotated_at`

func insertToken(ctx context.Context, tx execer, t storage.Token) error {
	_, err := tx.Exec(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		t.Hash, string(t.Kind), t.AppID, t.UserID, t.CodeHash, t.Scope, ms(t.CreatedAt), ms(t.ExpiresAt), ms(t.RevokedAt), t.Face.String(), ms(t.RotatedAt))
	return err
}

// CreateToken implements storage.Storage.
func (s *Store) CreateToken(ctx context.Context, t storage.Token) error {
	return wrap("create token", insertToken(ctx, s.pool, t))
}

// GetToken implements storage.Storage.
func (s *Store) GetToken(ctx context.Context, hash []byte) (storage.Token, error) {
	var t storage.Token
	err := storage.ScanPlans(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash), storage.TokenPlan(&t))
	return t, wrap("get token", err)
}

// accessQuery reads a token with its user and app.
var accessQuery = `SELECT ` + storage.Qualify("t", tokenCols) + `, ` + storage.Qualify("u", userCols) + `, ` + storage.Qualify("a", appCols) + `
	FROM tokens t JOIN users u ON u.id = t.user_id JOIN apps a ON a.appid = t.appid WHERE t.hash = $1`

// GetAccess implements storage.Storage.
func (s *Store) GetAccess(ctx context.Context, hash []byte) (storage.Access, error) {
	var a storage.Access
	err := storage.ScanPlans(s.pool.QueryRow(ctx, accessQuery, hash), storage.TokenPlan(&a.Token), storage.UserPlan(&a.User), appPlan(&a.App))
	return a, wrap("get access token", err)
}
