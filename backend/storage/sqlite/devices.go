package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

const deviceCols = `id, user_id, name, os, credential_hash, created_at, last_seen_at, revoked_at, last_addr, jkt, key_protection, posture`

func scanDevice(row scanner) (storage.Device, error) {
	var d storage.Device
	var created, seen, revoked int64
	err := row.Scan(&d.ID, &d.UserID, &d.Name, &d.OS, &d.CredentialHash, &created, &seen, &revoked, &d.LastAddr, &d.KeyThumbprint, &d.KeyProtection, &d.Posture)
	d.CreatedAt, d.LastSeenAt, d.RevokedAt = fromMS(created), fromMS(seen), fromMS(revoked)
	return d, err
}

// GetDevice implements storage.Storage.
func (s *Store) GetDevice(ctx context.Context, id string) (storage.Device, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, id))
	if err != nil {
		return d, fmt.Errorf("get device %q: %w", id, notFound(err))
	}
	return d, nil
}

// GetDeviceByCredential implements storage.Storage.
func (s *Store) GetDeviceByCredential(ctx context.Context, credentialHash []byte) (storage.Device, error) {
	d, err := scanDevice(s.r.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices WHERE credential_hash = ?`, credentialHash))
	if err != nil {
		return d, fmt.Errorf("get device: %w", notFound(err))
	}
	return d, nil
}

// ListDevices implements storage.Storage.
func (s *Store) ListDevices(ctx context.Context, userID string) ([]storage.Device, error) {
	return list(ctx, s, "list devices", scanDevice,
		`SELECT `+deviceCols+` FROM devices WHERE (? = '' OR user_id = ?) ORDER BY created_at, id`, userID, userID)
}

// BindDeviceKey implements storage.Storage.
func (s *Store) BindDeviceKey(ctx context.Context, id, jkt, protection string) error {
	return s.write(ctx, "bind device key", func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET jkt = ?, key_protection = ? WHERE id = ? AND jkt = ''`, jkt, protection, id)
		if err := touched(res, err, storage.ErrAlreadyExists); !errors.Is(err, storage.ErrAlreadyExists) {
			return err
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM devices WHERE id = ?`, id).Scan(&one); err != nil {
			return notFound(err)
		}
		return storage.ErrAlreadyExists
	})
}

// SetDeviceKeyProtection implements storage.Storage.
func (s *Store) SetDeviceKeyProtection(ctx context.Context, id, jkt, protection string) error {
	return s.execOne(ctx, "set device key protection", storage.ErrNotFound,
		`UPDATE devices SET key_protection = ? WHERE id = ? AND jkt = ? AND jkt <> ''`, protection, id, jkt)
}

// SetDevicePosture implements storage.Storage.
func (s *Store) SetDevicePosture(ctx context.Context, id, posture string) error {
	return s.execOne(ctx, "set device posture", storage.ErrNotFound, `UPDATE devices SET posture = ? WHERE id = ?`, posture, id)
}

// RenameDevice implements storage.Storage.
func (s *Store) RenameDevice(ctx context.Context, userID, id, name string) error {
	return s.execOne(ctx, "rename device", storage.ErrNotFound, `UPDATE devices SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
}

// RevokeDevice implements storage.Storage.
func (s *Store) RevokeDevice(ctx context.Context, id string, now time.Time) error {
	err := s.write(ctx, "revoke device "+id, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM codes WHERE device_id = ? AND used_at = 0`, id); err != nil {
			return err
		}
		if err := revokeFamilies(ctx, tx, now, `device_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, ms(now), id)
		return touched(res, err, storage.ErrNotPending)
	})
	if errors.Is(err, storage.ErrNotPending) {
		// Revoked before, or missing: only the latter is an error.
		_, err = s.GetDevice(ctx, id)
	}
	return err
}

const deviceAuthCols = `device_code_hash, user_code, client_id, device_name, os, status, user_id, device_id, interval_ms, created_at, expires_at, last_poll_at, request_ip`

