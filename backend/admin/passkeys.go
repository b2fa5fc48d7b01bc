package admin

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// PasskeyRef is a passkey's credential id as the console's and the
// CLI's commands name it.
func PasskeyRef(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// Passkeys returns username's passkeys, oldest first.
func Passkeys(ctx context.Context, st storage.Storage, username string) ([]storage.Passkey, error) {
	u, err := person(ctx, st, "list passkeys", username)
	if err != nil {
		return nil, err
	}
	return st.ListPasskeys(ctx, u.ID)
}

// RemovePasskey removes username's passkey named ref (its id, as
// PasskeyRef writes it, or its name when no other of hers has it): a
// lost phone or laptop no longer signs her in.
func RemovePasskey(ctx context.Context, st storage.Storage, username, ref, operator string, now time.Time) error {
	pks, err := Passkeys(ctx, st, username)
	if err != nil {
		return err
	}
	var found []storage.Passkey
	for _, p := range pks {
		if PasskeyRef(p.ID) == ref || p.Name == ref {
			found = append(found, p)
		}
	}
	switch {
	case len(found) == 0:
		return fmt.Errorf("remove passkey: %s has no passkey %q (see `scanfree-server user passkeys %s`)", username, ref, username)
	case len(found) > 1:
		return fmt.Errorf("remove passkey: %s has %d passkeys called %q; name one by its id (see `scanfree-server user passkeys %s`)", username, len(found), ref, username)
	}
	p := found[0]
	return change(ctx, st, "remove passkey", username, func(u storage.User) error { return st.DeletePasskey(ctx, u.ID, p.ID) },
		"passkey_removed", fmt.Sprintf("passkey %q removed by %s", p.Name, operator), now)
}
