package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = $1`, id))
	return d, wrap(fmt.Sprintf("get device %q", id), err)
}

// GetDeviceByCredential implements storage.Storage.
func (s *Store) GetDeviceByCredential(ctx context.Context, credentialHash []byte) (storage.Device, error) {
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE credential_hash = $1`, credentialHash))
	return d, wrap("get device", err)
}

// ListDevices implements storage.Storage.
func (s *Store) ListDevices(ctx context.Context, userID string) ([]storage.Device, error) {
	return list(ctx, s, "list devices", scanDevice,
		`SELECT `+deviceCols+` FROM devices WHERE ($1 = '' OR user_id = $1) ORDER BY created_at, id`, userID)
}

// BindDeviceKey implements storage.Storage.
func (s *Store) BindDeviceKey(ctx context.Context, id, jkt, protection string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE devices SET jkt = $1, key_protection = $2 WHERE id = $3 AND jkt = ''`, jkt, protection, id)
	if err != nil {
		return wrap("bind device key", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if _, err := s.GetDevice(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("bind device key: %w", storage.ErrAlreadyExists)
}

// SetDeviceKeyProtection implements storage.Storage.
func (s *Store) SetDeviceKeyProtection(ctx context.Context, id, jkt, protection string) error {
	return s.execOne(ctx, "set device key protection", storage.ErrNotFound,
		`UPDATE devices SET key_protection = $1 WHERE id = $2 AND jkt = $3 AND jkt <> ''`, protection, id, jkt)
}

// SetDevicePosture implements storage.Storage.
func (s *Store) SetDevicePosture(ctx context.Context, id, posture string) error {
	return s.execOne(ctx, "set device posture", storage.ErrNotFound, `UPDATE devices SET posture = $1 WHERE id = $2`, posture, id)
}

// RenameDevice implements storage.Storage.
func (s *Store) RenameDevice(ctx context.Context, userID, id, name string) error {
	return s.execOne(ctx, "rename device", storage.ErrNotFound, `UPDATE devices SET name = $1 WHERE id = $2 AND user_id = $3`, name, id, userID)
}

// RevokeDevice implements storage.Storage.
func (s *Store) RevokeDevice(ctx context.Context, id string, now time.Time) error {
	err := s.tx(ctx, "revoke device "+id, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM codes WHERE device_id = $1 AND used_at = 0`, id); err != nil {
			return err
		}
		if err := revokeFamilies(ctx, tx, now, `device_id = $2`, id); err != nil {
			return err
		}
		return touched(tx.Exec(ctx, `UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, ms(now), id))(storage.ErrNotPending)
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
	return s.exec(ctx, "create device authorization", `INSERT INTO device_auths (`+deviceAuthCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		da.DeviceCodeHash, da.UserCode, da.ClientID, da.DeviceName, da.OS, string(da.Status), da.UserID, da.DeviceID,
		da.Interval.Milliseconds(), ms(da.CreatedAt), ms(da.ExpiresAt), ms(da.LastPollAt), da.RequestIP)
}

// GetDeviceAuth implements storage.Storage.
func (s *Store) GetDeviceAuth(ctx context.Context, deviceCodeHash []byte) (storage.DeviceAuth, error) {
	da, err := scanDeviceAuth(s.pool.QueryRow(ctx, `SELECT `+deviceAuthCols+` FROM device_auths WHERE device_code_hash = $1`, deviceCodeHash))
	return da, wrap("get device authorization", err)
}

// GetDeviceAuthByUserCode implements storage.Storage.
func (s *Store) GetDeviceAuthByUserCode(ctx context.Context, userCode string) (storage.DeviceAuth, error) {
	da, err := scanDeviceAuth(s.pool.QueryRow(ctx, `SELECT `+deviceAuthCols+` FROM device_auths WHERE user_code = $1`, userCode))
	return da, wrap("get device authorization", err)
}

// PollDeviceAuth implements storage.Storage: the row lock makes concurrent
// polls, on any replica, take turns.
func (s *Store) PollDeviceAuth(ctx context.Context, deviceCodeHash []byte, now time.Time, step time.Duration) (bool, time.Duration, error) {
	var slow bool
	var interval time.Duration
	err := s.tx(ctx, "record device poll", func(tx pgx.Tx) error {
		var last, iv int64
		if err := tx.QueryRow(ctx, `SELECT last_poll_at, interval_ms FROM device_auths WHERE device_code_hash = $1 FOR UPDATE`,
			deviceCodeHash).Scan(&last, &iv); err != nil {
			return err
		}
		slow, interval = storage.SlowDown(fromMS(last), time.Duration(iv)*time.Millisecond, now, step)
		_, err := tx.Exec(ctx, `UPDATE device_auths SET last_poll_at = $1, interval_ms = $2 WHERE device_code_hash = $3`,
			ms(now), interval.Milliseconds(), deviceCodeHash)
		return err
	})
	return slow, interval, err
}

// DecideDeviceAuth implements storage.Storage.
func (s *Store) DecideDeviceAuth(ctx context.Context, userCode, userID string, approve bool) error {
	status := storage.DeviceAuthDenied
	if approve {
		status = storage.DeviceAuthApproved
	}
	err := s.execOne(ctx, "decide device authorization", storage.ErrNotPending,
		`UPDATE device_auths SET status = $1, user_id = $2 WHERE user_code = $3 AND status = $4`,
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
	return s.tx(ctx, "complete device authorization", func(tx pgx.Tx) error {
		if maxActive > 0 {
			// The person's row, locked, orders her enrolments (on every
			// replica): the count holds until commit.
			var n int
			if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, d.UserID); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM devices WHERE user_id = $1 AND revoked_at = 0`, d.UserID).Scan(&n); err != nil {
				return err
			}
			if n >= maxActive {
				return storage.ErrTooManyDevices
			}
		}
		err := touched(tx.Exec(ctx, `UPDATE device_auths SET status = $1, device_id = $2
			WHERE device_code_hash = $3 AND status = $4 AND user_id = $5`,
			string(storage.DeviceAuthConsumed), d.ID, deviceCodeHash, string(storage.DeviceAuthApproved), d.UserID))(storage.ErrNotPending)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO devices (`+deviceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			d.ID, d.UserID, d.Name, d.OS, d.CredentialHash, ms(d.CreatedAt), ms(d.LastSeenAt), ms(d.RevokedAt), d.LastAddr, d.KeyThumbprint, d.KeyProtection, d.Posture)
		return err
	})
}
