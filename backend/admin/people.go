package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// change is the shape of every operator change to a person: find her
// account, act on it, record the event of kind with detail.
func change(ctx context.Context, st storage.Storage, op, username string, act func(u storage.User) error, kind, detail string, now time.Time) error {
	u, err := person(ctx, st, op, username)
	if err != nil {
		return err
	}
	if err := act(u); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: kind, Detail: detail, CreatedAt: now})
}

// person returns username's account, with the fix for an unknown one.
func person(ctx context.Context, st storage.Storage, op, username string) (storage.User, error) {
	u, err := st.GetUserByUsername(ctx, username)
	if errors.Is(err, storage.ErrNotFound) {
		return u, fmt.Errorf("%s: no user %q (see `scanfree-server user list`)", op, username)
	}
	return u, err
}

// SetRole gives username role: storage.RoleAdmin, storage.RoleAuditor or
// "none"; operator names who did it in the audit log.
func SetRole(ctx context.Context, st storage.Storage, username, role, operator string, now time.Time) error {
	switch role {
	case storage.RoleAdmin, storage.RoleAuditor:
	case "none", "":
		role = ""
	default:
		return fmt.Errorf("set role: %q: use admin, auditor or none", role)
	}
	u, err := person(ctx, st, "set role", username)
	if err != nil {
		return err
	}
	if err := st.SetRole(ctx, u.ID, role); err != nil {
		return err
	}
	shown := role
	if shown == "" {
		shown = "none"
	}
	return st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "role_set", Detail: "role " + shown + ", set by " + operator, CreatedAt: now})
}

// DisableUser offboards username at once: the account cannot sign in, and
// every desktop, token family, web session and pending code of it is
// revoked (see storage.Storage.DisableUser).
func DisableUser(ctx context.Context, st storage.Storage, username, operator string, now time.Time) error {
	return change(ctx, st, "disable user", username, func(u storage.User) error { return st.DisableUser(ctx, u.ID, now) },
		"user_disabled", "disabled by "+operator+"; every desktop, sign-in and session ended", now)
}

// EnableUser lets username sign in again; what was revoked stays revoked.
func EnableUser(ctx context.Context, st storage.Storage, username, operator string, now time.Time) error {
	return change(ctx, st, "enable user", username, func(u storage.User) error { return st.EnableUser(ctx, u.ID) },
		"user_enabled", "enabled by "+operator, now)
}

// Unlock forgets username's wrong passwords: the per-account delay ends.
func Unlock(ctx context.Context, st storage.Storage, username, operator string, now time.Time) error {
	return change(ctx, st, "unlock user", username, func(storage.User) error { return st.ResetAttempts(ctx, storage.AccountKey(username)) },
		"user_unlocked", "wrong passwords forgotten by "+operator, now)
}

// ResetPassword gives username a new password chosen by an operator. Every
// sign-in the old one opened ends in the same step (a reset follows a
// forgotten or a leaked password, and in the second case the holder of the
// old one must lose what it opened), and the wrong-password delay is
// forgotten so the owner is not slowed by an attacker's guesses.
func ResetPassword(ctx context.Context, st storage.Storage, username, password, operator string, now time.Time) error {
	u, err := person(ctx, st, "reset password", username)
	if err != nil {
		return err
	}
	if len(password) < MinPasswordLen {
		return fmt.Errorf("reset password: the password must have at least %d characters", MinPasswordLen)
	}
	if err := st.SetPassword(ctx, u.ID, secret.HashPassword(password), now); err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if err := st.ResetAttempts(ctx, storage.AccountKey(username)); err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	return st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "password_reset",
		Detail: "password reset by " + operator + "; every desktop, sign-in and session ended", CreatedAt: now})
}

// SignOutEverywhere ends every sign-in of username (desktops, token
// families, web sessions, pending codes) without disabling the account.
func SignOutEverywhere(ctx context.Context, st storage.Storage, username, operator string, now time.Time) error {
	return change(ctx, st, "sign out everywhere", username, func(u storage.User) error { return st.SignOutUser(ctx, u.ID, now) },
		"signed_out_everywhere", "signed out everywhere by "+operator+"; every desktop, sign-in and session ended", now)
}

