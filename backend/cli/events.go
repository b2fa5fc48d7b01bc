package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/backend/storage"
)

// eventsCmd lists the audit log: sign-ins, refusals and what operators
// and people changed.
func (a *app) eventsCmd() *cobra.Command {
	var username, kind string
	var limit int
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List the audit log, newest first: sign-ins, desktops enrolled and revoked, apps allowed and revoked, alerts",
		Args:  cobra.NoArgs,
		RunE: a.withExistingStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			userID := ""
			names := map[string]string{}
			if username != "" {
				u, err := st.GetUserByUsername(cmd.Context(), username)
				if errors.Is(err, storage.ErrNotFound) {
					return fmt.Errorf("no user %q; `scanfree-server user list` shows them", username)
				} else if err != nil {
					return err
				}
				userID, names[u.ID] = u.ID, u.Username
			} else {
				users, err := st.ListUsers(cmd.Context())
				if err != nil {
					return err
				}
				for _, u := range users {
					names[u.ID] = u.Username
				}
			}
			if limit < 1 || limit > 100000 {
				return fmt.Errorf("--limit %d: want 1 to 100000", limit)
			}
			events, err := st.ListEvents(cmd.Context(), userID, kind, limit)
			if err != nil {
				return err
			}
			type eventJSON struct {
				ID     int64     `json:"id"`
				At     time.Time `json:"at"`
				Kind   string    `json:"kind"`
				User   string    `json:"user"`
				AppID  string    `json:"appid,omitempty"`
				Device string    `json:"device,omitempty"`
				Detail string    `json:"detail"`
			}
			out := []eventJSON{}
			for _, e := range events {
				out = append(out, eventJSON{e.ID, e.CreatedAt, e.Kind, names[e.UserID], e.AppID, e.DeviceID, e.Detail})
			}
			return a.print(out, func(w io.Writer) {
				fmt.Fprintln(w, "WHEN\tKIND\tUSER\tAPP\tDETAIL")
				for _, e := range out {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", when(e.At), e.Kind, e.User, e.AppID, e.Detail)
				}
			})
		}),
	}
	cmd.Flags().StringVar(&username, "user", "", "only this person's events (a username)")
	cmd.Flags().StringVar(&kind, "kind", "", "only events of this kind: signin, login, code_reused, refresh_reused, device_enrolled, device_revoked, app_revoked, password_throttled, …")
	cmd.Flags().IntVar(&limit, "limit", 50, "how many, newest first")
	return cmd
}
