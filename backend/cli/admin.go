package cli

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/secret"
)

func (a *app) appCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Register, list, edit, disable relying-party apps and rotate their secrets"}
	var spec admin.AppSpec
	var noFast, allowDuplicate bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Register an app; prints its appid and secret once",
		Args:  cobra.NoArgs,
		RunE: a.withStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			spec.FastLogin = !noFast
			spec.AllowDuplicateName, spec.Operator = allowDuplicate, operator()
			na, err := admin.CreateApp(cmd.Context(), st, spec, time.Now())
			if err != nil {
				return err
			}
			return a.print(na, func(w io.Writer) {
				if na.Secret == "" {
					fmt.Fprintf(w, "appid:\t%s\n", na.AppID)
					fmt.Fprintln(w, "\nA public app has no secret: it signs in with PKCE (S256) at /oauth2/authorize.")
					return
				}
				fmt.Fprintf(w, "appid:\t%s\nsecret:\t%s\n", na.AppID, na.Secret)
				fmt.Fprintln(w, "\nThe secret is shown only now; keep it on the relying party's server.")
			})
		}),
	}
	create.Flags().StringVar(&spec.Name, "name", "", "app name shown to users (required)")
	create.Flags().StringArrayVar(&spec.RedirectURIs, "redirect-uri", nil, "exact redirect URI (repeatable)")
	create.Flags().StringArrayVar(&spec.Domains, "domain", nil, "host whose https URLs may be redirect URIs (repeatable)")
	create.Flags().StringVar(&spec.IconURL, "icon", "", "icon URL")
	create.Flags().StringVar(&spec.Owner, "owner", "", "owner; apps of one owner share unionids (default: the app is its own owner)")
	create.Flags().BoolVar(&noFast, "no-fast-login", false, "allow QR login only, never scan-free")
	create.Flags().BoolVar(&allowDuplicate, "allow-duplicate-name", false, "register it even if an app of that name exists")
	create.Flags().BoolVar(&spec.Public, "public", false, "an OpenID Connect client that cannot keep a secret (native or single-page app): no secret, PKCE required")
	create.Flags().StringArrayVar(&spec.Fence.CIDRs, "allow-cidr", nil, "client range it may be signed in to from (repeatable; default anywhere)")
	create.Flags().StringArrayVar(&spec.Fence.Countries, "allow-country", nil, "country it may be signed in to from, ISO 3166 such as CN (repeatable; needs serve --geoip-db)")
	create.Flags().StringVar(&spec.IDTokenAlg, "id-token-alg", "RS256", "algorithm of the app's OpenID Connect id_tokens: RS256 or ES256")
	create.Flags().StringVar((*string)(&spec.Fence.PasswordSignin), "password-signin", "",
		"what a password alone does for it: on, second-factor (a passkey or authenticator code after it) or off (default: as the server, serve --password-signin)")
	create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List apps",
		Args:  cobra.NoArgs,
		RunE: a.withExistingStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			apps, err := st.ListApps(cmd.Context())
			if err != nil {
				return err
			}
			type appJSON struct {
				AppID        string   `json:"appid"`
				Name         string   `json:"name"`
				Owner        string   `json:"owner"`
				RedirectURIs []string `json:"redirect_uris"`
				Domains      []string `json:"domains"`
				FastLogin    bool     `json:"fast_login"`
				Public       bool     `json:"public"`
				IDTokenAlg   string   `json:"id_token_alg"`
				// PasswordSignin is the app's own password policy; empty, the server's.
				PasswordSignin string    `json:"password_signin"`
				CreatedAt      time.Time `json:"created_at"`
			}
			out := []appJSON{}
			for _, ap := range apps {
				out = append(out, appJSON{ap.AppID, ap.Name, ap.Owner, ap.RedirectURIs, ap.Domains, ap.FastLogin, ap.Public, cmp.Or(ap.IDTokenAlg, "RS256"), string(ap.Fence.PasswordSignin), ap.CreatedAt})
			}
			return a.print(out, func(w io.Writer) {
				fmt.Fprintln(w, "APPID\tNAME\tFAST LOGIN\tPASSWORD SIGN-IN\tREDIRECTS")
				for _, ap := range out {
					fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\n", ap.AppID, ap.Name, ap.FastLogin, cmp.Or(ap.PasswordSignin, "as the server"),
						strings.Join(append(ap.RedirectURIs, ap.Domains...), " "))
				}
			})
		}),
	}
	cmd.AddCommand(append([]*cobra.Command{create, list}, a.appChangeCmds()...)...)
	return cmd
}

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Create, list, disable and enable accounts, reset their passwords, set their roles"}
	var spec admin.UserSpec
	var pwStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an account; the password is read from stdin (asked twice, without echo, on a terminal)",
		Args:  cobra.NoArgs,
		RunE: a.withStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			pw, err := a.password(pwStdin)
			if err != nil {
				return err
			}
			spec.Password = pw
			if spec.Phone != "" {
				if spec.DataKey, err = a.dataKey(); err != nil {
					return fmt.Errorf("--data-key-file: %w", err)
				}
			}
			spec.Operator = operator()
			u, err := admin.CreateUser(cmd.Context(), st, spec, time.Now())
			if err != nil {
				return err
			}
			return a.print(map[string]string{"id": u.ID, "username": u.Username, "nickname": u.Nickname}, func(w io.Writer) {
				fmt.Fprintf(w, "created user %s (%s)\n", u.Username, u.Nickname)
			})
		}),
	}
	create.Flags().StringVar(&spec.Username, "username", "", "login name (required)")
	create.Flags().StringVar(&spec.Nickname, "nickname", "", "display name (required)")
	create.Flags().StringVar(&spec.AvatarURL, "avatar", "", "avatar image URL")
	create.Flags().StringVar(&spec.Phone, "phone", "", `verified phone number, "+86 13580006666"; stored sealed, given to a desktop app only after the person allows it`)
	create.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	create.MarkFlagRequired("username")
	create.MarkFlagRequired("nickname")

	list := &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: a.withExistingStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			users, err := st.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			type userJSON struct {
				ID         string    `json:"id"`
				Username   string    `json:"username"`
				Nickname   string    `json:"nickname"`
				Avatar     string    `json:"avatar"`
				CreatedAt  time.Time `json:"created_at"`
				Role       string    `json:"role,omitempty"`
				DisabledAt time.Time `json:"disabled_at,omitzero"`
			}
			out := []userJSON{}
			for _, u := range users {
				out = append(out, userJSON{u.ID, u.Username, u.Nickname, u.AvatarURL, u.CreatedAt, u.Role, u.DisabledAt})
			}
			return a.print(out, func(w io.Writer) {
				fmt.Fprintln(w, "USERNAME\tNICKNAME\tROLE\tCREATED\tSTATE")
				for _, u := range out {
					state := "active"
					if !u.DisabledAt.IsZero() {
						state = "disabled " + when(u.DisabledAt)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Nickname, cmp.Or(u.Role, "-"), when(u.CreatedAt), state)
				}
			})
		}),
	}
	cmd.AddCommand(append([]*cobra.Command{create, list}, a.peopleCmds()...)...)
	return cmd
}

