// Package cli is the command line of scanfree-server: `serve` and the
// admin commands that manage apps, users and devices in the same database.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scanfree/scanfree/backend/geoip"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/scanfree/scanfree/backend/keys"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/postgres"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
	"github.com/scanfree/scanfree/internal/config"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/tpmkey"
	"github.com/scanfree/scanfree/internal/version"
)

// settings are scanfree-server's configuration keys and their flags; each
// is also SCANFREE_SERVER_<KEY> and a key of the --config file.
var settings = map[string]string{
	"db": "db", "db_max_conns": "db-max-conns", "metrics_addr": "metrics-addr", "trusted_proxies": "trusted-proxies", "admin_allow_cidr": "admin-allow-cidr", "max_desktops": "max-desktops", "max_desktops_policy": "max-desktops-policy",
	"session_idle": "session-idle", "geoip_db": "geoip-db", "webhook_url": "webhook-url", "webhook_secret_file": "webhook-secret-file", "travel_window": "travel-window", "session_lifetime": "session-lifetime", "addr": "addr", "public_url": "public-url", "code_ttl": "code-ttl", "device_interval": "device-interval",
	"qr_ttl": "qr-ttl", "tickets_per_minute": "tickets-per-minute", "device_auths_per_minute": "device-auths-per-minute", "event_retention": "event-retention", "poll_timeout": "poll-timeout", "polls_per_address": "polls-per-address",
	"daemon_domain": "daemon-domain", "daemon_ports": "daemon-ports", "log_level": "log-level", "data_key_file": "data-key-file", "id_token_ttl": "id-token-ttl",
	"directory_sync": "directory-sync", "password_signin": "password-signin", "require_dpop": "require-dpop", "tpm_ek_roots": "tpm-ek-roots",
}

type app struct {
	configFile string
	dbPath     string
	dbMaxConns int32
	keyFile    string
	asJSON     bool
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "scanfree-server",
		Short: "The scanfree reference identity backend",
		Long: "The scanfree reference identity backend.\n\nEvery setting is a flag, an environment variable SCANFREE_SERVER_<KEY> and a key of the\n" +
			"YAML file --config (env SCANFREE_SERVER_CONFIG), in that order of precedence; keys are the flags' names with _ for -.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.String(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			opts := config.Options{EnvPrefix: "SCANFREE_SERVER_", Settings: settings, File: a.configFile, FileRequired: true,
				StrictEnv: true, OtherEnv: []string{"SCANFREE_SERVER_CONFIG"}, Sections: []string{"connectors"}}
			opts.File = a.configPath()
			return config.Apply(cmd, opts)
		},
	}
	root.PersistentFlags().StringVar(&a.configFile, "config", "", "YAML file of settings (env SCANFREE_SERVER_CONFIG)")
	root.PersistentFlags().StringVar(&a.dbPath, "db", "scanfree-server.db",
		"SQLite database file, or postgres://user@host:5432/dbname for PostgreSQL shared by replicas (env SCANFREE_SERVER_DB)")
	root.PersistentFlags().Int32Var(&a.dbMaxConns, "db-max-conns", 0, "most PostgreSQL connections per process; 0: pgx's default (env SCANFREE_SERVER_DB_MAX_CONNS)")
	root.PersistentFlags().StringVar(&a.keyFile, "data-key-file", "",
		"file of the key that seals the OpenID Connect signing keys in the database (32 random bytes, base64); the same file on every replica. "+
			"Default with SQLite: the database's path with .key, made on first use; with PostgreSQL none, and the OIDC face is off (env SCANFREE_SERVER_DATA_KEY_FILE)")
	root.PersistentFlags().BoolVar(&a.asJSON, "json", false, "print JSON instead of text")
	root.SetVersionTemplate("scanfree-server {{.Version}}\n")
	root.AddCommand(a.serveCmd(), a.appCmd(), a.userCmd(), a.deviceCmd(), a.keysCmd(), a.eventsCmd(), a.sessionCmd(), a.applyCmd(),
		&cobra.Command{Use: "version", Short: "Print this build's version and commit", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				in := version.Get()
				return a.print(in, func(w io.Writer) { fmt.Fprintln(w, "scanfree-server", in) })
			}})
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

