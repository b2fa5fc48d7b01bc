package cli

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/daemon"
	"github.com/scanfree/scanfree/internal/config"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/tpmkey"
)

// DefaultBackend is the backend of `make demo`.
const DefaultBackend = "http://idp.localhost:8080"

// settings are scanfreed's configuration keys (DESIGN.md, Configuration)
// and their flags; each is also SCANFREE_<KEY> and a key of config.yaml.
var settings = map[string]string{
	"backend_url": "backend", "domain": "domain", "port": "port", "trusted_origins": "trusted-origin",
	"confirm_timeout": "confirm-timeout", "cooldown": "cooldown", "tls_cert": "tls-cert", "tls_key": "tls-key", "state_dir": "state-dir", "socket": "socket",
	"log_level": "log-level", "log_file": "log-file", "no_dialog": "no-dialog", "no_notify": "no-notify",
	"check_login_rate": "check-login-rate", "authorize_rate": "authorize-rate", "tpm": "tpm",
}

// applyConfig sets cmd's flags from SCANFREE_* variables and config.yaml
// (--config, else <user config dir>/scanfree/config.yaml if it exists).
func (a *app) applyConfig(cmd *cobra.Command) error {
	return config.Apply(cmd, a.configOptions())
}

// configOptions are scanfreed's configuration sources.
func (a *app) configOptions() config.Options {
	opts := config.Options{EnvPrefix: "SCANFREE_", Settings: settings, File: a.configFile, FileRequired: a.configFile != "",
		Machine: machineConfig, MachineValues: machineValues, Enforced: []string{"backend_url", "trusted_origins"}}
	if opts.File == "" {
		if d, err := os.UserConfigDir(); err == nil {
			opts.File = filepath.Join(d, "scanfree", "config.yaml")
		}
	}
	return opts
}

func (a *app) runCmd() *cobra.Command {
	var cfg daemon.Config
	var logLevel, logFile string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon in the foreground (the service manager starts it this way)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: use debug, info, warn or error", logLevel)
			}
			if cfg.ConfirmTimeout <= 0 {
				return fmt.Errorf("confirm_timeout %v: want a positive duration such as 60s", cfg.ConfirmTimeout)
			}
			logOut := a.stderr
			if logFile != "" {
				if err := os.MkdirAll(filepath.Dir(logFile), 0o700); err != nil {
					return fmt.Errorf("--log-file: %w", err)
				}
				f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
				if err != nil {
					return fmt.Errorf("--log-file: %w", err)
				}
				defer f.Close()
				logOut = f
			}
			cfg.StateDir, cfg.Socket = a.stateDir, a.socketPath()
			cfg.Logger = slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))
			if tpmkey.Simulator(cfg.TPM) {
				cfg.Logger.Warn("the proof key is made in a TPM simulator: for tests and development only, it protects nothing", "tpm", cfg.TPM)
			}
			_, locked, err := a.configOptions().MachineSets("backend_url")
			if err != nil {
				return err
			}
			cfg.BackendLocked = locked
			d, err := daemon.New(cfg)
			if err != nil {
				return err
			}
			return d.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.BackendURL, "backend", DefaultBackend, "identity backend URL (backend_url)")
	f.StringVar(&cfg.Domain, "domain", certs.DefaultDomain, "loopback domain pages call (domain)")
	f.IntVar(&cfg.Port, "port", deviceapi.DefaultPorts()[0], "first port to try; then the others of "+fmt.Sprint(deviceapi.DefaultPorts())+" (port)")
	f.StringArrayVar(&cfg.TrustedOrigins, "trusted-origin", nil, "origin allowed to call the local API, repeatable (trusted_origins; default: the backend's origin)")
	f.DurationVar(&cfg.ConfirmTimeout, "confirm-timeout", 60*time.Second, "how long a confirmation waits (confirm_timeout)")
	f.DurationVar(&cfg.Cooldown, "cooldown", 30*time.Second, "how long an origin may not ask again after a request was denied, timed out or withdrawn (cooldown)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "vendor mode: certificate file (tls_cert)")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "vendor mode: key file (tls_key)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error (log_level)")
	f.StringVar(&logFile, "log-file", "", "append logs to this file instead of stderr, where no service manager collects them (log_file)")
	f.BoolVar(&cfg.NoDialog, "no-dialog", false, "never show the native dialog; answer from the tray or `scanfreed approve` (no_dialog)")
	f.BoolVar(&cfg.NoNotify, "no-notify", false, "no desktop notifications (no_notify)")
	f.StringVar(&cfg.TPM, "tpm", "", "where a new proof key is made: empty for this computer's TPM ("+tpmkey.DefaultDevice+") when it has one, else software; off for software; a TPM device path; or simulator:HOST:PORT (swtpm, tests only) (tpm)")
	f.Float64Var(&cfg.CheckLoginRate, "check-login-rate", 50, "global limit of check-login requests per second (check_login_rate)")
	f.Float64Var(&cfg.AuthorizeRate, "authorize-rate", 2, "global limit of authorize requests per second (authorize_rate)")
	return cmd
}
