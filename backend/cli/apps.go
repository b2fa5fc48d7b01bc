package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
)

// appChangeCmds are the app subcommands that change a registered app:
// edit, rotate-secret, disable, enable.
func (a *app) appChangeCmds() []*cobra.Command {
	var name, icon, owner, alg, passwordSignin, requireKey, minOS string
	var uris, domains, cidrs, countries, groups []string
	var fast, requireDisk bool
	edit := &cobra.Command{
		Use:   "edit APPID",
		Short: "Change an app's name, icon, owner, redirect URIs, domains, scan-free login, id_token algorithm, fence or device policy (only the flags given)",
		Args:  cobra.ExactArgs(1),
		RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
			var e admin.AppEdit
			f := cmd.Flags()
			if f.Changed("name") {
				e.Name = &name
			}
			if f.Changed("icon") {
				e.IconURL = &icon
			}
			if f.Changed("owner") {
				e.Owner = &owner
			}
			if f.Changed("redirect-uri") {
				e.RedirectURIs = &uris
			}
			if f.Changed("domain") {
				e.Domains = &domains
			}
			if f.Changed("fast-login") {
				e.FastLogin = &fast
			}
			if f.Changed("id-token-alg") {
				e.IDTokenAlg = &alg
			}
			if f.Changed("allow-cidr") || f.Changed("allow-country") || f.Changed("require-group") || f.Changed("password-signin") ||
				f.Changed("require-key") || f.Changed("require-disk-encryption") || f.Changed("min-os") {
				app, err := st.GetApp(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("edit app: no app %q (see `scanfree-server app list`)", args[0])
				}
				fence := app.Fence
				if f.Changed("allow-cidr") {
					fence.CIDRs = nonEmpty(cidrs)
				}
				if f.Changed("allow-country") {
					fence.Countries = nonEmpty(countries)
				}
				if f.Changed("require-group") {
					fence.Groups = nonEmpty(groups)
				}
				if f.Changed("password-signin") {
					fence.PasswordSignin = storage.PasswordPolicy(passwordSignin)
				}
				if f.Changed("require-key") {
					fence.Device.RequireKey = requireKey
				}
				if f.Changed("require-disk-encryption") {
					fence.Device.RequireDiskEncryption = requireDisk
				}
				if f.Changed("min-os") {
					if fence.Device.MinOS, err = admin.ParseMinOS(minOS); err != nil {
						return fmt.Errorf("edit app: %w", err)
					}
				}
				e.Fence = &fence
			}
			app, err := admin.EditApp(cmd.Context(), st, args[0], e, operator(), time.Now())
			if err != nil {
				return err
			}
			return a.print(map[string]any{"appid": app.AppID, "name": app.Name, "redirect_uris": app.RedirectURIs, "domains": app.Domains},
				func(w io.Writer) { fmt.Fprintf(w, "%s (%s) updated\n", app.Name, app.AppID) })
		}),
	}
	edit.Flags().StringArrayVar(&cidrs, "allow-cidr", nil, `client range it may be signed in to from (repeatable; replaces the list; "" lifts it)`)
	edit.Flags().StringArrayVar(&countries, "allow-country", nil, `country it may be signed in to from, ISO 3166 (repeatable; replaces the list; "" lifts it; needs serve --geoip-db)`)
	edit.Flags().StringArrayVar(&groups, "require-group", nil, `directory group a person must be in to sign in to it (repeatable: any of them; replaces the list; "" lifts it)`)
	edit.Flags().StringVar(&passwordSignin, "password-signin", "", `what a password alone does for it: on, second-factor or off ("" follows the server's)`)
	edit.Flags().StringVar(&requireKey, "require-key", "", `least protection of a desktop's key for signing in through it: tpm, platform (a TPM or the OS's key store) or software (any proven key) ("" lifts it)`)
	edit.Flags().BoolVar(&requireDisk, "require-disk-encryption", false, "sign in through a desktop only when its system disk is encrypted")
	edit.Flags().StringVar(&minOS, "min-os", "", `lowest OS version of a desktop to sign in through, such as linux:6.1,windows:10.0.19045,darwin:14 ("" lifts it)`)
	edit.Flags().StringVar(&name, "name", "", "app name shown to users")
	edit.Flags().StringVar(&icon, "icon", "", "icon URL")
	edit.Flags().StringVar(&owner, "owner", "", `owner ("" makes the app its own owner again)`)
	edit.Flags().StringArrayVar(&uris, "redirect-uri", nil, "exact redirect URI (repeatable; replaces the list)")
	edit.Flags().StringArrayVar(&domains, "domain", nil, "host whose URLs may be redirect URIs (repeatable; replaces the list)")
	edit.Flags().BoolVar(&fast, "fast-login", true, "allow scan-free login (false: QR only)")
	edit.Flags().StringVar(&alg, "id-token-alg", "", "RS256 or ES256")

	var grace time.Duration
	rotate := &cobra.Command{
		Use:   "rotate-secret APPID",
		Short: "Give an app a new secret, shown once; the old one works for --grace, then stops",
		Args:  cobra.ExactArgs(1),
		RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
			na, err := admin.RotateSecret(cmd.Context(), st, args[0], grace, operator(), time.Now())
			if err != nil {
				return err
			}
			return a.print(na, func(w io.Writer) {
				fmt.Fprintf(w, "appid:\t%s\nsecret:\t%s\n", na.AppID, na.Secret)
				fmt.Fprintf(w, "\nThe secret is shown only now. The old one keeps working for %v: deploy the new one before then.\n", grace)
			})
		}),
	}
	rotate.Flags().DurationVar(&grace, "grace", 24*time.Hour, "how long the old secret keeps working (0: it stops now)")

	toggle := func(use, short string, disabled bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " APPID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
				app, err := admin.SetAppDisabled(cmd.Context(), st, args[0], disabled, operator(), time.Now())
				if err != nil {
					return err
				}
				state := map[bool]string{true: "disabled: no sign-in, exchange, refresh or userinfo for it", false: "enabled"}[disabled]
				return a.print(map[string]string{"appid": app.AppID, "state": state},
					func(w io.Writer) { fmt.Fprintf(w, "%s (%s) is %s\n", app.Name, app.AppID, state) })
			}),
		}
	}
	del := a.deleteCmd("APPID", "Delete an app: its codes and tokens stop working, people's grants and consents to it go; its audit events stay",
		func(ctx context.Context, st storage.Storage, appID string) (string, error) {
			return fmt.Sprintf("%s is deleted", appID), admin.DeleteApp(ctx, st, appID, operator(), time.Now())
		})
	return []*cobra.Command{edit, rotate, del,
		toggle("disable", "Stop an app: nobody can sign in to it, and its server can exchange, refresh and read nothing", true),
		toggle("enable", "Let a disabled app be used again", false)}
}

// nonEmpty drops empty values: `--allow-cidr ""` lifts a fence.
func nonEmpty(v []string) []string {
	var out []string
	for _, s := range v {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
