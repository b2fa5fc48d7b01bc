package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/installer"
)

// installOptions describes this machine for the installer.
func (a *app) installOptions() (installer.Options, error) {
	o := installer.Options{GOOS: runtime.GOOS, LocalData: os.Getenv("LOCALAPPDATA")}
	var err error
	if o.Home, err = os.UserHomeDir(); err != nil {
		return o, fmt.Errorf("find your home directory: %w", err)
	}
	if runtime.GOOS == "linux" {
		o.ConfigDir, _ = os.UserConfigDir()
	}
	exe, err := os.Executable()
	if err != nil {
		return o, err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return o, err
	}
	o.Scanfreed, o.SelfPID = exe, os.Getpid()
	tray := filepath.Join(filepath.Dir(exe), "scanfree-tray")
	if runtime.GOOS == "windows" {
		tray += ".exe"
	}
	if _, err := os.Stat(tray); err == nil {
		o.Tray = tray
	}
	if o.StateDir, err = filepath.Abs(a.stateDir); err != nil {
		return o, err
	}
	return o, nil
}

func (a *app) serviceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "Install scanfreed as your per-user service and the tray as a login item"}
	var dryRun, withCerts bool
	install := &cobra.Command{
		Use:   "install",
		Short: "Install and start the per-user service and the tray's autostart",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := a.installOptions()
			if err != nil {
				return err
			}
			plan, err := installer.PlanInstall(o)
			if err != nil {
				return err
			}
			if dryRun {
				return a.print(plan, func(w io.Writer) { installer.Print(w, plan) })
			}
			rep, err := installer.Install(cmd.Context(), plan, o.StateDir, installer.ExecRunner)
			if err != nil {
				return err
			}
			var trust *certs.TrustReport
			if withCerts {
				if _, err := certs.NewManager(o.StateDir, certs.DefaultDomain, nil, nil).Ensure(); err != nil {
					return err
				}
				t, err := certs.InstallTrust(o.StateDir, certs.SystemAuto)
				if err != nil {
					return err
				}
				trust = &t
			}
			return a.print(map[string]any{"report": rep, "logs": plan.Logs, "certs": trust}, func(w io.Writer) {
				printReport(w, rep)
				fmt.Fprintf(w, "logs: %s\n", plan.Logs)
				if trust != nil {
					for _, s := range trust.Stores {
						fmt.Fprintf(w, "local CA trusted in %s\n", s)
					}
				} else {
					fmt.Fprintln(w, "Browsers trust the daemon only once its CA is installed: run `scanfreed certs install` (or install again with --certs).")
				}
				if runtime.GOOS == "windows" {
					fmt.Fprintln(w, "It starts at your next login; start it now with `scanfreed service start`.")
				}
			})
		},
	}
	install.Flags().BoolVar(&dryRun, "dry-run", false, "print the files and commands, change nothing")
	install.Flags().BoolVar(&withCerts, "certs", false, "also run `scanfreed certs install`")

	var keepCerts bool
	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Stop and remove the service, the tray's autostart and the local CA",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := a.installOptions()
			if err != nil {
				return err
			}
			files, err := installer.Installed(o.StateDir)
			if err != nil {
				return err
			}
			plan := installer.PlanUninstall(o, files)
			if dryRun {
				return a.print(plan, func(w io.Writer) {
					installer.Print(w, plan)
					if !keepCerts {
						fmt.Fprintf(w, "run   scanfreed certs uninstall --state-dir %s\n", o.StateDir)
					}
				})
			}
			rep, err := installer.Uninstall(cmd.Context(), plan, o.StateDir, installer.ExecRunner)
			if err != nil {
				return err
			}
			var trust certs.TrustReport
			if !keepCerts {
				if trust, err = certs.UninstallTrust(o.StateDir); err != nil {
					return err
				}
			}
			rep.Removed = append(rep.Removed, installer.RemoveEmptyDirs(rep.Dirs)...)
			return a.print(map[string]any{"report": rep, "certs": trust}, func(w io.Writer) {
				printReport(w, rep)
				for _, s := range trust.Stores {
					fmt.Fprintf(w, "removed the local CA from %s\n", s)
				}
				if !keepCerts {
					fmt.Fprintf(w, "deleted the CA and certificate files in %s\n", o.StateDir)
				}
			})
		},
	}
	uninstall.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be removed, change nothing")
	uninstall.Flags().BoolVar(&keepCerts, "keep-certs", false, "leave the local CA installed")

	cmd.AddCommand(install, uninstall)
	for _, action := range []string{"start", "stop", "restart", "status"} {
		cmd.AddCommand(&cobra.Command{
			Use:   action,
			Short: action + " the per-user service",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				o, err := a.installOptions()
				if err != nil {
					return err
				}
				out, err := installer.Control(o, action)
				if err != nil {
					return err
				}
				return a.print(map[string]string{"status": out, "logs": installer.LogsAt(o)}, func(w io.Writer) {
					fmt.Fprintf(w, "scanfreed: %s\n", out)
					if action == "status" {
						fmt.Fprintf(w, "logs: %s\n", installer.LogsAt(o))
						if _, err := a.client().Status(context.Background()); err == nil {
							fmt.Fprintln(w, "control socket: answering")
						} else {
							fmt.Fprintln(w, "control socket: not answering")
						}
					}
				})
			},
		})
	}
	return cmd
}

func printReport(w io.Writer, r installer.Report) {
	for _, f := range r.Wrote {
		fmt.Fprintf(w, "wrote %s\n", f)
	}
	for _, f := range r.Removed {
		fmt.Fprintf(w, "removed %s\n", f)
	}
	for _, c := range r.Ran {
		fmt.Fprintf(w, "ran %v\n", c)
	}
	for _, f := range r.Failed {
		fmt.Fprintf(w, "did not work: %s\n", f)
	}
}