func (a *app) deviceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "device", Short: "List, revoke and approve enrolled desktops"}
	var username string
	list := &cobra.Command{
		Use:   "list",
		Short: "List enrolled devices",
		Args:  cobra.NoArgs,
		RunE: a.withExistingStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			userID := ""
			names := map[string]string{}
			users, err := st.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			for _, u := range users {
				names[u.ID] = u.Username
				if u.Username == username {
					userID = u.ID
				}
			}
			if username != "" && userID == "" {
				return fmt.Errorf("no user %q (see `scanfree-server user list`)", username)
			}
			devices, err := st.ListDevices(cmd.Context(), userID)
			if err != nil {
				return err
			}
			type deviceJSON struct {
				ID         string    `json:"id"`
				User       string    `json:"user"`
				Name       string    `json:"name"`
				OS         string    `json:"os"`
				Active     bool      `json:"active"`
				CreatedAt  time.Time `json:"created_at"`
				LastSeenAt time.Time `json:"last_seen_at"`
			}
			out := []deviceJSON{}
			for _, d := range devices {
				out = append(out, deviceJSON{d.ID, names[d.UserID], d.Name, d.OS, d.Active(), d.CreatedAt, d.LastSeenAt})
			}
			return a.print(out, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tUSER\tNAME\tOS\tACTIVE\tLAST SEEN")
				for _, d := range out {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\n", d.ID, d.User, d.Name, d.OS, d.Active, when(d.LastSeenAt))
				}
			})
		}),
	}
	list.Flags().StringVar(&username, "user", "", "only this user's devices")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an enrolled device; its daemon falls back to signed out",
		Args:  cobra.ExactArgs(1),
		RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
			d, err := admin.RevokeDevice(cmd.Context(), st, args[0], time.Now())
			if err != nil {
				return err
			}
			return a.print(map[string]any{"id": d.ID, "revoked": !d.Active()}, func(w io.Writer) {
				fmt.Fprintf(w, "revoked device %s (%s)\n", d.ID, d.Name)
			})
		}),
	}

	var approveUser, code string
	approve := &cobra.Command{
		Use:   "approve",
		Short: "Approve a waiting device sign-in (user_code) for a user",
		Args:  cobra.NoArgs,
		RunE: a.withExistingStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			da, err := admin.ApproveDevice(cmd.Context(), st, approveUser, code, time.Now())
			if err != nil {
				return err
			}
			return a.print(map[string]string{"user_code": secret.FormatUserCode(da.UserCode), "device_name": da.DeviceName, "os": da.OS, "user": approveUser},
				func(w io.Writer) {
					fmt.Fprintf(w, "approved %s (%s) for %s; the desktop finishes signing in at its next poll\n", da.DeviceName, da.OS, approveUser)
				})
		}),
	}
	approve.Flags().StringVar(&approveUser, "user", "", "username to sign the device in as (required)")
	approve.Flags().StringVar(&code, "code", "", "the user code the desktop shows (required)")
	approve.MarkFlagRequired("user")
	approve.MarkFlagRequired("code")

	cmd.AddCommand(list, revoke, approve)
	return cmd
}
