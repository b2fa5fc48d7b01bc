package bench

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
)

// benchRedirect is the registered redirect URI of the benchmarks' app.
const benchRedirect = "https://rp.example/cb"

// seededStore opens a fresh SQLite store in dir with the app "Bench" and
// the user alice.
func seededStore(ctx context.Context, dir string) (*sqlite.Store, admin.NewApp, string, error) {
	st, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"))
	if err != nil {
		return nil, admin.NewApp{}, "", err
	}
	app, err := admin.CreateApp(ctx, st, admin.AppSpec{Name: "Bench", RedirectURIs: []string{benchRedirect}, FastLogin: true}, time.Now())
	if err != nil {
		st.Close()
		return nil, app, "", err
	}
	u, err := admin.CreateUser(ctx, st, admin.UserSpec{Username: "alice", Nickname: "Alice", Password: "alice-password"}, time.Now())
	if err != nil {
		st.Close()
		return nil, app, "", err
	}
	return st, app, u.ID, nil
}

// served is a backend over a fresh seeded SQLite store (seededStore),
// served on a loopback port.
type served struct {
	st     *sqlite.Store
	app    admin.NewApp // "Bench"
	userID string       // alice
	url    string
	close  func()
}

// serve seeds a store in a temporary directory and serves it with cfg
// (PublicURL and Logger filled in); close removes it all.
func serve(ctx context.Context, cfg server.Config) (*served, error) {
	dir, err := os.MkdirTemp("", "scanfree-bench-")
	if err != nil {
		return nil, err
	}
	st, app, userID, err := seededStore(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg.PublicURL, cfg.Logger = "http://idp.localhost", slog.New(slog.DiscardHandler)
	srv, err := server.New(st, cfg)
	if err == nil {
		var url string
		var stop func()
		if url, stop, err = listen(ctx, srv.Handler()); err == nil {
			return &served{st: st, app: app, userID: userID, url: url, close: func() {
				stop()
				st.Close()
				os.RemoveAll(dir)
			}}, nil
		}
	}
	st.Close()
	os.RemoveAll(dir)
	return nil, err
}
