package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

// app returns appID's app, with the fix for an unknown one.
func app(ctx context.Context, st storage.Storage, op, appID string) (storage.App, error) {
	a, err := st.GetApp(ctx, appID)
	if errors.Is(err, storage.ErrNotFound) {
		return a, fmt.Errorf("%s: no app %q (see `scanfree-server app list`)", op, appID)
	}
	return a, err
}

// AppEdit is what an operator changes of an app; a nil field is kept.
type AppEdit struct {
	Name, IconURL, Owner *string
	RedirectURIs         *[]string // replaces the list
	Domains              *[]string // replaces the list
	FastLogin            *bool
	IDTokenAlg           *string
	Fence                *storage.Fence // replaces the fence
}

// appEvent records a change operator made to a.
func appEvent(ctx context.Context, st storage.Storage, a storage.App, kind, detail, operator string, now time.Time) error {
	return st.AddEvent(ctx, storage.Event{Kind: kind, AppID: a.AppID, Detail: a.Name + " " + detail + " by " + operator, CreatedAt: now})
}

// EditApp applies e to appID, checked as app create checks a new app.
// An owner given as "" makes the app its own owner again.
func EditApp(ctx context.Context, st storage.Storage, appID string, e AppEdit, operator string, now time.Time) (storage.App, error) {
	a, err := app(ctx, st, "edit app", appID)
	if err != nil {
		return a, err
	}
	spec := AppSpec{Name: a.Name, IconURL: a.IconURL, Owner: a.Owner, RedirectURIs: a.RedirectURIs, Domains: a.Domains,
		FastLogin: a.FastLogin, Public: a.Public, IDTokenAlg: a.IDTokenAlg, Fence: a.Fence}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&spec.Name, e.Name)
	set(&spec.IconURL, e.IconURL)
	set(&spec.Owner, e.Owner)
	set(&spec.IDTokenAlg, e.IDTokenAlg)
	if e.RedirectURIs != nil {
		spec.RedirectURIs = *e.RedirectURIs
	}
	if e.Domains != nil {
		spec.Domains = append([]string(nil), *e.Domains...)
	}
	if e.FastLogin != nil {
		spec.FastLogin = *e.FastLogin
	}
	if e.Fence != nil {
		spec.Fence = storage.Fence{CIDRs: slices.Clone(e.Fence.CIDRs), Countries: slices.Clone(e.Fence.Countries), Groups: slices.Clone(e.Fence.Groups),
			PasswordSignin: e.Fence.PasswordSignin, Device: e.Fence.Device}
		spec.Fence.Device.MinOS = maps.Clone(e.Fence.Device.MinOS)
	}
	if err := spec.check("edit app"); err != nil {
		return a, err
	}
	if spec.Owner == "" {
		spec.Owner = storage.OwnOwner(a.AppID)
	}
	a.Name, a.IconURL, a.Owner, a.RedirectURIs, a.Domains = spec.Name, spec.IconURL, spec.Owner, spec.RedirectURIs, spec.Domains
	a.FastLogin, a.IDTokenAlg, a.Fence = spec.FastLogin, spec.IDTokenAlg, spec.Fence
	if err := st.UpdateApp(ctx, a); err != nil {
		return a, err
	}
	return a, appEvent(ctx, st, a, "app_edited", "edited (redirect URIs "+strings.Join(a.RedirectURIs, " ")+"; domains "+strings.Join(a.Domains, " ")+"; fence "+a.Fence.JSON()+")", operator, now)
}

// RotateSecret gives appID a new secret, shown once. The old one keeps
// working for grace (a relying party deploys the new one meanwhile),
// then stops; grace 0 stops it at once.
func RotateSecret(ctx context.Context, st storage.Storage, appID string, grace time.Duration, operator string, now time.Time) (NewApp, error) {
	a, err := app(ctx, st, "rotate secret", appID)
	if err != nil {
		return NewApp{}, err
	}
	if a.Public {
		return NewApp{}, fmt.Errorf("rotate secret: %s is a public app and has no secret", a.Name)
	}
	if grace < 0 || grace > 30*24*time.Hour {
		return NewApp{}, fmt.Errorf("rotate secret: --grace %v: want 0 to 720h", grace)
	}
	sec := secret.Code()
	a.OldSecretHash, a.OldSecretUntil, a.SecretHash = a.SecretHash, now.Add(grace), secret.Hash(sec)
	if err := st.UpdateApp(ctx, a); err != nil {
		return NewApp{}, err
	}
	detail := "secret rotated; the old one works until " + a.OldSecretUntil.UTC().Format(time.RFC3339)
	return NewApp{AppID: a.AppID, Secret: sec, Name: a.Name}, appEvent(ctx, st, a, "app_secret_rotated", detail, operator, now)
}

// SetAppDisabled disables appID (no sign-in to it; its relying party can
// neither exchange, refresh nor read userinfo) or enables it again.
func SetAppDisabled(ctx context.Context, st storage.Storage, appID string, disabled bool, operator string, now time.Time) (storage.App, error) {
	a, err := app(ctx, st, "disable app", appID)
	if err != nil {
		return a, err
	}
	a.DisabledAt = time.Time{}
	kind, detail := "app_enabled", "enabled"
	if disabled {
		a.DisabledAt = now
		kind, detail = "app_disabled", "disabled"
	}
	if err := st.UpdateApp(ctx, a); err != nil {
		return a, err
	}
	return a, appEvent(ctx, st, a, kind, detail, operator, now)
}

// DeleteApp deletes appID: its codes, tokens and sign-ins stop working at
// once, and people's grants and consents to it go. Its audit events stay.
func DeleteApp(ctx context.Context, st storage.Storage, appID, operator string, now time.Time) error {
	a, err := app(ctx, st, "delete app", appID)
	if err != nil {
		return err
	}
	if err := st.DeleteApp(ctx, appID); err != nil {
		return fmt.Errorf("delete app: %w", err)
	}
	return appEvent(ctx, st, a, "app_deleted", "deleted; its codes, tokens and grants went with it", operator, now)
}