func scanDeviceAuth(row scanner) (storage.DeviceAuth, error) {
	var da storage.DeviceAuth
	var status string
	var interval, created, expires, poll int64
	err := row.Scan(&da.DeviceCodeHash, &da.UserCode, &da.ClientID, &da.DeviceName, &da.OS, &status,
		&da.UserID, &da.DeviceID, &interval, &created, &expires, &poll, &da.RequestIP)
	da.Status = storage.DeviceAuthStatus(status)
	da.Interval = time.Duration(interval) * time.Millisecond
	da.CreatedAt, da.ExpiresAt, da.LastPollAt = fromMS(created), fromMS(expires), fromMS(poll)
	return da, err
}

// CreateDeviceAuth implements storage.Storage.
func (s *Store) CreateDeviceAuth(ctx context.Context, da storage.DeviceAuth) error {
	if da.Status == "" {
		da.Status = storage.DeviceAuthPending
	}
	return s.exec(ctx, "create device authorization", `INSERT INTO device_auths (`+deviceAuthCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		da.DeviceCodeHash, da.UserCode, da.ClientID, da.DeviceName, da.OS, string(da.Status), da.UserID, da.DeviceID,
		da.Interval.Milliseconds(), ms(da.CreatedAt), ms(da.ExpiresAt), ms(da.LastPollAt), da.RequestIP)
}

// GetDeviceAuth implements storage.Storage.
func (s *Store) GetDeviceAuth(ctx context.Context, deviceCodeHash []byte) (storage.DeviceAuth, error) {
	da, err := scanDeviceAuth(s.r.QueryRowContext(ctx, `SELECT `+deviceAuthCols+` FROM device_auths WHERE device_code_hash = ?`, deviceCodeHash))
	if err != nil {
		return da, fmt.Errorf("get device authorization: %w", notFound(err))
	}
	return da, nil
}

// GetDeviceAuthByUserCode implements storage.Storage.
func (s *Store) GetDeviceAuthByUserCode(ctx context.Context, userCode string) (storage.DeviceAuth, error) {
	da, err := scanDeviceAuth(s.r.QueryRowContext(ctx, `SELECT `+deviceAuthCols+` FROM device_auths WHERE user_code = ?`, userCode))
	if err != nil {
		return da, fmt.Errorf("get device authorization: %w", notFound(err))
	}
	return da, nil
}

// DecideDeviceAuth implements storage.Storage.
func (s *Store) DecideDeviceAuth(ctx context.Context, userCode, userID string, approve bool) error {
	status := storage.DeviceAuthDenied
	if approve {
		status = storage.DeviceAuthApproved
	}
	err := s.execOne(ctx, "decide device authorization", storage.ErrNotPending,
		`UPDATE device_auths SET status = ?, user_id = ? WHERE user_code = ? AND status = ?`,
		string(status), userID, userCode, string(storage.DeviceAuthPending))
	if errors.Is(err, storage.ErrNotPending) {
		if _, gerr := s.GetDeviceAuthByUserCode(ctx, userCode); gerr != nil {
			return fmt.Errorf("decide device authorization: %w", gerr)
		}
	}
	return err
}

// CompleteDeviceAuth implements storage.Storage.
func (s *Store) CompleteDeviceAuth(ctx context.Context, deviceCodeHash []byte, d storage.Device, maxActive int) error {
	return s.write(ctx, "complete device authorization", func(tx *wtx) error {
		// SQLite has one writer at a time: the count holds until commit.
		if maxActive > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE user_id = ? AND revoked_at = 0`, d.UserID).Scan(&n); err != nil {
				return err
			}
			if n >= maxActive {
				return storage.ErrTooManyDevices
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE device_auths SET status = ?, device_id = ? WHERE device_code_hash = ? AND status = ? AND user_id = ?`,
			string(storage.DeviceAuthConsumed), d.ID, deviceCodeHash, string(storage.DeviceAuthApproved), d.UserID)
		if err := touched(res, err, storage.ErrNotPending); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO devices (`+deviceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.UserID, d.Name, d.OS, d.CredentialHash, ms(d.CreatedAt), ms(d.LastSeenAt), ms(d.RevokedAt), d.LastAddr, d.KeyThumbprint, d.KeyProtection, d.Posture)
		return err
	})
}
