package cli

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/server"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
)

// operator names who ran a command, for the audit log.
func operator() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return "an operator (scanfree-server CLI, as " + name + ")"
}

// peopleCmds are the user subcommands that change an account: role,
// disable, enable, unlock. Each is an audit event naming the operator.
func (a *app) peopleCmds() []*cobra.Command {
	type action struct {
		use, short string
		args       int
		run        func(ctx context.Context, st storage.Storage, args []string) (string, error)
	}
	var cmds []*cobra.Command
	for _, ac := range []action{
		{"role USERNAME admin|auditor|none", "Set what a person may do to the service: admin (everything), auditor (reads), none", 2,
			func(ctx context.Context, st storage.Storage, args []string) (string, error) {
				return fmt.Sprintf("%s's role is now %s", args[0], args[1]), admin.SetRole(ctx, st, args[0], args[1], operator(), time.Now())
			}},
		{"disable USERNAME", "Offboard a person at once: no sign-in, and every desktop, token, session and pending code revoked", 1,
			func(ctx context.Context, st storage.Storage, args []string) (string, error) {
				return fmt.Sprintf("%s is disabled; every desktop, sign-in and session of theirs ended", args[0]),
					admin.DisableUser(ctx, st, args[0], operator(), time.Now())
			}},
		{"enable USERNAME", "Let a disabled person sign in again (what was revoked stays revoked)", 1,
			func(ctx context.Context, st storage.Storage, args []string) (string, error) {
				return fmt.Sprintf("%s may sign in again", args[0]), admin.EnableUser(ctx, st, args[0], operator(), time.Now())
			}},
		{"signout USERNAME", "Sign a person out everywhere: every desktop, token and session ended; she may sign in again", 1,
			func(ctx context.Context, st storage.Storage, args []string) (string, error) {
				return fmt.Sprintf("%s is signed out everywhere", args[0]), admin.SignOutEverywhere(ctx, st, args[0], operator(), time.Now())
			}},
		{"link USERNAME CONNECTOR-ID SUBJECT", "Link an account to a person's stable id in a connector's directory (LDAP entryUUID, AD objectGUID, OIDC sub): signing in there is signing in as her", 3,
			func(ctx context.Context, st storage.Storage, args []string) (string, error) {
				if err := a.knownConnector(args[1]); err != nil {
					return "", err
				}
				return fmt.Sprintf("%s is linked to %s %s", args[0], args[1], args[2]), admin.LinkUser(ctx, st, args[0], args[1], args[2], operator(), time.Now())
			}},
		{"remove-authenticator USERNAME", "Remove a person's authenticator app and recovery codes (she lost both); she sets one up again from her account page", 1,
			func(ctx context.Context, st storage.Storage, args []string) (string, error) {
				return fmt.Sprintf("%s's authenticator app is removed; her password alone signs her in", args[0]),
					admin.RemoveTOTP(ctx, st, args[0], operator(), time.Now())
			}},
		{"remove-passkey USERNAME NAME|ID", "Remove one of a person's passkeys (a lost phone or laptop); see `user passkeys`", 2,
			func(ctx context.Context, st storage.Storage, args []string) (string, error) {
				return fmt.Sprintf("%s's passkey %s is removed; it signs nobody in", args[0], args[1]),
					admin.RemovePasskey(ctx, st, args[0], args[1], operator(), time.Now())
			}},
		{"unlock USERNAME", "Forget a person's wrong passwords: their password sign-ins stop waiting", 1,
			func(ctx context.Context, st storage.Storage, args []string) (string, error) {
				return fmt.Sprintf("%s's wrong passwords are forgotten", args[0]), admin.Unlock(ctx, st, args[0], operator(), time.Now())
			}},
	} {
		cmds = append(cmds, &cobra.Command{
			Use:   ac.use,
			Short: ac.short,
			Args:  cobra.ExactArgs(ac.args),
			RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
				msg, err := ac.run(cmd.Context(), st, args)
				if err != nil {
					return err
				}
				return a.print(map[string]string{"result": msg}, func(w io.Writer) { fmt.Fprintln(w, msg) })
			}),
		})
	}
	cmds = append(cmds, &cobra.Command{
		Use:   "passkeys USERNAME",
		Short: "List a person's passkeys: name, id, kind, when added and last used",
		Args:  cobra.ExactArgs(1),
		RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
			pks, err := admin.Passkeys(cmd.Context(), st, args[0])
			if err != nil {
				return err
			}
			type row struct {
				Name     string    `json:"name"`
				ID       string    `json:"id"`
				Synced   bool      `json:"synced"`
				Added    time.Time `json:"added"`
				LastUsed time.Time `json:"last_used,omitzero"`
			}
			rows := make([]row, 0, len(pks))
			for _, p := range pks {
				rows = append(rows, row{p.Name, admin.PasskeyRef(p.ID), p.BackupEligible, p.CreatedAt, p.LastUsedAt})
			}
			return a.print(rows, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tID\tKIND\tADDED\tLAST USED")
				for _, r := range rows {
					kind, last := "device-bound", "never"
					if r.Synced {
						kind = "synced"
					}
					if !r.LastUsed.IsZero() {
						last = r.LastUsed.Local().Format(time.DateTime)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.ID, kind, r.Added.Local().Format(time.DateTime), last)
				}
			})
		}),
	})
	var nick, avatar string
	edit := &cobra.Command{
		Use:   "edit USERNAME --nickname N [--avatar URL]",
		Short: "Change a person's name and picture",
		Args:  cobra.ExactArgs(1),
		RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
			u, err := st.GetUserByUsername(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("edit user: no user %q (see `scanfree-server user list`)", args[0])
			}
			if !cmd.Flags().Changed("nickname") {
				nick = u.Nickname
			}
			if !cmd.Flags().Changed("avatar") {
				avatar = u.AvatarURL
			}
			if err := admin.SetProfile(cmd.Context(), st, args[0], nick, avatar, operator(), time.Now()); err != nil {
				return err
			}
			msg := fmt.Sprintf("%s is now %s", args[0], nick)
			return a.print(map[string]string{"result": msg}, func(w io.Writer) { fmt.Fprintln(w, msg) })
		}),
	}
	edit.Flags().StringVar(&nick, "nickname", "", "the name people see")
	edit.Flags().StringVar(&avatar, "avatar", "", "picture URL (\"\" removes it)")
	cmds = append(cmds, edit)
	cmds = append(cmds, a.deleteCmd("USERNAME", "Delete a person: her desktops, tokens, sessions, consents and phone number go; her audit events stay",
		func(ctx context.Context, st storage.Storage, username string) (string, error) {
			return fmt.Sprintf("%s is deleted", username), admin.DeleteUser(ctx, st, username, operator(), time.Now())
		}))
	return append(cmds, a.resetPasswordCmd())
}

