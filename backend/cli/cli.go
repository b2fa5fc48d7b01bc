// Package cli is the command line of scanfree-server: `serve` and the
// admin commands that manage apps, users and devices in the same database.
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
)

// env returns the SCANFREE_SERVER_* variable for key, or def.
func env(key, def string) string {
	if v, ok := os.LookupEnv("SCANFREE_SERVER_" + key); ok && v != "" {
		return v
	}
	return def
}

type app struct {
	dbPath string
	asJSON bool
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "scanfree-server",
		Short:         "The scanfree reference identity backend",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.dbPath, "db", env("DB", "scanfree-server.db"), "SQLite database file (env SCANFREE_SERVER_DB)")
	root.PersistentFlags().BoolVar(&a.asJSON, "json", false, "print JSON instead of text")
	root.AddCommand(a.serveCmd(), a.appCmd(), a.userCmd(), a.deviceCmd())
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "scanfree-server: %v\n", err)
		return 1
	}
	return 0
}

func (a *app) open(ctx context.Context) (*sqlite.Store, error) {
	return sqlite.Open(ctx, a.dbPath)
}

// withStore makes a command body that runs with the database open.
func (a *app) withStore(run func(cmd *cobra.Command, args []string, st storage.Storage) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		st, err := a.open(cmd.Context())
		if err != nil {
			return err
		}
		defer st.Close()
		return run(cmd, args, st)
	}
}

func (a *app) serveCmd() *cobra.Command {
	var addr, publicURL, logLevel string
	var codeTTL, deviceInterval, qrTTL, pollTimeout time.Duration
	var daemonDomain string
	var ticketsPerMinute int
	var daemonPorts []int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the hosted pages, device flow, device API and /sns token API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: use debug, info, warn or error", logLevel)
			}
			log := slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			ctx := cmd.Context()
			st, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			srv, err := server.New(st, server.Config{PublicURL: publicURL, CodeTTL: codeTTL, DeviceInterval: deviceInterval,
				QRTTL: qrTTL, PollTimeout: pollTimeout, TicketsPerMinute: ticketsPerMinute, DaemonDomain: daemonDomain, DaemonPorts: daemonPorts, Logger: log})
			if err != nil {
				return fmt.Errorf("%w (set --public-url)", err)
			}
			return srv.Serve(ctx, addr)
		},
	}
	ttl, err := time.ParseDuration(env("CODE_TTL", "5m"))
	if err != nil {
		ttl = 5 * time.Minute
	}
	cmd.Flags().StringVar(&addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (env SCANFREE_SERVER_ADDR)")
	cmd.Flags().StringVar(&publicURL, "public-url", env("PUBLIC_URL", "http://idp.localhost:8080"), "origin users reach the server at (env SCANFREE_SERVER_PUBLIC_URL)")
	cmd.Flags().DurationVar(&codeTTL, "code-ttl", ttl, "authorization code lifetime (env SCANFREE_SERVER_CODE_TTL)")
	cmd.Flags().DurationVar(&deviceInterval, "device-interval", 5*time.Second, "minimum polling interval of device enrollment (env SCANFREE_SERVER_DEVICE_INTERVAL)")
	cmd.Flags().DurationVar(&qrTTL, "qr-ttl", 120*time.Second, "lifetime of a QR login ticket")
	cmd.Flags().IntVar(&ticketsPerMinute, "tickets-per-minute", 60, "QR tickets one client address may create per minute")
	cmd.Flags().DurationVar(&pollTimeout, "poll-timeout", 25*time.Second, "how long a QR status long poll is held")
	cmd.Flags().StringVar(&daemonDomain, "daemon-domain", env("DAEMON_DOMAIN", "scanfree.localhost"), "loopback domain of the desktop daemon the login page calls")
	cmd.Flags().IntSliceVar(&daemonPorts, "daemon-ports", []int{14013, 14014, 14015, 13013, 13014, 13015}, "daemon ports the login page tries, in order")
	cmd.Flags().StringVar(&logLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error")
	return cmd
}

// print writes v as JSON with --json, or else calls text with a tabwriter.
func (a *app) print(v any, text func(w io.Writer)) error {
	if a.asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// readPassword reads the first line of r.
func readPassword(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(pw, "\r"), nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}
