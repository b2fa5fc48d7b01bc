package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
)

// sessionCmd lists and ends the ways a person is signed in.
func (a *app) sessionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "session", Short: "List and end a person's web sessions, sign-ins to apps and desktops"}
	list := &cobra.Command{
		Use:   "list USERNAME",
		Short: "List a person's web sessions, sign-ins to apps (token families) and desktops",
		Args:  cobra.ExactArgs(1),
		RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
			ses, err := admin.Sessions(cmd.Context(), st, args[0], time.Now())
			if err != nil {
				return err
			}
			if ses == nil {
				ses = []admin.Session{}
			}
			return a.print(ses, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tKIND\tWHAT\tDESKTOP\tSTARTED\tENDED")
				for _, s := range ses {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Kind, s.What, s.Device, when(s.Started), when(s.Ended))
				}
			})
		}),
	}
	revoke := &cobra.Command{
		Use:   "revoke USERNAME ID|all",
		Short: "End one session (an ID `session list` prints) or all of them (sign out everywhere)",
		Args:  cobra.ExactArgs(2),
		RunE: a.withExistingStore(func(cmd *cobra.Command, args []string, st storage.Storage) error {
			if err := admin.EndSession(cmd.Context(), st, args[0], args[1], operator(), time.Now()); err != nil {
				return err
			}
			msg := fmt.Sprintf("%s of %s ended", args[1], args[0])
			return a.print(map[string]string{"result": msg}, func(w io.Writer) { fmt.Fprintln(w, msg) })
		}),
	}
	cmd.AddCommand(list, revoke)
	return cmd
}