// resetPasswordCmd sets a person's password, read as user create reads it.
func (a *app) resetPasswordCmd() *cobra.Command {
	var pwStdin, link bool
	var public string
	cmd := &cobra.Command{
		Use:   "reset-password USERNAME [--password-stdin | --link]",
		Short: "Give a person a new password (from stdin; asked twice on a terminal) or a one-time link to set one; every desktop, token and session she has ends",
		Args:  cobra.ExactArgs(1),
		RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
			if link {
				if err := server.CheckPublicURL(public); err != nil {
					return fmt.Errorf("%w (set --public-url to the server's)", err)
				}
				tok, err := admin.ResetLink(cmd.Context(), st, args[0], operator(), time.Now())
				if err != nil {
					return err
				}
				u := strings.TrimSuffix(public, "/") + "/reset/" + tok
				return a.print(map[string]string{"link": u}, func(w io.Writer) {
					fmt.Fprintf(w, "%s\n\nGive %s this one-time link (valid 24 hours; shown only now). Setting a password with it ends every sign-in of hers.\n", u, args[0])
				})
			}
			pw, err := a.password(pwStdin)
			if err != nil {
				return err
			}
			if err := admin.ResetPassword(cmd.Context(), st, args[0], pw, operator(), time.Now()); err != nil {
				return err
			}
			msg := fmt.Sprintf("%s has a new password and is signed out everywhere", args[0])
			return a.print(map[string]string{"result": msg}, func(w io.Writer) { fmt.Fprintln(w, msg) })
		}),
	}
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&link, "link", false, "print a one-time link (24 h) with which she sets a password herself")
	cmd.Flags().StringVar(&public, "public-url", "http://idp.localhost:8080", "the server's public URL, for --link")
	cmd.MarkFlagsMutuallyExclusive("password-stdin", "link")
	return cmd
}

// deleteCmd is a "delete ARG" command, which cannot be undone and so asks
// for --yes.
func (a *app) deleteCmd(arg, short string, run func(ctx context.Context, st storage.Storage, arg string) (string, error)) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete " + arg,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
			if !yes {
				return fmt.Errorf("deleting %s cannot be undone; pass --yes to delete it (or disable it instead)", args[0])
			}
			msg, err := run(cmd.Context(), st, args[0])
			if err != nil {
				return err
			}
			return a.print(map[string]string{"result": msg}, func(w io.Writer) { fmt.Fprintln(w, msg) })
		}),
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "delete it: this cannot be undone")
	return cmd
}
