package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scanfree/scanfree/backend/storage"
)

// RotateToken implements storage.Storage. The conditional UPDATE takes
// the row lock: a concurrent rotation of the same token on any replica
// waits, then finds it revoked.
func (s *Store) RotateToken(ctx context.Context, hash []byte, now time.Time, issued []storage.Token) error {
	return s.tx(ctx, "rotate token", func(tx pgx.Tx) error {
		if err := touched(tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at = 0`, ms(now), hash))(storage.ErrAlreadyUsed); err != nil {
			return err
		}
		for _, t := range issued {
			if err := insertToken(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
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
	if err := s.pool.QueryRow(ctx, `SELECT data FROM auth_requests WHERE id = $1`, id).Scan(&data); err != nil {
		return ar, wrap("get auth request", err)
	}
	if err := json.Unmarshal([]byte(data), &ar); err != nil {
		return ar, fmt.Errorf("get auth request: %w", err)
	}
	return ar, nil
}

const keyCols = `kid, alg, sealed, public_jwk, created_at, sign_from`

func scanKey(row scanner) (storage.SigningKey, error) {
	var k storage.SigningKey
	var pub string
	var created, from int64
	err := row.Scan(&k.KID, &k.Alg, &k.Sealed, &pub, &created, &from)
	k.Public, k.CreatedAt, k.SignFrom = []byte(pub), fromMS(created), fromMS(from)
	return k, err
}

// CreateSigningKey implements storage.Storage.
func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	return s.exec(ctx, "create signing key", `INSERT INTO signing_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.KID, k.Alg, k.Sealed, string(k.Public), ms(k.CreatedAt), ms(k.SignFrom))
}

// ListSigningKeys implements storage.Storage.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	return list(ctx, s, "list signing keys", scanKey, `SELECT `+keyCols+` FROM signing_keys ORDER BY created_at, kid`)
}

// DeleteSigningKey implements storage.Storage.
func (s *Store) DeleteSigningKey(ctx context.Context, kid string) error {
	return s.exec(ctx, "delete signing key", `DELETE FROM signing_keys WHERE kid = $1`, kid)
}
