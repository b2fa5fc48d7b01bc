package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/postgres"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
	"github.com/scanfree/scanfree/internal/harness/pgtest"
	"github.com/scanfree/scanfree/internal/secret"
)

// LogOptions tune EventLog.
type LogOptions struct {
	Events   int // seeded (1,000,000)
	Requests int // measured per query (50)
}

// logBudget is the p95 the operators' log must answer within.
const logBudget = 200 * time.Millisecond

// EventLog seeds the sign-in log with opts.Events events (1,000 people
// over 90 days, 20 apps, addresses from a few networks) on SQLite and, when
// SCANFREE_TEST_POSTGRES names a server, on PostgreSQL, and measures what
// an operator asks of the console at /admin/log over HTTP: one person's
// page for a week, a refused-only page for a /16, and a CSV export of
// 10,000 events of a day. It prints p50, p95 and p99 of each against the
// 200 ms budget, beside the same page of an empty log on the same run.
func EventLog(ctx context.Context, w io.Writer, opts LogOptions) error {
	if opts.Events <= 0 {
		opts.Events = 1_000_000
	}
	if opts.Requests <= 0 {
		opts.Requests = 50
	}
	dir, err := os.MkdirTemp("", "sfb-log")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	stores := []struct {
		name string
		open func() (storage.Storage, func(), error)
	}{{"sqlite", func() (storage.Storage, func(), error) {
		st, err := sqlite.Open(ctx, filepath.Join(dir, "log.db"))
		return st, func() {}, err
	}}}
	if base := os.Getenv(pgtest.EnvDSN); base != "" {
		stores = append(stores, struct {
			name string
			open func() (storage.Storage, func(), error)
		}{"postgres", func() (storage.Storage, func(), error) {
			dsn, drop, err := pgtest.Create(ctx, base)
			if err != nil {
				return nil, nil, err
			}
			st, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 8})
			return st, func() { drop() }, err
		}})
	} else {
		fmt.Fprintf(w, "\n== log: PostgreSQL skipped: set %s=%s ==\n", pgtest.EnvDSN, pgtest.Example)
	}
	fmt.Fprintf(w, "\n== sign-in log: %d events, /admin/log over HTTP, one operator, budget p95 <= %v ==\n", opts.Events, logBudget)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tquery\trows\tp50\tp95\tp99\tvs empty log p95\twithin budget\t")
	for _, s := range stores {
		st, drop, err := s.open()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		err = logRows(ctx, tw, s.name, st, opts)
		st.Close()
		drop()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return tw.Flush()
}

