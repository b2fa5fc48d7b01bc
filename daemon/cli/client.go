package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"rsc.io/qr"

	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/daemon/idp"
)

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show whether this desktop is signed in, paused, locked, and what is pending",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.client().Status(cmd.Context())
			if err != nil {
				return err
			}
			return a.print(st, func(w io.Writer) { printStatus(w, st) })
		},
	}
}

func printStatus(w io.Writer, st control.Status) {
	switch {
	case st.SignedIn && st.Account != nil:
		fmt.Fprintf(w, "signed in:  %s (%s) on %s\n", st.Account.Nickname, st.Account.Username, st.Account.DeviceName)
	case st.SignedIn:
		fmt.Fprintln(w, "signed in:  yes")
	default:
		fmt.Fprintln(w, "signed in:  no (run `scanfreed login`)")
	}
	switch {
	case st.Paused && !st.PausedUntil.IsZero():
		fmt.Fprintf(w, "paused:     until %s (`scanfreed resume` ends it)\n", st.PausedUntil.Local().Format(time.Kitchen))
	case st.Paused:
		fmt.Fprintln(w, "paused:     yes (`scanfreed resume` ends it)")
	default:
		fmt.Fprintln(w, "paused:     no")
	}
	fmt.Fprintf(w, "screen:     %s", st.Lock)
	if st.LockDetail != "" {
		fmt.Fprintf(w, " (%s)", st.LockDetail)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "ready:      %v\n", st.Ready)
	fmt.Fprintf(w, "listening:  https://%s:%d (%s)\n", st.Domain, st.Port, strings.Join(st.Listen, ", "))
	fmt.Fprintf(w, "backend:    %s\n", st.Backend)
	switch {
	case st.KeyProblem != "":
		fmt.Fprintf(w, "key:        unusable: %s\n", st.KeyProblem)
	case st.KeyProtection == "software" && st.KeyInKeychain:
		fmt.Fprintln(w, "key:        software, in the login keychain (the Secure Enclave needs a signed app): a copy of the state dir carries no key, but programs running as you can read it")
	case st.KeyProtection == "software":
		fmt.Fprintf(w, "key:        software (%s in the state dir: proves this desktop with every call; a copy of that folder works elsewhere)\n", "dpop-key.pem")
		if st.KeychainSkipped != "" {
			fmt.Fprintf(w, "            the login keychain did not take it (%s)\n", st.KeychainSkipped)
		}
		if st.TPMSkipped != "" {
			fmt.Fprintf(w, "            this computer's TPM was not usable (%s): to use it, let your user open it (on Linux, the tss group), then `scanfreed logout` and `scanfreed login`\n", st.TPMSkipped)
		}
	case st.KeyProtection == "tpm" && st.KeyVerified == "tpm":
		fmt.Fprintln(w, "key:        tpm (held by this computer's TPM, which the backend verified; a copy of the state dir works nowhere else)")
	case st.KeyProtection == "tpm":
		fmt.Fprintln(w, "key:        tpm (held by this computer's TPM; the backend has not verified it and records it as software)")
	case st.KeyProtection == "platform" && st.KeyVerified == "tpm":
		fmt.Fprintln(w, "key:        platform (held by Windows' Platform Crypto Provider in this computer's TPM, which the backend verified; a copy of the state dir works nowhere else)")
	case st.KeyProtection == "platform":
		fmt.Fprintln(w, "key:        platform (held by Windows' Platform Crypto Provider, not exportable; the backend has not verified it and records it as software)")
	}
	for i, p := range st.Posture {
		label := "posture:   "
		if i > 0 {
			label = "           "
		}
		fmt.Fprintf(w, "%s %s: %s", label, p.Name, p.Value)
		if p.How != "" {
			fmt.Fprintf(w, " (%s)", p.How)
		}
		fmt.Fprintln(w)
	}
	for _, pw := range st.PolicyWarnings {
		fmt.Fprintf(w, "warning:    %s\n", pw)
	}
	if st.PostureProblem != "" {
		fmt.Fprintf(w, "            not reported: %s\n", st.PostureProblem)
	}
	if !st.CertExpires.IsZero() {
		fmt.Fprintf(w, "cert until: %s\n", st.CertExpires.Format(time.DateOnly))
	}
	if st.Login != nil && st.Login.InProgress {
		fmt.Fprintf(w, "signing in: open %s and enter %s\n", st.Login.VerificationURI, st.Login.UserCode)
	} else if st.Login != nil && st.Login.Error != "" {
		fmt.Fprintf(w, "last sign-in failed: %s\n", st.Login.Error)
	}
	for _, r := range st.Pending {
		fmt.Fprintf(w, "pending:    %s  %s for %s (from %s) — `scanfreed approve %s` or `scanfreed deny %s`\n", r.ID, r.AppName, r.Account, r.Origin, r.ID, r.ID)
	}
}

