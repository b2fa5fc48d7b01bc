// Package cli is the command line of scanfreed, the per-user daemon.
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/version"
)

type app struct {
	stateDir   string
	socket     string
	configFile string
	asJSON     bool
	stdout     io.Writer
	stderr     io.Writer
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "scanfreed",
		Short: "scanfree's per-user daemon: scan-free web login on this desktop",
		Long: "scanfree's per-user daemon: scan-free web login on this desktop.\n\nEvery setting is a flag, an environment variable SCANFREE_<KEY> and a key of config.yaml\n" +
			"(--config, default <user config dir>/scanfree/config.yaml), in that order of precedence.",
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           version.String(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.applyConfig(cmd) },
	}
	root.SetVersionTemplate("scanfreed {{.Version}}\n")
	root.PersistentFlags().StringVar(&a.stateDir, "state-dir", control.DefaultStateDir(), "directory for keys, certificates and the control socket (state_dir)")
	root.PersistentFlags().StringVar(&a.socket, "socket", "", "control socket (socket; default <state-dir>/"+control.SocketName+")")
	root.PersistentFlags().StringVar(&a.configFile, "config", "", "config file (default <user config dir>/scanfree/config.yaml)")
	root.PersistentFlags().BoolVar(&a.asJSON, "json", false, "print JSON instead of text")
	root.AddCommand(a.certsCmd(), a.runCmd(), a.statusCmd(), a.pauseCmd(), a.resumeCmd(), a.loginCmd(), a.logoutCmd(),
		a.pendingCmd(), a.answerCmd("approve", true), a.answerCmd("deny", false), a.recentCmd(), a.doctorCmd(), a.serviceCmd(),
		a.codeCmd(), a.userdataCmd(), a.appsCmd(), versionCmd("scanfreed", a.print))
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "scanfreed: %v\n", err)
		return 1
	}
	return 0
}

// client returns the control client for this state dir, found exactly as
// the tray finds it.
func (a *app) client() *control.Client { return control.NewClient(a.socketPath()) }

func (a *app) socketPath() string {
	if a.socket != "" {
		return a.socket
	}
	return control.DefaultSocket(a.stateDir)
}

// print writes v as JSON with --json, or else calls text.
func (a *app) print(v any, text func(w io.Writer)) error {
	if a.asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(a.stdout)
	return nil
}

// versionCmd prints the build of the binary name, as --version does (with
// --json, its parts).
func versionCmd(name string, print func(any, func(io.Writer)) error) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print this build's version and commit",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			in := version.Get()
			return print(in, func(w io.Writer) { fmt.Fprintln(w, name, in) })
		},
	}
}
