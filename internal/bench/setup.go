package bench

import (
	"context"
	"path/filepath"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
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