func (a *app) pauseCmd() *cobra.Command {
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "pause",
		Short: "Send every page to the QR code until resumed (or for --for)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.client().Pause(cmd.Context(), dur)
			if err != nil {
				return err
			}
			return a.print(st, func(w io.Writer) {
				if dur > 0 {
					fmt.Fprintf(w, "paused until %s\n", st.PausedUntil.Local().Format(time.Kitchen))
				} else {
					fmt.Fprintln(w, "paused until `scanfreed resume`")
				}
			})
		},
	}
	cmd.Flags().DurationVar(&dur, "for", 0, "pause for this long, e.g. 1h")
	return cmd
}

func (a *app) resumeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "resume",
		Short: "End a pause",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.client().Resume(cmd.Context())
			if err != nil {
				return err
			}
			return a.print(st, func(w io.Writer) { fmt.Fprintln(w, "resumed") })
		},
	}
}

func (a *app) loginCmd() *cobra.Command {
	var noWait bool
	var backend string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign this desktop in: approve the shown code on the web",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c := a.client()
			if backend != "" {
				if err := a.switchBackend(ctx, c, backend); err != nil {
					return err
				}
			}
			l, err := c.Login(ctx)
			if err != nil {
				return err
			}
			if noWait {
				return a.print(map[string]string{"verification_uri_complete": l.VerificationURIComplete, "user_code": l.UserCode},
					func(w io.Writer) {
						fmt.Fprintf(w, "open %s and check the code %s\n", l.VerificationURIComplete, l.UserCode)
					})
			}
			fmt.Fprintf(a.stdout, "To sign this desktop in, open\n\n    %s\n\nand check that it shows the code  %s\n\n", l.VerificationURIComplete, l.UserCode)
			if code, err := qr.Encode(l.VerificationURIComplete, qr.M); err == nil {
				printQR(a.stdout, code)
			}
			fmt.Fprintln(a.stdout, "Waiting for approval (Ctrl-C stops waiting; the code stays valid until it expires)…")
			return a.waitSignedIn(ctx, c, time.Until(l.ExpiresAt))
		},
	}
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "print the URL and code and return")
	cmd.Flags().StringVar(&backend, "backend", "", "sign in at this identity service (your organisation's), and remember it in config.yaml")
	return cmd
}

// switchBackend points the signed-out daemon at backend and remembers it
// in the user's config.yaml, unless the machine's configuration sets it.
func (a *app) switchBackend(ctx context.Context, c *control.Client, backend string) error {
	opts := a.configOptions()
	if v, set, err := opts.MachineSets("backend_url"); err != nil {
		return err
	} else if set && v != backend {
		return fmt.Errorf("this computer's administrator set backend_url to %s in %s; it cannot be changed here", v, opts.Machine)
	}
	if _, err := idp.ParseBackendURL(backend); err != nil {
		return err
	}
	if _, err := c.SetBackend(ctx, backend); err != nil {
		return err
	}
	if err := opts.Remember("backend_url", backend); err != nil {
		return fmt.Errorf("the daemon signs in at %s now, but the next start will not: %w", backend, err)
	}
	if env := opts.EnvName("backend_url"); os.Getenv(env) != "" {
		fmt.Fprintf(a.stderr, "note: %s is set, and wins over %s when the daemon starts again\n", env, opts.File)
	}
	return nil
}

