package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
)

// applyCmd makes the database match a declarative configuration.
func (a *app) applyCmd() *cobra.Command {
	var file string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or update apps, people (without passwords), roles and fences from a YAML file; twice changes nothing",
		Long: "Create or update apps, people (without passwords), roles and fences from a YAML file, idempotently; " +
			"--dry-run prints the changes and makes none. Secrets are never in the file: an app names secret_file or secret_env. " +
			"See README, \"Operate it\", for the format.",
		Args: cobra.NoArgs,
		RunE: a.withStore(func(cmd *cobra.Command, _ []string, st storage.Storage) error {
			b, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("apply: %w (pass the YAML file with -f)", err)
			}
			c, err := admin.ParseConfig(b)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			changes, err := admin.Apply(cmd.Context(), st, c, dryRun, operator(), time.Now())
			if changes == nil {
				changes = []admin.Change{}
			}
			if perr := a.print(changes, func(w io.Writer) {
				if len(changes) == 0 {
					fmt.Fprintln(w, "nothing to change")
				}
				for _, ch := range changes {
					fmt.Fprintf(w, "%s\t%s\t%s\n", ch.What, ch.Name, ch.Detail)
					if ch.Secret != "" {
						fmt.Fprintf(w, "\tsecret\t%s\t(shown only now)\n", ch.Secret)
					}
				}
				if dryRun && len(changes) > 0 {
					fmt.Fprintln(w, "\n(dry run: nothing was changed)")
				}
			}); perr != nil {
				return perr
			}
			return err
		}),
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the YAML configuration (required)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the changes, make none")
	cmd.MarkFlagRequired("file")
	return cmd
}