// open opens --db: a postgres:// URL is a PostgreSQL database shared by
// replicas, anything else an SQLite file.
func (a *app) open(ctx context.Context, log *slog.Logger) (storage.Storage, error) {
	if postgres.IsDSN(a.dbPath) {
		return postgres.Open(ctx, a.dbPath, postgres.Options{MaxConns: a.dbMaxConns, Logger: log})
	}
	return sqlite.Open(ctx, a.dbPath)
}

// dataKey loads --data-key-file, or with SQLite and no flag the file
// beside the database, made on first use. It returns nil when there is
// none to use (PostgreSQL without the flag).
func (a *app) dataKey() ([]byte, error) {
	if a.keyFile != "" {
		return keys.LoadDataKey(a.keyFile, false)
	}
	if postgres.IsDSN(a.dbPath) {
		return nil, nil
	}
	return keys.LoadDataKey(a.dbPath+".key", true)
}

// withStore makes a command body that runs with the database open,
// creating an SQLite file that is not there yet (app create and user
// create set a new server up).
func (a *app) withStore(run func(cmd *cobra.Command, args []string, st storage.Storage) error) func(*cobra.Command, []string) error {
	return a.storeCmd(true, run)
}

// withExistingStore is withStore for every other command: run in the
// wrong folder, it says so instead of creating an empty database there.
func (a *app) withExistingStore(run func(cmd *cobra.Command, args []string, st storage.Storage) error) func(*cobra.Command, []string) error {
	return a.storeCmd(false, run)
}

func (a *app) storeCmd(create bool, run func(cmd *cobra.Command, args []string, st storage.Storage) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if !create && !postgres.IsDSN(a.dbPath) {
			if _, err := os.Stat(a.dbPath); errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("no database at %s; pass --db with the server's database (this command never creates one)", a.dbPath)
			}
		}
		st, err := a.open(cmd.Context(), slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			return err
		}
		defer st.Close()
		return run(cmd, args, st)
	}
}

