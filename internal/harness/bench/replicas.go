package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/postgres"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
	"github.com/scanfree/scanfree/internal/harness/pgtest"
	"github.com/scanfree/scanfree/internal/harness/system"
)

// deployment is scanfree-server as separate processes on one database,
// with the driver's own connection to that database for seeding codes.
type deployment struct {
	db      string
	servers []*system.Backend
	metrics []string // each server's --metrics-addr (and /debug/pprof/)
	store   storage.Storage
	app     system.App
	userID  string
}

// replicaArgs lift the per-address limits (one load driver is one
// address) and keep tickets alive for the whole run.
var replicaArgs = []string{"--log-level", "error", "--tickets-per-minute", "1000000000", "--polls-per-address", "1000000000", "--qr-ttl", "10m", "--db-max-conns", "16"}

// newDeployment seeds db with the app "Bench" and alice, and starts one
// server on it.
func newDeployment(ctx context.Context, db string) (*deployment, error) {
	dep := &deployment{db: db}
	if err := dep.add(ctx); err != nil {
		return nil, err
	}
	b := dep.servers[0]
	var err error
	if dep.app, err = b.CreateApp(ctx, "Bench", "--redirect-uri", benchRedirect); err != nil {
		dep.stop()
		return nil, err
	}
	if err := b.CreatePeople(ctx, false, "alice"); err != nil {
		dep.stop()
		return nil, err
	}
	if postgres.IsDSN(db) {
		dep.store, err = postgres.Open(ctx, db, postgres.Options{MaxConns: 16})
	} else {
		dep.store, err = sqlite.Open(ctx, db)
	}
	if err != nil {
		dep.stop()
		return nil, err
	}
	u, err := dep.store.GetUserByUsername(ctx, "alice")
	if err != nil {
		dep.stop()
		return nil, err
	}
	dep.userID = u.ID
	return dep, nil
}

// add starts one more server on the deployment's database.
func (dep *deployment) add(ctx context.Context) error {
	port, err := system.FreePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	bs, err := system.StartReplicas(ctx, system.ReplicaOptions{DB: dep.db, N: 1, Args: append(replicaArgs, "--metrics-addr", addr)})
	if err != nil {
		return err
	}
	dep.servers = append(dep.servers, bs...)
	dep.metrics = append(dep.metrics, addr)
	return nil
}

// profile fetches a CPU profile of d from server i's /debug/pprof/ into
// file, as an operator takes one.
func (dep *deployment) profile(ctx context.Context, i int, d time.Duration, file string) error {
	u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", dep.metrics[i], max(int(d.Seconds()), 1))
	c := &http.Client{Timeout: d + 30*time.Second}
	b, err := Get(ctx, c, u)
	if err != nil {
		return fmt.Errorf("profile %s: %w", u, err)
	}
	return os.WriteFile(file, b, 0o644)
}

func (dep *deployment) stop() {
	for _, b := range dep.servers {
		b.Proc.Kill()
	}
	if dep.store != nil {
		dep.store.Close()
	}
}

// url is the server request i goes to: round-robin, as a load balancer.
func (dep *deployment) url(i int) string { return dep.servers[i%len(dep.servers)].URL }

// exchangeOp is one relying-party sign-in: the code exchanged at one
// replica and userinfo read at the next.
func (dep *deployment) exchangeOp(c *http.Client, codes []string) func(ctx context.Context, i int) error {
	return func(ctx context.Context, i int) error {
		tok, _, err := exchange(ctx, c, dep.url(i), dep.app.AppID, dep.app.Secret, codes[i])
		if err != nil {
			return err
		}
		_, err = Get(ctx, c, userinfoURL(dep.url(i+1), tok.AccessToken, tok.OpenID))
		return err
	}
}

// userinfoOp reads userinfo with one token, round-robin.
func (dep *deployment) userinfoOp(c *http.Client, tok system.Token) func(ctx context.Context, i int) error {
	return func(ctx context.Context, i int) error {
		_, err := Get(ctx, c, userinfoURL(dep.url(i), tok.AccessToken, tok.OpenID))
		return err
	}
}

// exchange trades code for a token at base, as the relying party does,
// and fails unless a token came back.
func exchange(ctx context.Context, c *http.Client, base, appID, secret, code string) (system.Token, []byte, error) {
	t, b, err := system.Exchange(ctx, c, base, appID, secret, code)
	if err == nil && t.AccessToken == "" {
		err = errors.New("exchange failed: " + string(b))
	}
	return t, b, err
}