// logRows measures one store: the empty log first (the baseline), then
// seeded.
func logRows(ctx context.Context, tw io.Writer, name string, st storage.Storage, opts LogOptions) error {
	now := time.Now()
	srv, err := server.New(st, server.Config{PublicURL: "http://idp.localhost", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	url, stop, err := listen(ctx, srv.Handler())
	if err != nil {
		return err
	}
	defer stop()
	cookie, person, err := operatorSession(ctx, st, now)
	if err != nil {
		return err
	}
	day := now.Add(-45 * 24 * time.Hour).Truncate(24 * time.Hour)
	queries := []struct{ name, q string }{
		{"person, one week", "user=" + person + "&since=" + day.Format("2006-01-02") + "&until=" + day.Add(7*24*time.Hour).Format("2006-01-02")},
		{"refused from a /16", "result=refused&addr=10.7.0.0/16"},
		{"CSV export, one day", "format=csv&limit=10000&since=" + day.Format("2006-01-02") + "&until=" + day.Add(24*time.Hour).Format("2006-01-02")},
	}
	c := Client(1)
	measure := func(q string) ([]time.Duration, int, error) {
		var lat []time.Duration
		rows := 0
		for range opts.Requests {
			t0 := time.Now()
			b, err := getWithCookie(ctx, c, url+"/admin/log?"+q, cookie)
			if err != nil {
				return nil, 0, err
			}
			lat = append(lat, time.Since(t0))
			if rows = strings.Count(string(b), "<tr><td>"); strings.Contains(q, "format=csv") {
				rows = strings.Count(string(b), "\n") - 1 // the header
			}
		}
		slices.Sort(lat)
		return lat, rows, nil
	}
	empty := map[string]time.Duration{}
	for _, q := range queries {
		lat, _, err := measure(q.q)
		if err != nil {
			return err
		}
		empty[q.name] = pct(lat, 95)
	}
	if err := seedLog(ctx, st, opts.Events, now); err != nil {
		return err
	}
	for _, q := range queries {
		lat, rows, err := measure(q.q)
		if err != nil {
			return err
		}
		p95 := pct(lat, 95)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%.1fx\t%v\t\n", name, q.name, rows, round(pct(lat, 50)), round(p95), round(pct(lat, 99)),
			float64(p95)/float64(max(empty[q.name], 1)), p95 <= logBudget)
	}
	return nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

// operatorSession makes an admin signed in just now and returns her
// session cookie, and a username with events to look at.
func operatorSession(ctx context.Context, st storage.Storage, now time.Time) (*http.Cookie, string, error) {
	u, err := admin.CreateUser(ctx, st, admin.UserSpec{Username: "operator", Nickname: "Operator", Password: "operator-password"}, now)
	if err != nil {
		return nil, "", err
	}
	if err := st.SetRole(ctx, u.ID, storage.RoleAdmin); err != nil {
		return nil, "", err
	}
	// The person whose week the bench reads: person-7 of the seeded ids.
	if err := st.CreateUser(ctx, storage.User{ID: "person-7", Username: "person7", Nickname: "Person 7", PasswordHash: "x", CreatedAt: now}); err != nil {
		return nil, "", err
	}
	tok := secret.Token()
	if err := st.CreateSession(ctx, storage.Session{Hash: secret.Hash(tok), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		return nil, "", err
	}
	return &http.Cookie{Name: "scanfree_session", Value: tok}, "person7", nil
}

func getWithCookie(ctx context.Context, c *http.Client, u string, cookie *http.Cookie) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.AddCookie(cookie)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, b)
	}
	return b, err
}

// seedLog imports n events spread over the 90 days before now, in the
// order a live log receives them (oldest first).
func seedLog(ctx context.Context, st storage.Storage, n int, now time.Time) error {
	imp, ok := st.(storage.EventImporter)
	if !ok {
		return fmt.Errorf("%T cannot import events", st)
	}
	r := rand.New(rand.NewPCG(1, 2))
	span := int64(90 * 24 * time.Hour)
	const batch = 20000
	events := make([]storage.Event, 0, batch)
	methods := []string{storage.MethodScanFree, storage.MethodQR, storage.MethodPassword, storage.MethodDesktopApp}
	for i := range n {
		refused := r.IntN(10) == 0
		e := storage.Event{UserID: fmt.Sprint("person-", r.IntN(1000)), Kind: "signin", AppID: fmt.Sprint("wxbench", r.IntN(20)),
			DeviceID: fmt.Sprint("dev-", r.IntN(3000)), Detail: "Signed in to Bench", CreatedAt: now.Add(-time.Duration(span - span/int64(n)*int64(i))),
			Method: methods[r.IntN(len(methods))], Face: "wechat", Addr: fmt.Sprintf("10.%d.%d.%d", r.IntN(16), r.IntN(256), r.IntN(256)),
			Country: "CN", Result: storage.ResultOK}
		if refused {
			e.Kind, e.Result, e.Reason, e.Detail = "signin_refused", storage.ResultRefused, "wrong_password", "Wrong password"
		}
		events = append(events, e)
		if len(events) == batch || i == n-1 {
			if err := imp.ImportEvents(ctx, events); err != nil {
				return err
			}
			events = events[:0]
		}
	}
	return nil
}
