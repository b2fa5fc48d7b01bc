package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// RotateToken implements storage.Storage. The one writer serializes it
// with every revocation, so one conditional UPDATE (the token live, its
// family not revoked) decides; only a refusal reads why.
func (s *Store) RotateToken(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
	return s.write(ctx, "rotate token", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET rotated_at = ? WHERE hash = ? AND rotated_at = 0 AND revoked_at = 0
			AND NOT EXISTS (SELECT 1 FROM families f WHERE f.id = tokens.code_hash AND f.revoked_at != 0)`, ms(now), hash)
		if err := touched(res, err, errNotLive); errors.Is(err, errNotLive) {
			if err := liveInFamily(ctx, tx, hash); err != nil {
				return err
			}
			return storage.ErrAlreadyUsed
		} else if err != nil {
			return err
		}
		return insertTokens(ctx, tx, issued)
	})
}

// errNotLive is RotateToken's untouched UPDATE, before it reads why.
var errNotLive = errors.New("token not live")

// ExtendFamily implements storage.Storage.
func (s *Store) ExtendFamily(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
	return s.write(ctx, "extend family", func(tx *wtx) error {
		if err := liveInFamily(ctx, tx, hash); err != nil {
			return err
		}
		return insertTokens(ctx, tx, issued)
	})
}

// liveInFamily checks, inside the writer's transaction (which no other
// write interleaves), that token hash is neither revoked nor rotated and
// that its family, when it has one, was not revoked.
func liveInFamily(ctx context.Context, tx *wtx, hash []byte) error {
	var revoked, rotated, familyRevoked int64
	err := tx.QueryRowContext(ctx, `SELECT t.revoked_at, t.rotated_at, coalesce(f.revoked_at, 0)
		FROM tokens t LEFT JOIN families f ON f.id = t.code_hash WHERE t.hash = ?`, hash).Scan(&revoked, &rotated, &familyRevoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return storage.ErrNotFound
	case err != nil:
		return err
	case revoked != 0 || familyRevoked != 0:
		return storage.ErrRevoked
	case rotated != 0:
		return storage.ErrAlreadyUsed
	}
	return nil
}

// consumeAuthRequest marks request id used by the code minted at now.
func consumeAuthRequest(ctx context.Context, tx *wtx, id string, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE auth_requests SET used_at = ? WHERE id = ? AND used_at = 0`, ms(now), id)
	if err := touched(res, err, storage.ErrAlreadyUsed); !errors.Is(err, storage.ErrAlreadyUsed) {
		return err
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM auth_requests WHERE id = ?`, id).Scan(&one); err != nil {
		return notFound(err)
	}
	return storage.ErrAlreadyUsed
}

// RevokeToken implements storage.Storage.
func (s *Store) RevokeToken(ctx context.Context, hash []byte, now time.Time) error {
	return s.exec(ctx, "revoke token", `UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at = 0`, ms(now), hash)
}

// CreateAuthRequest implements storage.Storage.
func (s *Store) CreateAuthRequest(ctx context.Context, ar storage.AuthRequest) error {
	data, err := json.Marshal(ar)
	if err != nil {
		return fmt.Errorf("create auth request: %w", err)
	}
	return s.exec(ctx, "create auth request", `INSERT INTO auth_requests (id, client_id, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		ar.ID, ar.ClientID, string(data), ms(ar.CreatedAt), ms(ar.ExpiresAt))
}

// GetAuthRequest implements storage.Storage.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	var ar storage.AuthRequest
	var data string
	var used int64
	if err := s.r.QueryRowContext(ctx, `SELECT data, used_at FROM auth_requests WHERE id = ?`, id).Scan(&data, &used); err != nil {
		return ar, fmt.Errorf("get auth request: %w", notFound(err))
	}
	if err := json.Unmarshal([]byte(data), &ar); err != nil {
		return ar, fmt.Errorf("get auth request: %w", err)
	}
	ar.UsedAt = fromMS(used)
	return ar, nil
}

const keyCols = `kid, alg, sealed, public_jwk, created_at, sign_from, token_ttl_ms`

func scanKey(row scanner) (storage.SigningKey, error) {
	var k storage.SigningKey
	var pub string
	var created, from, ttl int64
	err := row.Scan(&k.KID, &k.Alg, &k.Sealed, &pub, &created, &from, &ttl)
	k.Public, k.CreatedAt, k.SignFrom, k.TokenTTL = []byte(pub), fromMS(created), fromMS(from), time.Duration(ttl)*time.Millisecond
	return k, err
}

func keyArgs(k storage.SigningKey) []any {
	return []any{k.KID, k.Alg, k.Sealed, string(k.Public), ms(k.CreatedAt), ms(k.SignFrom), k.TokenTTL.Milliseconds()}
}

// CreateSigningKey implements storage.Storage.
func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	return s.exec(ctx, "create signing key", `INSERT INTO signing_keys (`+keyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`, keyArgs(k)...)
}

// CreateFirstSigningKey implements storage.Storage; the one writer makes
// check and insert one step.
func (s *Store) CreateFirstSigningKey(ctx context.Context, k storage.SigningKey) (bool, error) {
	stored := false
	err := s.write(ctx, "create first signing key", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+keyCols+`) SELECT ?, ?, ?, ?, ?, ?, ?
			WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = ?)`, append(keyArgs(k), k.Alg)...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		stored = n == 1
		return nil
	})
	return stored, err
}

// RaiseTokenTTL implements storage.Storage.
func (s *Store) RaiseTokenTTL(ctx context.Context, ttl time.Duration) error {
	return s.exec(ctx, "raise token ttl", `UPDATE signing_keys SET token_ttl_ms = ? WHERE token_ttl_ms < ?`, ttl.Milliseconds(), ttl.Milliseconds())
}

// ListSigningKeys implements storage.Storage.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	return list(ctx, s, "list signing keys", scanKey, `SELECT `+keyCols+` FROM signing_keys ORDER BY created_at, kid`)
}

// DeleteSigningKey implements storage.Storage.
func (s *Store) DeleteSigningKey(ctx context.Context, kid string) error {
	return s.exec(ctx, "delete signing key", `DELETE FROM signing_keys WHERE kid = ?`, kid)
}