// ReplicasOptions tune Replicas.
type ReplicasOptions struct {
	Duration time.Duration // per measured row
	// ServerProfile, when set, is where the SQLite server's CPU profile of
	// its 64-client exchange row is written, taken through the server's
	// own /debug/pprof/ on its metrics listener.
	ServerProfile string
}

// Replicas measures scanfree-server as separate processes: on SQLite (one
// process) and on one PostgreSQL database with 1, 2 and 3 replicas,
// requests spread round-robin, beside a bare net/http handler of the same
// run; then the QR push when the confirming and the waiting replica
// differ. PostgreSQL is the server SCANFREE_TEST_POSTGRES names; the run
// creates a database of its own there and drops it.
func Replicas(ctx context.Context, w io.Writer, opts ReplicasOptions) error {
	d := opts.Duration
	base := os.Getenv(pgtest.EnvDSN)
	if base == "" {
		fmt.Fprintf(w, "\n== replicas: skipped: set %s=%s ==\n", pgtest.EnvDSN, pgtest.Example)
		return nil
	}
	dsn, drop, err := pgtest.Create(ctx, base)
	if err != nil {
		return err
	}
	defer drop()
	dir, err := os.MkdirTemp("", "sfb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	lite, err := newDeployment(ctx, filepath.Join(dir, "bench.db"))
	if err != nil {
		return err
	}
	defer lite.stop()
	pg, err := newDeployment(ctx, dsn)
	if err != nil {
		return err
	}
	defer pg.stop()

	// The baseline answers with the bytes of a real exchange and userinfo.
	c := Client(64)
	sample, err := mintCodes(ctx, lite.store, lite.app.AppID, lite.userID, 1)
	if err != nil {
		return err
	}
	tok, tokBody, err := exchange(ctx, c, lite.url(0), lite.app.AppID, lite.app.Secret, sample[0])
	if err != nil {
		return err
	}
	infoBody, err := Get(ctx, c, userinfoURL(lite.url(0), tok.AccessToken, tok.OpenID))
	if err != nil {
		return err
	}
	bareURL, stopBare, err := listen(ctx, bareSNS(tokBody, infoBody))
	if err != nil {
		return err
	}
	defer stopBare()
	bare := &deployment{servers: []*system.Backend{{URL: bareURL}}, app: lite.app}

	// The single SQLite process's idle footprint, before any load.
	if rss, err := rssKB(lite.servers[0].Proc.Cmd.Process.Pid); err == nil {
		judge(w, Verdict{Target: "scanfree-server idle RSS after start, MiB", Ratio: float64(rss) / 1024, Bound: 30, AtMost: true, Measured: "VmRSS, SQLite"})
	}
	var exch, info []Result
	var liteCPU float64 // the SQLite server's CPU seconds per op at 64 clients
	measure := func(name string, dep *deployment, clients int) error {
		n := 20000
		codes := make([]string, n)
		if dep != bare {
			if codes, err = mintCodes(ctx, dep.store, dep.app.AppID, dep.userID, n); err != nil {
				return err
			}
		}
		c := Client(clients)
		defer c.CloseIdleConnections()
		var cpu0 int
		if dep == lite {
			cpu0, _ = cpuTicks(lite.servers[0].Proc.Cmd.Process.Pid)
		}
		profiled := make(chan error, 1)
		if dep == lite && clients == 64 && opts.ServerProfile != "" {
			go func() { profiled <- lite.profile(ctx, 0, d, opts.ServerProfile) }()
		} else {
			profiled <- nil
		}
		r := Run(ctx, name, clients, n, d, dep.exchangeOp(c, codes))
		if err := <-profiled; err != nil {
			return err
		}
		if dep == lite && clients == 64 && r.Ops > 0 {
			cpu1, _ := cpuTicks(lite.servers[0].Proc.Cmd.Process.Pid)
			liteCPU = float64(cpu1-cpu0) / 100 / float64(r.Ops)
		}
		exch = append(exch, r)
		t := tok
		if dep != bare && dep != lite {
			if t, _, err = exchange(ctx, c, dep.url(0), dep.app.AppID, dep.app.Secret, codes[len(codes)-1]); err != nil {
				return err
			}
		}
		info = append(info, Run(ctx, name, clients, 1<<30, d, dep.userinfoOp(c, t)))
		return nil
	}
	levels := []int{1, 16, 64}
	for _, clients := range levels {
		if err := measure("bare net/http", bare, clients); err != nil {
			return err
		}
		if err := measure("sqlite, 1 process", lite, clients); err != nil {
			return err
		}
	}
	for n := 1; n <= 3; n++ {
		if n > 1 {
			if err := pg.add(ctx); err != nil {
				return err
			}
		}
		for _, clients := range levels {
			if err := measure(fmt.Sprintf("postgres, %d replica(s)", n), pg, clients); err != nil {
				return err
			}
		}
	}
	Print(w, "code exchange + userinfo, separate processes, round-robin (one op = 2 requests)", "bare net/http", exch)
	Print(w, "userinfo alone", "bare net/http", info)
	judgeReplicas(w, exch, info, liteCPU)

	cred, err := enrolDevice(ctx, pg.url(0), pg.store)
	if err != nil {
		return err
	}
	const tickets = 300
	lat, rtt, err := pushLatency(ctx, pg.app.AppID, cred, tickets, pg.url(0), pg.url(1), pg.url(2))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== QR push across replicas (ticket on 1, long poll on 2, confirm on 3), %d tickets ==\n", tickets)
	fmt.Fprintf(w, "push latency:  p50 %v  p99 %v   (confirm round trip p50 %v)\n",
		round(lat[len(lat)/2]), round(lat[len(lat)*99/100]), round(rtt[len(rtt)/2]))
	judge(w, Verdict{Target: "QR push across replicas p99, ms", Ratio: float64(lat[len(lat)*99/100]) / 1e6, Bound: 50, AtMost: true,
		Measured: fmt.Sprintf("%d tickets", tickets)})
	return nil
}

// judgeReplicas judges the rows of Replicas against their targets.
// liteCPU is the SQLite server's CPU seconds per op at 64 clients: the
// machine's cores over it are the most ops/s its CPU allows.
func judgeReplicas(w io.Writer, exch, info []Result, liteCPU float64) {
	row := func(rows []Result, name string, clients int) Result {
		for _, r := range rows {
			if r.Name == name && r.Clients == clients {
				return r
			}
		}
		return Result{Elapsed: 1}
	}
	const lite, pg1, pg2, bare = "sqlite, 1 process", "postgres, 1 replica(s)", "postgres, 2 replica(s)", "bare net/http"
	if liteCPU > 0 {
		ceiling := float64(runtime.NumCPU()) / liteCPU
		got := row(exch, lite, 64).PerSec()
		judge(w, Verdict{Target: "sqlite exchange+userinfo vs the CPU ceiling, 64 clients", Ratio: got / ceiling, Bound: 0.75,
			Measured: fmt.Sprintf("%.0f ops/s of %.0f (%d cores / %.2f ms of server CPU per op)", got, ceiling, runtime.NumCPU(), liteCPU*1000)})
	}
	p50 := row(exch, lite, 1).P50
	judge(w, Verdict{Target: "sqlite exchange+userinfo p50 at 1 client, ms", Ratio: float64(p50) / 1e6, Bound: 0.5, AtMost: true,
		Measured: "one op = 2 requests"})
	ratio := func(rows []Result, a, b string, clients int) (float64, string) {
		x, y := row(rows, a, clients).PerSec(), row(rows, b, clients).PerSec()
		return x / y, fmt.Sprintf("%.0f vs %.0f ops/s", x, y)
	}
	for _, t := range []struct {
		target string
		rows   []Result
		a, b   string
		bound  float64
	}{
		{"userinfo alone, sqlite vs bare net/http", info, lite, bare, 0.35},
		{"exchange+userinfo, postgres 1 replica vs sqlite", exch, pg1, lite, 0.8},
		{"userinfo alone, postgres 1 replica vs sqlite", info, pg1, lite, 0.8},
		{"exchange+userinfo, postgres 2 replicas vs 1", exch, pg2, pg1, 0.9},
		{"userinfo alone, postgres 2 replicas vs 1", info, pg2, pg1, 0.9},
	} {
		r, m := ratio(t.rows, t.a, t.b, 64)
		judge(w, Verdict{Target: t.target + ", 64 clients", Ratio: r, Bound: t.bound, Measured: m})
	}
}

// bareSNS answers the exchange and userinfo with fixed bytes.
func bareSNS(tokBody, infoBody []byte) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sns/oauth2/access_token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(tokBody)
	})
	mux.HandleFunc("GET /sns/userinfo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(infoBody)
	})
	return mux
}
