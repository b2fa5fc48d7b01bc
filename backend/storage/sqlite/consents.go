package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

const consentCols = `user_id, appid, login_at, phone_at, session_key, session_at`

func scanConsent(row scanner) (storage.Consent, error) {
	var c storage.Consent
	var login, phone, at int64
	err := row.Scan(&c.UserID, &c.AppID, &login, &phone, &c.SessionKey, &at)
	c.LoginAt, c.PhoneAt, c.SessionAt = fromMS(login), fromMS(phone), fromMS(at)
	return c, err
}

// PutConsent implements storage.Storage.
func (s *Store) PutConsent(ctx context.Context, c storage.Consent) error {
	return s.write(ctx, "put consent", func(tx *wtx) error { return putConsent(ctx, tx, c) })
}

func putConsent(ctx context.Context, tx *wtx, c storage.Consent) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO app_consents (user_id, appid, login_at, phone_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, appid) DO UPDATE SET login_at = excluded.login_at, phone_at = excluded.phone_at`,
		c.UserID, c.AppID, ms(c.LoginAt), ms(c.PhoneAt))
	return err
}

// GetConsent implements storage.Storage.
func (s *Store) GetConsent(ctx context.Context, userID, appID string) (storage.Consent, error) {
	c, err := scanConsent(s.r.QueryRowContext(ctx, `SELECT `+consentCols+` FROM app_consents WHERE user_id = ? AND appid = ?`, userID, appID))
	if err != nil {
		return c, fmt.Errorf("get consent: %w", notFound(err))
	}
	return c, nil
}

// ListConsents implements storage.Storage.
func (s *Store) ListConsents(ctx context.Context, userID string) ([]storage.Consent, error) {
	return list(ctx, s, "list consents", scanConsent, `SELECT `+consentCols+` FROM app_consents WHERE user_id = ? ORDER BY login_at, appid`, userID)
}

// SetSessionKey implements storage.Storage.
func (s *Store) SetSessionKey(ctx context.Context, userID, appID string, sealed []byte, at time.Time) error {
	return s.execOne(ctx, "set session key", storage.ErrNotFound,
		`UPDATE app_consents SET session_key = ?, session_at = ? WHERE user_id = ? AND appid = ?`, sealed, ms(at), userID, appID)
}

// DeleteConsent implements storage.Storage.
func (s *Store) DeleteConsent(ctx context.Context, userID, appID string) error {
	return s.exec(ctx, "delete consent", `DELETE FROM app_consents WHERE user_id = ? AND appid = ?`, userID, appID)
}
