package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/scanfree/scanfree/backend/storage"
)

func scanIdentity(row scanner) (storage.Identity, error) { return storage.ScanIdentity(row.Scan) }

func insertIdentity(ctx context.Context, tx pgx.Tx, id storage.Identity) error {
	_, err := tx.Exec(ctx, `INSERT INTO identities (`+storage.IdentityCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id.ConnectorID, id.Subject, id.UserID, id.Username, storage.GroupsText(id.Groups), id.Data, ms(id.CreatedAt), ms(id.CheckedAt))
	return err
}

// CreateUserWithIdentity implements storage.Storage.
func (s *Store) CreateUserWithIdentity(ctx context.Context, u storage.User, id storage.Identity) error {
	return s.tx(ctx, "create user with identity", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			u.ID, u.Username, u.Nickname, u.AvatarURL, u.PasswordHash, ms(u.CreatedAt), u.PhoneSealed, u.Role, ms(u.DisabledAt)); err != nil {
			return err
		}
		return insertIdentity(ctx, tx, id)
	})
}

// LinkIdentity implements storage.Storage. The person's row is locked so
// that a delete at once cannot leave a link to no one.
func (s *Store) LinkIdentity(ctx context.Context, id storage.Identity) error {
	return s.tx(ctx, "link identity", func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, id.UserID).Scan(&one); err != nil {
			return err
		}
		return insertIdentity(ctx, tx, id)
	})
}

// GetIdentity implements storage.Storage.
func (s *Store) GetIdentity(ctx context.Context, connectorID, subject string) (storage.Identity, error) {
	id, err := scanIdentity(s.pool.QueryRow(ctx, `SELECT `+storage.IdentityCols+` FROM identities WHERE connector_id = $1 AND subject = $2`,
		connectorID, subject))
	return id, wrap("get identity", err)
}

// ListIdentities implements storage.Storage.
func (s *Store) ListIdentities(ctx context.Context, connectorID, userID string) ([]storage.Identity, error) {
	return list(ctx, s, "list identities", scanIdentity, `SELECT `+storage.IdentityCols+` FROM identities
		WHERE ($1 = '' OR connector_id = $1) AND ($2 = '' OR user_id = $2) ORDER BY connector_id, subject`, connectorID, userID)
}

// UpdateIdentity implements storage.Storage.
func (s *Store) UpdateIdentity(ctx context.Context, id storage.Identity) error {
	return s.execOne(ctx, "update identity", storage.ErrNotFound, `UPDATE identities SET username = $1, groups_json = $2, data = $3, checked_at = $4
		WHERE connector_id = $5 AND subject = $6`, id.Username, storage.GroupsText(id.Groups), id.Data, ms(id.CheckedAt), id.ConnectorID, id.Subject)
}
