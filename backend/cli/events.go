package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
)

// eventsCmd lists the sign-in log and the audit log: sign-ins, refusals
// and what operators and people changed, with the console's filters.
func (a *app) eventsCmd() *cobra.Command {
	var f admin.LogFilter
	var asCSV bool
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List the sign-in and audit log, newest first: sign-ins and refusals, desktops, apps, operators' changes",
		Long: "List the sign-in and audit log, newest first, with the operator console's filters. " +
			"A listing that fills --limit ends with the cursor to pass as --before for the next page.",
		Args: cobra.NoArgs,
		RunE: a.withExistingStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			if f.Limit < 1 {
				return fmt.Errorf("--limit %d: want 1 to %d", f.Limit, admin.MaxLogPage)
			}
			q, err := f.Query(cmd.Context(), st, time.Now())
			if err != nil {
				return err
			}
			events, err := st.QueryEvents(cmd.Context(), q)
			if err != nil {
				return err
			}
			out, err := admin.Entries(cmd.Context(), st, events)
			if err != nil {
				return err
			}
			if asCSV {
				return admin.WriteCSV(a.stdout, out)
			}
			return a.print(out, func(w io.Writer) {
				fmt.Fprintln(w, "WHEN\tKIND\tUSER\tAPP\tHOW\tFROM\tRESULT\tDETAIL")
				for _, e := range out {
					result := e.Result
					if e.Reason != "" {
						result += ": " + e.Reason
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", when(e.At), e.Kind, e.User, e.AppID, e.Method, e.Addr, result, e.Detail)
				}
				if len(out) == f.Limit {
					fmt.Fprintf(w, "\nmore: --before %s\n", out[len(out)-1].Cursor)
				}
			})
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.User, "user", "", "only this person's events (a username)")
	fl.StringVar(&f.App, "app", "", "only this app's events (an appid)")
	fl.StringVar(&f.Desktop, "desktop", "", "only this desktop's events (its id, see `device list`)")
	fl.StringVar(&f.Addr, "addr", "", "only events from this client address or CIDR range (192.0.2.0/24)")
	fl.StringVar(&f.Result, "result", "", "only sign-ins with this result: ok or refused")
	fl.StringVar(&f.Method, "method", "", "only sign-ins by this method: scanfree, qr, password, desktop_app, device_approval, upstream")
	fl.StringVar(&f.Kind, "kind", "", "only events of these kinds, comma-separated: signin, signin_refused, login, device_revoked, user_disabled, …")
	fl.StringVar(&f.Since, "since", "", "only events at or after this time: 2026-12-01, 2026-12-01T15:04, or a duration back from now (24h)")
	fl.StringVar(&f.Until, "until", "", "only events before this time, as --since takes it")
	fl.StringVar(&f.Before, "before", "", "continue after the event with this cursor (a listing that fills --limit prints it)")
	fl.IntVar(&f.Limit, "limit", 50, "how many, newest first")
	fl.BoolVar(&asCSV, "csv", false, "write CSV (the console's export) instead of a table")
	return cmd
}
