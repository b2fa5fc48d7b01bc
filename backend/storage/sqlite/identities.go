package sqlite

import (
	"context"
	"fmt"

	"github.com/scanfree/scanfree/backend/storage"
)

func scanIdentity(row scanner) (storage.Identity, error) { return storage.ScanIdentity(row.Scan) }

func insertIdentity(ctx context.Context, tx *wtx, id storage.Identity) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identities (`+storage.IdentityCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id.ConnectorID, id.Subject, id.UserID, id.Username, storage.GroupsText(id.Groups), id.Data, ms(id.CreatedAt), ms(id.CheckedAt))
	return err
}

// CreateUserWithIdentity implements storage.Storage.
func (s *Store) CreateUserWithIdentity(ctx context.Context, u storage.User, id storage.Identity) error {
	return s.write(ctx, "create user with identity", func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Username, u.Nickname, u.AvatarURL, u.PasswordHash, ms(u.CreatedAt), u.PhoneSealed, u.Role, ms(u.DisabledAt)); err != nil {
			return err
		}
		return insertIdentity(ctx, tx, id)
	})
}

// LinkIdentity implements storage.Storage.
func (s *Store) LinkIdentity(ctx context.Context, id storage.Identity) error {
	return s.write(ctx, "link identity", func(tx *wtx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, id.UserID).Scan(&one); err != nil {
			return notFound(err)
		}
		return insertIdentity(ctx, tx, id)
	})
}

// GetIdentity implements storage.Storage.
func (s *Store) GetIdentity(ctx context.Context, connectorID, subject string) (storage.Identity, error) {
	id, err := scanIdentity(s.r.QueryRowContext(ctx, `SELECT `+storage.IdentityCols+` FROM identities WHERE connector_id = ? AND subject = ?`,
		connectorID, subject))
	if err != nil {
		return id, fmt.Errorf("get identity: %w", notFound(err))
	}
	return id, nil
}

// ListIdentities implements storage.Storage.
func (s *Store) ListIdentities(ctx context.Context, connectorID, userID string) ([]storage.Identity, error) {
	return list(ctx, s, "list identities", scanIdentity, `SELECT `+storage.IdentityCols+` FROM identities
		WHERE (? = '' OR connector_id = ?) AND (? = '' OR user_id = ?) ORDER BY connector_id, subject`, connectorID, connectorID, userID, userID)
}

// UpdateIdentity implements storage.Storage.
func (s *Store) UpdateIdentity(ctx context.Context, id storage.Identity) error {
	return s.execOne(ctx, "update identity", storage.ErrNotFound, `UPDATE identities SET username = ?, groups_json = ?, data = ?, checked_at = ?
		WHERE connector_id = ? AND subject = ?`, id.Username, storage.GroupsText(id.Groups), id.Data, ms(id.CheckedAt), id.ConnectorID, id.Subject)
}