// waitSignedIn follows the event stream until the enrolment ends.
func (a *app) waitSignedIn(ctx context.Context, c *control.Client, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit+10*time.Second)
	defer cancel()
	events, err := c.Events(ctx)
	if err != nil {
		return err
	}
	for e := range events {
		st := e.Status
		switch {
		case st.SignedIn:
			name := "your account"
			if st.Account != nil {
				name = st.Account.Nickname
			}
			fmt.Fprintf(a.stdout, "Signed in as %s.\n", name)
			return nil
		case st.Login != nil && st.Login.Error != "":
			return fmt.Errorf("sign-in failed: %s; run `scanfreed login` to try again", st.Login.Error)
		}
	}
	if ctx.Err() != nil {
		return errors.New("stopped waiting; the sign-in may still complete (see `scanfreed status`)")
	}
	return errors.New("the daemon went away while waiting")
}

// printQR draws code with half blocks, two modules per character row.
func printQR(w io.Writer, code *qr.Code) {
	const quiet = 2
	n := code.Size
	black := func(x, y int) bool { return x >= 0 && y >= 0 && x < n && y < n && code.Black(x, y) }
	for y := -quiet; y < n+quiet; y += 2 {
		var b strings.Builder
		b.WriteString("    ")
		for x := -quiet; x < n+quiet; x++ {
			top, bottom := black(x, y), black(x, y+1)
			switch {
			case top && bottom:
				b.WriteString(" ")
			case top:
				b.WriteString("▄")
			case bottom:
				b.WriteString("▀")
			default:
				b.WriteString("█")
			}
		}
		fmt.Fprintln(w, b.String())
	}
	fmt.Fprintln(w)
}

func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Sign this desktop out and forget its credential",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.client().Logout(cmd.Context())
			if err != nil {
				return err
			}
			return a.print(st, func(w io.Writer) { fmt.Fprintln(w, "signed out") })
		},
	}
}

func (a *app) pendingCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pending",
		Short: "List sign-ins waiting for confirmation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reqs, err := a.client().Pending(cmd.Context())
			if err != nil {
				return err
			}
			return a.print(reqs, func(w io.Writer) {
				if len(reqs) == 0 {
					fmt.Fprintln(w, "nothing pending")
				}
				for _, r := range reqs {
					fmt.Fprintf(w, "%s  sign in to %s as %s\n    requested by %s, code goes to %s, scope %s, expires %s\n",
						r.ID, r.AppName, r.Account, r.Origin, r.RedirectHost, r.Scope, r.Expires.Local().Format(time.TimeOnly))
				}
			})
		},
	}
}

func (a *app) answerCmd(verb string, allow bool) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " ID|URL",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a pending sign-in (see `scanfreed pending`), or a QR login by its URL",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			if strings.Contains(args[0], "/x/") {
				app, err := c.AnswerQR(cmd.Context(), args[0], allow)
				if err != nil {
					return err
				}
				return a.print(map[string]string{"app_name": app}, func(w io.Writer) {
					if allow {
						fmt.Fprintf(w, "signed in to %s on the computer showing the QR code\n", app)
					} else {
						fmt.Fprintf(w, "cancelled the QR sign-in to %s\n", app)
					}
				})
			}
			var err error
			if allow {
				err = c.Approve(cmd.Context(), args[0])
			} else {
				err = c.Deny(cmd.Context(), args[0])
			}
			if err != nil {
				return err
			}
			done := map[bool]string{true: "approved", false: "denied"}[allow]
			return a.print(map[string]bool{"ok": true}, func(w io.Writer) { fmt.Fprintf(w, "%s %s\n", done, args[0]) })
		},
	}
}

func (a *app) recentCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "recent",
		Short: "List recent sign-ins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := a.client().Recent(cmd.Context())
			if err != nil {
				return err
			}
			return a.print(r, func(w io.Writer) {
				for _, s := range r {
					fmt.Fprintf(w, "%s  %s as %s (from %s)\n", s.At.Local().Format(time.DateTime), s.AppName, s.Account, s.Origin)
				}
			})
		},
	}
}