// DeleteUser deletes username's account and everything of hers (tokens,
// sessions, consents, desktops, her phone number with the account row);
// her audit events stay with her id, so the log still tells what she did.
// Her desktops learn at their next contact that they are signed out.
func DeleteUser(ctx context.Context, st storage.Storage, username, operator string, now time.Time) error {
	return change(ctx, st, "delete user", username, func(u storage.User) error {
		if err := st.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		return st.ResetAttempts(ctx, storage.AccountKey(username))
	}, "user_deleted", username+" deleted by "+operator+"; her desktops, sign-ins, sessions and consents went with the account", now)
}

// SetProfile changes username's name and picture.
func SetProfile(ctx context.Context, st storage.Storage, username, nickname, avatarURL, operator string, now time.Time) error {
	nickname = strings.TrimSpace(nickname)
	if nickname == "" || len(nickname) > 100 {
		return errors.New("edit user: the name must be 1 to 100 characters")
	}
	if avatarURL != "" && !strings.HasPrefix(avatarURL, "https://") && !strings.HasPrefix(avatarURL, "http://") {
		return fmt.Errorf("edit user: picture %q: want an http(s) URL", avatarURL)
	}
	return change(ctx, st, "edit user", username, func(u storage.User) error { return st.SetProfile(ctx, u.ID, nickname, avatarURL) },
		"user_edited", "name and picture set by "+operator, now)
}

// ResetLinkTTL is how long a one-time reset link works.
const ResetLinkTTL = 24 * time.Hour

// ResetLink makes a one-time link with which username sets a new password
// herself, valid ResetLinkTTL: it returns the link's token (shown once;
// only its hash is stored). Using it ends every sign-in of hers, as a
// reset by an operator does.
func ResetLink(ctx context.Context, st storage.Storage, username, operator string, now time.Time) (string, error) {
	u, err := person(ctx, st, "reset link", username)
	if err != nil {
		return "", err
	}
	tok := secret.Token()
	if err := st.CreatePasswordReset(ctx, secret.Hash(tok), u.ID, now, now.Add(ResetLinkTTL)); err != nil {
		return "", fmt.Errorf("reset link: %w", err)
	}
	return tok, st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "password_reset_link",
		Detail: "a one-time password reset link made by " + operator + ", valid until " + now.Add(ResetLinkTTL).UTC().Format(time.RFC3339), CreatedAt: now})
}

// LinkUser links username's account to connectorID's subject (her stable
// id in that directory: LDAP entryUUID, AD objectGUID, an OIDC sub), so
// that signing in through the connector is signing in as her. A subject
// links once: one already linked (her first sign-in there made an
// account) is refused with the way out.
func LinkUser(ctx context.Context, st storage.Storage, username, connectorID, subject, operator string, now time.Time) error {
	subject = strings.TrimSpace(subject)
	if subject == "" || connectorID == "" {
		return errors.New("link user: give the connector's id and her stable id in it (LDAP entryUUID, AD objectGUID, OIDC sub)")
	}
	u, err := person(ctx, st, "link user", username)
	if err != nil {
		return err
	}
	if other, err := st.GetIdentity(ctx, connectorID, subject); err == nil {
		owner, _ := st.GetUser(ctx, other.UserID)
		return fmt.Errorf("link user: %s %s is linked to %s already; links are never moved: delete that account first (`scanfree-server user delete %s`)",
			connectorID, subject, owner.Username, owner.Username)
	}
	err = st.LinkIdentity(ctx, storage.Identity{ConnectorID: connectorID, Subject: subject, UserID: u.ID, CreatedAt: now})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("link user: %s %s was linked by someone else just now; see `scanfree-server user list`", connectorID, subject)
	}
	if err != nil {
		return fmt.Errorf("link user: %w", err)
	}
	return st.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "user_linked",
		Detail: "linked to " + connectorID + " " + subject + " by " + operator, CreatedAt: now})
}

// RemoveTOTP removes username's authenticator app and recovery codes (she
// lost both): her password alone signs her in until she sets one up again.
func RemoveTOTP(ctx context.Context, st storage.Storage, username, operator string, now time.Time) error {
	return change(ctx, st, "remove authenticator", username, func(u storage.User) error { return st.DeleteTOTP(ctx, u.ID) },
		"totp_removed", "authenticator app and recovery codes removed by "+operator, now)
}
