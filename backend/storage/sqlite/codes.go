package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

const codeCols = `hash, appid, redirect_uri, user_id, device_id, scope, created_at, expires_at, used_at, face, nonce, code_challenge, auth_time, amr, acr`

// CreateSignIn implements storage.Storage: one commit, one fsync.
func (s *Store) CreateSignIn(ctx context.Context, c storage.Code, e storage.Event) error {
	return s.write(ctx, "create sign-in", func(tx *wtx) error { return signIn(ctx, tx, c, e) })
}

// CreateAppSignIn implements storage.Storage.
func (s *Store) CreateAppSignIn(ctx context.Context, a storage.Consent, allowed storage.Event, c storage.Code, e storage.Event) error {
	return s.write(ctx, "create app sign-in", func(tx *wtx) error {
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
func signIn(ctx context.Context, tx *wtx, c storage.Code, e storage.Event) error {
	if err := insertCode(ctx, tx, c); err != nil {
		return err
	}
	if c.AuthRequestID != "" {
		if err := consumeAuthRequest(ctx, tx, c.AuthRequestID, c.CreatedAt); err != nil {
			return err
		}
	}
	if c.DeviceID != "" {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET last_seen_at = ?, last_addr = COALESCE(NULLIF(?, ''), last_addr) WHERE id = ?`, ms(c.CreatedAt), e.Addr, c.DeviceID)
		if err := touched(res, err, storage.ErrNotFound); err != nil {
			return err
		}
	}
	return insertEvent(ctx, tx, e)
}

// insertCode stores c and records the user's grant of the app.
func insertCode(ctx context.Context, tx *wtx, c storage.Code) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO codes (`+codeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.AppID, c.RedirectURI, c.UserID, c.DeviceID, c.Scope, ms(c.CreatedAt), ms(c.ExpiresAt), ms(c.UsedAt),
		c.Face.String(), c.Nonce, c.CodeChallenge, ms(c.AuthTime), strings.Join(c.AMR, " "), c.ACR); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO grants (user_id, appid, scope, first_at, last_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, appid) DO UPDATE SET scope = excluded.scope, last_at = excluded.last_at`,
		c.UserID, c.AppID, c.Scope, ms(c.CreatedAt), ms(c.CreatedAt))
	return err
}

// GetCode implements storage.Storage.
func (s *Store) GetCode(ctx context.Context, hash []byte) (storage.Code, error) {
	var c storage.Code
	var created, expires, used, authTime int64
	var face, amr string
	err := s.r.QueryRowContext(ctx, `SELECT `+codeCols+` FROM codes WHERE hash = ?`, hash).
		Scan(&c.Hash, &c.AppID, &c.RedirectURI, &c.UserID, &c.DeviceID, &c.Scope, &created, &expires, &used, &face, &c.Nonce, &c.CodeChallenge, &authTime, &amr, &c.ACR)
	if err != nil {
		return c, fmt.Errorf("get code: %w", notFound(err))
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt, c.AuthTime = fromMS(created), fromMS(expires), fromMS(used), fromMS(authTime)
	c.Face, c.AMR = storage.Face(face), strings.Fields(amr)
	return c, nil
}

// RedeemCode implements storage.Storage.
func (s *Store) RedeemCode(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
	return s.write(ctx, "redeem code", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE codes SET used_at = ? WHERE hash = ? AND used_at = 0`, ms(now), hash)
		if err := touched(res, err, storage.ErrAlreadyUsed); errors.Is(err, storage.ErrAlreadyUsed) {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM codes WHERE hash = ?`, hash).Scan(&one); err != nil {
				return notFound(err)
			}
			return err
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO families (id, appid, user_id, device_id, created_at)
			SELECT hash, appid, user_id, device_id, ? FROM codes WHERE hash = ? ON CONFLICT (id) DO NOTHING`, ms(now), hash); err != nil {
			return err
		}
		return insertTokens(ctx, tx, issued)
	})
}

// RevokeFamily implements storage.Storage. The one writer serializes it
// with every rotation.
func (s *Store) RevokeFamily(ctx context.Context, codeHash []byte, now time.Time) error {
	return s.write(ctx, "revoke family", func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE families SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, ms(now), codeHash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE code_hash = ? AND revoked_at = 0`, ms(now), codeHash)
		return err
	})
}

// revokeFamilies revokes the families that where selects (with args)
// and all their tokens.
func revokeFamilies(ctx context.Context, tx *wtx, now time.Time, where string, args ...any) error {
	if _, err := tx.ExecContext(ctx, `UPDATE families SET revoked_at = ? WHERE revoked_at = 0 AND `+where, append([]any{ms(now)}, args...)...); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE revoked_at = 0 AND code_hash IN (SELECT id FROM families WHERE `+where+`)`,
		append([]any{ms(now)}, args...)...)
	return err
}

const tokenCols = `hash, kind, appid, user_id, code_hash, scope, created_at, expires_at, revoked_at, face, rotated_at`

func insertToken(ctx context.Context, tx *wtx, t storage.Token) error {
	return insertTokens(ctx, tx, []storage.Token{t})
}

// insertTokenRows are the INSERTs of 1 to 4 tokens in one statement: an
// exchange issues two, a refresh one or two.
var insertTokenRows = func() []string {
	q := make([]string, 5)
	for n := 1; n < len(q); n++ {
		q[n] = `INSERT INTO tokens (` + tokenCols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), `, n), ", ")
	}
	return q
}()

// insertTokens stores issued, up to four tokens per statement.
func insertTokens(ctx context.Context, tx *wtx, issued []storage.Token) error {
	for len(issued) > 0 {
		n := min(len(issued), len(insertTokenRows)-1)
		args := make([]any, 0, 11*n)
		for _, t := range issued[:n] {
			args = append(args, t.Hash, string(t.Kind), t.AppID, t.UserID, t.CodeHash, t.Scope, ms(t.CreatedAt), ms(t.ExpiresAt), ms(t.RevokedAt),
				t.Face.String(), ms(t.RotatedAt))
		}
		if _, err := tx.ExecContext(ctx, insertTokenRows[n], args...); err != nil {
			return err
		}
		issued = issued[n:]
	}
	return nil
}

// CreateToken implements storage.Storage.
func (s *Store) CreateToken(ctx context.Context, t storage.Token) error {
	return s.write(ctx, "create token", func(tx *wtx) error { return insertToken(ctx, tx, t) })
}

// GetToken implements storage.Storage.
func (s *Store) GetToken(ctx context.Context, hash []byte) (storage.Token, error) {
	var t storage.Token
	err := storage.ScanPlans(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash), storage.TokenPlan(&t))
	if err != nil {
		return t, fmt.Errorf("get token: %w", notFound(err))
	}
	return t, nil
}

// accessQuery reads a token with its user and app.
var accessQuery = `SELECT ` + storage.Qualify("t", tokenCols) + `, ` + storage.Qualify("u", userCols) + `, ` + storage.Qualify("a", appCols) + `
	FROM tokens t JOIN users u ON u.id = t.user_id JOIN apps a ON a.appid = t.appid WHERE t.hash = ?`

// GetAccess implements storage.Storage.
func (s *Store) GetAccess(ctx context.Context, hash []byte) (storage.Access, error) {
	var a storage.Access
	if err := storage.ScanPlans(s.r.QueryRowContext(ctx, accessQuery, hash), storage.TokenPlan(&a.Token), storage.UserPlan(&a.User), appPlan(&a.App)); err != nil {
		return a, fmt.Errorf("get access token: %w", notFound(err))
	}
	return a, nil
}