func (a *app) serveCmd() *cobra.Command {
	var addr, metricsAddr, publicURL, logLevel string
	var codeTTL, deviceInterval, qrTTL, pollTimeout time.Duration
	var daemonDomain string
	var ticketsPerMinute, deviceAuthsPerMinute, pollsPerAddress int
	var eventRetention, idTokenTTL time.Duration
	var daemonPorts []int
	var trustedProxies, adminAllow []string
	var maxDesktops int
	var capPolicy string
	var sessionIdle, sessionLifetime time.Duration
	var geoDB, webhookURL, webhookSecretFile string
	var travelWindow, directorySync time.Duration
	var passwordSignin string
	var requireDPoP bool
	var tpmEKRoots string
	var brandName, brandLogo, brandAccent, brandCSS string
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
			if err := server.CheckPublicURL(publicURL); err != nil {
				return fmt.Errorf("%w (set --public-url)", err)
			}
			proxies, err := server.ParseTrustedProxies(trustedProxies)
			if err != nil {
				return fmt.Errorf("--trusted-proxies: %w", err)
			}
			if capPolicy != server.CapRefuse && capPolicy != server.CapEvictOldest {
				return fmt.Errorf("--max-desktops-policy %q: use %s or %s", capPolicy, server.CapRefuse, server.CapEvictOldest)
			}
			if maxDesktops < 1 {
				return fmt.Errorf("--max-desktops %d: want 1 or more", maxDesktops)
			}
			if sessionIdle < time.Minute || sessionLifetime < sessionIdle {
				return fmt.Errorf("--session-idle %v, --session-lifetime %v: want an idle timeout of a minute or more, and a lifetime no shorter", sessionIdle, sessionLifetime)
			}
			adminCIDR, err := server.ParseTrustedProxies(adminAllow)
			if err != nil {
				return fmt.Errorf("--admin-allow-cidr: %w", err)
			}
			var webhookSecret []byte
			if webhookURL != "" {
				if u, err := url.Parse(webhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					return fmt.Errorf("--webhook-url %q: want an http(s) URL", webhookURL)
				}
				b, err := os.ReadFile(webhookSecretFile)
				if err != nil || len(bytes.TrimSpace(b)) < 16 {
					return fmt.Errorf("--webhook-url needs --webhook-secret-file with a secret of 16 or more characters to sign the alerts with (the receiver checks X-Scanfree-Signature)")
				}
				webhookSecret = bytes.TrimSpace(b)
			}
			var country func(string) string
			if geoDB != "" {
				db, err := geoip.Open(geoDB)
				if err != nil {
					return fmt.Errorf("--geoip-db: %w", err)
				}
				defer db.Close()
				country = db.Country
			}
			dataKey, err := a.dataKey()
			if err != nil {
				return fmt.Errorf("--data-key-file: %w", err)
			}
			if dataKey == nil {
				log.Warn("no --data-key-file: the OpenID Connect face is off; give every replica the same key file to turn it on")
			}
			connectors, err := loadConnectors(a.configPath(), log)
			if err != nil {
				return err
			}
			for _, c := range connectors {
				if dataKey == nil && isOIDC(c) {
					return fmt.Errorf("connector %q keeps each person's refresh token sealed with the data key: set --data-key-file (the same file on every replica)", c.ID())
				}
			}
			if p := storage.PasswordPolicy(passwordSignin); p != "" && !p.Valid() {
				return fmt.Errorf("--password-signin %q: use on, second-factor (a passkey or authenticator code after the password) or off (no password form)", passwordSignin)
			}
			theme, err := server.LoadTheme(brandName, brandLogo, brandAccent, brandCSS)
			if err != nil {
				return err
			}
			var ekRoots *tpmkey.Roots
			if tpmEKRoots != "" {
				if ekRoots, err = tpmkey.LoadRoots(tpmEKRoots); err != nil {
					return fmt.Errorf("--tpm-ek-roots: %w; give a PEM file of the TPM makers' CA certificates", err)
				}
			}
			if directorySync < 10*time.Second {
				return fmt.Errorf("--directory-sync %v: want 10s or more", directorySync)
			}
			cfg := server.Config{DataKey: dataKey, IDTokenTTL: idTokenTTL, PublicURL: publicURL, CodeTTL: codeTTL, DeviceInterval: deviceInterval,
				QRTTL: qrTTL, PollTimeout: pollTimeout, TicketsPerMinute: ticketsPerMinute, DaemonDomain: daemonDomain, DaemonPorts: daemonPorts,
				Country: country, WebhookURL: webhookURL, WebhookSecret: webhookSecret, TravelWindow: travelWindow, MaxDesktops: maxDesktops, MaxDesktopsPolicy: capPolicy, SessionIdle: sessionIdle, SessionTTL: sessionLifetime,
				TrustedProxies: proxies, AdminAllowCIDR: adminCIDR, DeviceAuthsPerMinute: deviceAuthsPerMinute, EventRetention: eventRetention, PollsPerAddress: pollsPerAddress, Logger: log,
				Connectors: connectors, DirectorySync: directorySync, PasswordSignin: storage.PasswordPolicy(passwordSignin), Theme: theme, RequireDPoP: requireDPoP, TPMEKRoots: ekRoots}
			return server.Run(cmd.Context(), server.RunOptions{Addr: addr, MetricsAddr: metricsAddr, Config: cfg,
				Open: func(ctx context.Context) (storage.Storage, error) { return a.open(ctx, log) }})
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address (env SCANFREE_SERVER_ADDR)")
	f.StringVar(&metricsAddr, "metrics-addr", "", "address of /metrics, /healthz and /readyz for monitoring; off when empty (env SCANFREE_SERVER_METRICS_ADDR)")
	f.StringVar(&publicURL, "public-url", "http://idp.localhost:8080", "origin users reach the server at (env SCANFREE_SERVER_PUBLIC_URL)")
	f.DurationVar(&codeTTL, "code-ttl", 5*time.Minute, "authorization code lifetime (env SCANFREE_SERVER_CODE_TTL)")
	f.DurationVar(&deviceInterval, "device-interval", 5*time.Second, "minimum polling interval of device enrolment (env SCANFREE_SERVER_DEVICE_INTERVAL)")
	f.DurationVar(&qrTTL, "qr-ttl", 120*time.Second, "lifetime of a QR login ticket (env SCANFREE_SERVER_QR_TTL)")
	f.IntVar(&ticketsPerMinute, "tickets-per-minute", 60, "QR tickets one client address may create per minute (env SCANFREE_SERVER_TICKETS_PER_MINUTE)")
	f.IntVar(&deviceAuthsPerMinute, "device-auths-per-minute", 10, "desktop sign-ins (device authorizations) one client address may start per minute (env SCANFREE_SERVER_DEVICE_AUTHS_PER_MINUTE)")
	f.DurationVar(&eventRetention, "event-retention", 90*24*time.Hour, "how long audit events are kept (env SCANFREE_SERVER_EVENT_RETENTION)")
	f.DurationVar(&idTokenTTL, "id-token-ttl", time.Hour, "lifetime of an OpenID Connect id_token, and how long a replaced signing key stays published (env SCANFREE_SERVER_ID_TOKEN_TTL)")
	f.DurationVar(&pollTimeout, "poll-timeout", 25*time.Second, "how long a QR status long poll is held (env SCANFREE_SERVER_POLL_TIMEOUT)")
	f.IntVar(&pollsPerAddress, "polls-per-address", 64, "QR long polls one client address may hold waiting on a server (env SCANFREE_SERVER_POLLS_PER_ADDRESS)")
	f.StringVar(&daemonDomain, "daemon-domain", deviceapi.DefaultDomain, "loopback domain of the desktop daemon the login page calls (env SCANFREE_SERVER_DAEMON_DOMAIN)")
	f.IntSliceVar(&daemonPorts, "daemon-ports", deviceapi.DefaultPorts(), "daemon ports the login page tries, in order (env SCANFREE_SERVER_DAEMON_PORTS, comma-separated)")
	f.StringSliceVar(&trustedProxies, "trusted-proxies", nil,
		"load balancers whose X-Forwarded-For names the client, as addresses or CIDR ranges; the per-address limits count that client (env SCANFREE_SERVER_TRUSTED_PROXIES, comma-separated)")
	f.IntVar(&maxDesktops, "max-desktops", 5, "desktops one person may have signed in at once (env SCANFREE_SERVER_MAX_DESKTOPS)")
	f.StringVar(&capPolicy, "max-desktops-policy", server.CapRefuse,
		"over --max-desktops: refuse the new desktop, or evict-oldest (sign out the least recently used one) (env SCANFREE_SERVER_MAX_DESKTOPS_POLICY)")
	f.DurationVar(&sessionIdle, "session-idle", 30*time.Minute, "a web session of the hosted pages ends after this long unused (env SCANFREE_SERVER_SESSION_IDLE)")
	f.DurationVar(&sessionLifetime, "session-lifetime", 12*time.Hour, "a web session ends this long after its sign-in, used or not (env SCANFREE_SERVER_SESSION_LIFETIME)")
	f.StringVar(&webhookURL, "webhook-url", "", "where alerts are posted as signed JSON, at least once, in order per person (env SCANFREE_SERVER_WEBHOOK_URL)")
	f.StringVar(&webhookSecretFile, "webhook-secret-file", "", "file holding the HMAC-SHA256 key of the alerts' X-Scanfree-Signature (env SCANFREE_SERVER_WEBHOOK_SECRET_FILE)")
	f.DurationVar(&travelWindow, "travel-window", 2*time.Hour, "sign-ins from two countries this close together are an alert (env SCANFREE_SERVER_TRAVEL_WINDOW)")
	f.StringVar(&geoDB, "geoip-db", "", "MaxMind GeoLite2/GeoIP2 Country or City .mmdb file: countries in the sign-in log and apps' country fences (env SCANFREE_SERVER_GEOIP_DB)")
	f.StringSliceVar(&adminAllow, "admin-allow-cidr", nil,
		"client addresses or CIDR ranges the operator console /admin answers; every address when empty (env SCANFREE_SERVER_ADMIN_ALLOW_CIDR, comma-separated)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error (env SCANFREE_SERVER_LOG_LEVEL)")
	f.StringVar(&passwordSignin, "password-signin", "",
		"what a password alone does: on, second-factor (a passkey or authenticator code after it) or off (no password form); empty: second-factor for a new install, on for one from before (env SCANFREE_SERVER_PASSWORD_SIGNIN)")
	f.BoolVar(&requireDPoP, "require-dpop", false,
		"refuse desktops that do not prove their key with every call (RFC 9449 DPoP): enrolment must prove one, and a desktop enrolled before is signed out rather than bound at its next call (env SCANFREE_SERVER_REQUIRE_DPOP)")
	f.StringVar(&tpmEKRoots, "tpm-ek-roots", "",
		"PEM file of the TPM makers' CA certificates: a desktop that shows its key is in a TPM one of them certified is recorded as tpm, every other as software (env SCANFREE_SERVER_TPM_EK_ROOTS)")
	f.StringVar(&brandName, "brand-name", "", "the identity service's name on every page, as people know it (default scanfree) (env SCANFREE_SERVER_BRAND_NAME)")
	f.StringVar(&brandLogo, "brand-logo", "", "https URL (or data:image URL) of a logo shown beside the name (env SCANFREE_SERVER_BRAND_LOGO)")
	f.StringVar(&brandAccent, "brand-accent", "", "accent colour of links and main buttons, as #rrggbb (env SCANFREE_SERVER_BRAND_ACCENT)")
	f.StringVar(&brandCSS, "brand-css", "", "file of CSS laid over every page's own, read at start (env SCANFREE_SERVER_BRAND_CSS)")
	f.DurationVar(&directorySync, "directory-sync", 5*time.Minute,
		"how often each connector's directory re-checks the people linked to it; one it no longer has is disabled (env SCANFREE_SERVER_DIRECTORY_SYNC)")
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

// password reads the password of a command that takes --password-stdin
// (given tells whether it was passed).
func (a *app) password(given bool) (string, error) {
	if !given {
		return "", errors.New("pass --password-stdin and the password on standard input (passwords never go in arguments)")
	}
	return readPassword(a.stdin, a.stderr)
}

// readPassword reads the password for --password-stdin. On a terminal it
// prompts on prompt without echo and asks twice, so a typo does not become the
// password; otherwise (a pipe or a file, as scripts pass it) it reads the
// first line of r.
func readPassword(r io.Reader, prompt io.Writer) (string, error) {
	if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(int(f.Fd()), prompt)
	}
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(pw, "\r"), nil
}

func promptPassword(fd int, prompt io.Writer) (string, error) {
	fmt.Fprint(prompt, "Password: ")
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password from the terminal: %w", err)
	}
	fmt.Fprint(prompt, "Password again: ")
	again, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password from the terminal: %w", err)
	}
	if string(pw) != string(again) {
		return "", errors.New("the two passwords differ; run the command again")
	}
	return string(pw), nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}
