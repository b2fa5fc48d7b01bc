package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scanfree/scanfree/backend/storage"
)

// RotateToken implements storage.Storage. The family's row lock orders
// it with every other rotation and revocation of the family on any
// replica: a concurrent rotation of the same token waits, then finds it
// rotated; a revocation waits for it, then revokes what it stored.
func (s *Store) RotateToken(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
	return s.tx(ctx, "rotate token", func(tx pgx.Tx) error {
		if err := lockFamily(ctx, tx, hash); err != nil {
			return err
		}
		// Conditional: it reads the token's latest version, so of two
		// rotations (or a rotation and a revocation of this one token)
		// exactly one changes it.
		err := touched(tx.Exec(ctx, `UPDATE tokens SET rotated_at = $1 WHERE hash = $2 AND rotated_at = 0 AND revoked_at = 0`, ms(now), hash))(errNotLive)
		if errors.Is(err, errNotLive) {
			if err := notLive(ctx, tx, hash); err != nil {
				return err
			}
			return storage.ErrAlreadyUsed
		} else if err != nil {
			return err
		}
		return insertTokens(ctx, tx, issued)
	})
}

// errNotLive is an untouched UPDATE of a token, before reading why.
var errNotLive = errors.New("token not live")

// ExtendFamily implements storage.Storage, under the family's lock as
// RotateToken.
func (s *Store) ExtendFamily(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
	return s.tx(ctx, "extend family", func(tx pgx.Tx) error {
		if err := lockFamily(ctx, tx, hash); err != nil {
			return err
		}
		if err := notLive(ctx, tx, hash); err != nil {
			return err
		}
		return insertTokens(ctx, tx, issued)
	})
}

// insertTokens stores issued in one statement.
func insertTokens(ctx context.Context, tx pgx.Tx, issued []storage.Token) error {
	var t tokenColumns
	for _, tk := range issued {
		t.add(tk)
	}
	_, err := tx.Exec(ctx, `INSERT INTO tokens (`+issuedCols+`)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])`,
		t.hash, t.kind, t.appid, t.userID, t.codeHash, t.scope, t.createdAt, t.expiresAt, t.revokedAt, t.face)
	return err
}

// consumeAuthRequest marks request id used by the code minted at now; the
// row lock makes a concurrent second mint wait and then find it used.
func consumeAuthRequest(ctx context.Context, tx pgx.Tx, id string, now time.Time) error {
	err := touched(tx.Exec(ctx, `UPDATE auth_requests SET used_at = $1 WHERE id = $2 AND used_at = 0`, ms(now), id))(storage.ErrAlreadyUsed)
	if !errors.Is(err, storage.ErrAlreadyUsed) {
		return err
	}
	var one int
	if err := tx.QueryRow(ctx, `SELECT 1 FROM auth_requests WHERE id = $1`, id).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
		return storage.ErrNotFound
	} else if err != nil {
		return err
	}
	return storage.ErrAlreadyUsed
}

// RevokeToken implements storage.Storage.
func (s *Store) RevokeToken(ctx context.Context, hash []byte, now time.Time) error {
	return s.exec(ctx, "revoke token", `UPDATE tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at = 0`, ms(now), hash)
}

// CreateAuthRequest implements storage.Storage.
func (s *Store) CreateAuthRequest(ctx context.Context, ar storage.AuthRequest) error {
	data, err := json.Marshal(ar)
	if err != nil {
		return fmt.Errorf("create auth request: %w", err)
	}
	return s.exec(ctx, "create auth request", `INSERT INTO auth_requests (id, client_id, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		ar.ID, ar.ClientID, string(data), ms(ar.CreatedAt), ms(ar.ExpiresAt))
}

// GetAuthRequest implements storage.Storage.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	var ar storage.AuthRequest
	var data string
	var used int64
	if err := s.pool.QueryRow(ctx, `SELECT data, used_at FROM auth_requests WHERE id = $1`, id).Scan(&data, &used); err != nil {
		return ar, wrap("get auth request", err)
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

// CreateFirstSigningKey implements storage.Storage. A transaction-scoped
// advisory lock makes check and insert one step for replicas starting
// together.
func (s *Store) CreateFirstSigningKey(ctx context.Context, k storage.SigningKey) (bool, error) {
	stored := false
	err := s.tx(ctx, "create first signing key", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keysLock); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+keyCols+`) SELECT $1, $2, $3, $4, $5, $6, $7
			WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = $2)`, keyArgs(k)...)
		stored = tag.RowsAffected() == 1
		return err
	})
	return stored, err
}

// keysLock is the advisory lock key of making the first signing keys.
const keysLock = migrationLock + 1

// RaiseTokenTTL implements storage.Storage.
func (s *Store) RaiseTokenTTL(ctx context.Context, ttl time.Duration) error {
	return s.exec(ctx, "raise token ttl", `UPDATE signing_keys SET token_ttl_ms = $1 WHERE token_ttl_ms < $1`, ttl.Milliseconds())
}

// CreateSigningKey implements storage.Storage.
func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	return s.exec(ctx, "create signing key", `INSERT INTO signing_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`, keyArgs(k)...)
}

// ListSigningKeys implements storage.Storage.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	return list(ctx, s, "list signing keys", scanKey, `SELECT `+keyCols+` FROM signing_keys ORDER BY created_at, kid`)
}

// DeleteSigningKey implements storage.Storage.
func (s *Store) DeleteSigningKey(ctx context.Context, kid string) error {
	return s.exec(ctx, "delete signing key", `DELETE FROM signing_keys WHERE kid = $1`, kid)
}
