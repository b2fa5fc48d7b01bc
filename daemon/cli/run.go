package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/daemon"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// DefaultBackend is the backend of `make demo`.
const DefaultBackend = "http://idp.localhost:8080"

// loadConfig reads config.yaml (from --config, or the user config dir),
// SCANFREE_* variables and the flags of cmd, later ones winning.
func (a *app) loadConfig(cmd *cobra.Command) (*viper.Viper, error) {
	v := viper.New()
	v.SetDefault("backend_url", DefaultBackend)
	v.SetDefault("domain", certs.DefaultDomain)
	v.SetDefault("port", deviceapi.DefaultPorts()[0])
	v.SetDefault("confirm_timeout", "60s")
	v.SetEnvPrefix("SCANFREE")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	path := a.configFile
	if path == "" {
		if d, err := os.UserConfigDir(); err == nil {
			path = filepath.Join(d, "scanfree", "config.yaml")
		}
	}
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			var pe *fs.PathError
			if !(errors.As(err, &pe) && errors.Is(pe.Err, fs.ErrNotExist)) || a.configFile != "" {
				return nil, fmt.Errorf("config file %s: %w; fix or remove it", path, err)
			}
		}
	}
	for key, flag := range map[string]string{"backend_url": "backend", "domain": "domain", "port": "port", "trusted_origins": "trusted-origin",
		"confirm_timeout": "confirm-timeout", "tls_cert": "tls-cert", "tls_key": "tls-key"} {
		if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
			v.Set(key, f.Value.String())
			if key == "trusted_origins" {
				vals, _ := cmd.Flags().GetStringArray(flag)
				v.Set(key, vals)
			}
		}
	}
	return v, nil
}

func (a *app) runCmd() *cobra.Command {
	var logLevel, logFile string
	var noDialog, noNotify bool
	var checkRate, authRate float64
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon in the foreground (the service manager starts it this way)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: use debug, info, warn or error", logLevel)
			}
			timeout, err := time.ParseDuration(v.GetString("confirm_timeout"))
			if err != nil || timeout <= 0 {
				return fmt.Errorf("confirm_timeout %q: want a duration such as 60s", v.GetString("confirm_timeout"))
			}
			origins := v.GetStringSlice("trusted_origins")
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
			d, err := daemon.New(daemon.Config{
				StateDir:       a.stateDir,
				Socket:         a.socketPath(),
				BackendURL:     v.GetString("backend_url"),
				Domain:         v.GetString("domain"),
				Port:           v.GetInt("port"),
				TrustedOrigins: origins,
				ConfirmTimeout: timeout,
				TLSCert:        v.GetString("tls_cert"),
				TLSKey:         v.GetString("tls_key"),
				CheckLoginRate: checkRate,
				AuthorizeRate:  authRate,
				NoDialog:       noDialog,
				NoNotify:       noNotify,
				Logger:         slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level})),
			})
			if err != nil {
				return err
			}
			return d.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.String("backend", DefaultBackend, "identity backend URL (backend_url)")
	f.String("domain", certs.DefaultDomain, "loopback domain pages call (domain)")
	f.Int("port", deviceapi.DefaultPorts()[0], "first port to try; then 14014, 14015, 13013, 13014, 13015 (port)")
	f.StringArray("trusted-origin", nil, "origin allowed to call the local API, repeatable (trusted_origins; default: the backend's origin)")
	f.String("confirm-timeout", "60s", "how long a confirmation waits (confirm_timeout)")
	f.String("tls-cert", "", "vendor mode: certificate file (tls_cert)")
	f.String("tls-key", "", "vendor mode: key file (tls_key)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFile, "log-file", "", "append logs to this file instead of stderr (where no service manager collects them)")
	f.BoolVar(&noDialog, "no-dialog", false, "never show the native dialog; answer from the tray or `scanfreed approve`")
	f.BoolVar(&noNotify, "no-notify", false, "no desktop notifications")
	f.Float64Var(&checkRate, "check-login-rate", 50, "global limit of check-login requests per second")
	f.Float64Var(&authRate, "authorize-rate", 2, "global limit of authorize requests per second")
	return cmd
}
