package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/certs"
	"github.com/scanfree/scanfree/daemon"
	"github.com/scanfree/scanfree/internal/harness/system"
)

// DaemonOptions tune the daemon benchmark.
type DaemonOptions struct {
	Duration time.Duration // per measured level
	Idle     time.Duration // idle CPU window (60 s)
	Runs     int           // runs of each check-login row (3)
}

// Daemon measures check-login over TLS with keep-alive at 1 and 32
// clients beside a bare Go TLS server answering the same bytes, then the
// real binary's idle RSS, idle CPU and time from start to serving.
func Daemon(ctx context.Context, w io.Writer, opts DaemonOptions) error {
	dir, err := os.MkdirTemp("", "sfb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sv, err := serve(ctx, server.Config{DeviceInterval: time.Second})
	if err != nil {
		return err
	}
	defer sv.close()
	backendURL, appID := sv.url, sv.app.AppID

	// The daemon in this process, as the bare server is: both share the
	// load generator's two cores alike. Rate limits are lifted to measure
	// the request path itself.
	port, err := system.FreePort()
	if err != nil {
		return err
	}
	const origin = "http://idp.localhost"
	d, err := daemon.New(daemon.Config{StateDir: filepath.Join(dir, "st"), BackendURL: backendURL, Port: port, TrustedOrigins: []string{origin},
		NoDialog: true, NoNotify: true, CheckLoginRate: 1e9, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go d.Run(dctx)
	<-d.Ready()
	if err := signIn(ctx, d, sv.st); err != nil {
		return err
	}
	port = d.Status().Port
	ca, err := certs.LoadCA(filepath.Join(dir, "st"))
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	body := `{"apiname":"qrconnectchecklogin","jsdata":{"appid":"` + appID + `","scope":"snsapi_login","redirect_uri":"` + benchRedirect + `","state":"s"}}`
	daemonURL := fmt.Sprintf("https://%s:%d/api/check-login", certs.DefaultDomain, port)
	sample, err := post(ctx, tlsClient(roots, 1), daemonURL, origin, body)
	if err != nil || !bytes.Contains(sample, []byte(`"errcode":0`)) {
		return fmt.Errorf("sample check-login: %s %v", sample, err)
	}
	bareURL, stopBare, err := bareTLS(ca, sample)
	if err != nil {
		return err
	}
	defer stopBare()

	// Runs alternate the two servers level by level, so that a slower
	// moment of the machine falls on both; each target is judged on the
	// median run, and the spread between runs is reported beside it.
	runs := max(opts.Runs, 1)
	levels := []int{1, 16, 64}
	var rows []Result
	ratios := map[int][][2]float64{} // clients → per run: throughput ratio, p50 ratio
	for range runs {
		for _, clients := range levels {
			var pair [2]Result
			for i, s := range []struct{ name, url string }{{"bare Go TLS server", bareURL}, {"scanfreed check-login", daemonURL}} {
				c := tlsClient(roots, clients)
				pair[i] = Run(ctx, s.name, clients, 1<<30, opts.Duration, func(ctx context.Context, _ int) error {
					_, err := post(ctx, c, s.url, origin, body)
					return err
				})
				c.CloseIdleConnections()
			}
			rows = append(rows, pair[:]...)
			ratios[clients] = append(ratios[clients], [2]float64{pair[1].PerSec() / pair[0].PerSec(), float64(pair[1].P50) / float64(pair[0].P50)})
		}
	}
	Print(w, fmt.Sprintf("check-login over TLS, keep-alive, %d runs of %v per row", runs, opts.Duration), "bare Go TLS server", rows)
	for _, clients := range levels {
		tput, p50 := spread(ratios[clients], 0), spread(ratios[clients], 1)
		judge(w, Verdict{Target: fmt.Sprintf("daemon check-login throughput vs bare TLS, %d clients", clients), Ratio: tput.median, Bound: 0.9,
			Measured: tput.about(0.9)})
		judge(w, Verdict{Target: fmt.Sprintf("daemon check-login p50 vs bare TLS, %d clients", clients), Ratio: p50.median, Bound: 1.2, AtMost: true,
			Measured: p50.about(1.2)})
	}
	cancel()
	return daemonProcess(ctx, w, backendURL, opts.Idle)
}

// daemonProcess measures the real binary: start-to-serving, idle RSS and
// idle CPU.
func daemonProcess(ctx context.Context, w io.Writer, backendURL string, idle time.Duration) error {
	dir, err := os.MkdirTemp("", "sfb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := system.Build(ctx, "./cmd/scanfreed")
	if err != nil {
		return err
	}
	state := filepath.Join(dir, "st")
	// The first start creates the CA; the measured starts find it, as every
	// start after the install does.
	var starts []time.Duration
	var proc *exec.Cmd
	for i := range 11 {
		port, err := system.FreePort()
		if err != nil {
			return err
		}
		cmd := exec.Command(bin, "run", "--state-dir", state, "--backend", backendURL, "--port", strconv.Itoa(port), "--no-dialog", "--no-notify", "--log-level", "error")
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		if err := waitTLS(port, 10*time.Second); err != nil {
			cmd.Process.Kill()
			return err
		}
		if i > 0 {
			starts = append(starts, time.Since(t0))
		}
		if i < 10 {
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		} else {
			proc = cmd
		}
	}
	defer func() { proc.Process.Kill(); proc.Wait() }()
	slices.Sort(starts)
	rss, _ := rssKB(proc.Process.Pid)
	cpu0, _ := cpuTicks(proc.Process.Pid)
	time.Sleep(idle) // measuring idleness is waiting
	cpu1, _ := cpuTicks(proc.Process.Pid)
	fmt.Fprintf(w, "\n== scanfreed process ==\n")
	fmt.Fprintf(w, "start to serving TLS:  p50 %v, max %v over %d starts (target <= 150ms)\n",
		starts[len(starts)/2].Round(time.Millisecond), starts[len(starts)-1].Round(time.Millisecond), len(starts))
	judge(w, Verdict{Target: "scanfreed idle RSS after start, MiB", Ratio: float64(rss) / 1024, Bound: 20, AtMost: true, Measured: "VmRSS"})
	fmt.Fprintf(w, "idle CPU over %v:     %d clock ticks = %.2f s (target ~0: no polling loops)\n", idle, cpu1-cpu0, float64(cpu1-cpu0)/100)
	return nil
}

func waitTLS(port int, d time.Duration) error {
	deadline := time.Now().Add(d)
	cfg := &tls.Config{InsecureSkipVerify: true}
	for time.Now().Before(deadline) {
		c, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), cfg)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("scanfreed did not serve on port %d within %v", port, d)
}

func rssKB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpuTicks is utime+stime of pid in clock ticks (1/100 s).
func cpuTicks(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.Atoi(fields[11])
	s, _ := strconv.Atoi(fields[12])
	return u + s, nil
}

// runSpread is one ratio over several runs.
type runSpread struct{ median, lo, hi float64 }

// spread takes column i of the runs' ratios.
func spread(runs [][2]float64, i int) runSpread {
	v := make([]float64, len(runs))
	for j, r := range runs {
		v[j] = r[i]
	}
	slices.Sort(v)
	return runSpread{median: v[len(v)/2], lo: v[0], hi: v[len(v)-1]}
}

// about describes s against bound: a spread between runs wider than the
// gap to the bound makes the verdict a coin toss, and says so.
func (s runSpread) about(bound float64) string {
	gap, width := math.Abs(s.median-bound), s.hi-s.lo
	sure := "spread < gap"
	if width >= gap {
		sure = "spread >= gap: inconclusive"
	}
	return fmt.Sprintf("median of runs %.2f-%.2f; %s", s.lo, s.hi, sure)
}

// signIn enrols d as alice, approved directly in the backend's store.
func signIn(ctx context.Context, d *daemon.Daemon, st storage.Storage) error {
	l, err := d.StartLogin(ctx)
	if err != nil {
		return err
	}
	if _, err := admin.ApproveDevice(ctx, st, "alice", l.UserCode, time.Now()); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for !d.Status().SignedIn {
		if time.Now().After(deadline) {
			return errors.New("the daemon did not sign in")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func tlsClient(roots *x509.CertPool, conns int) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots},
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			var d net.Dialer
			return d.DialContext(ctx, "tcp", "127.0.0.1:"+port)
		},
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func post(ctx context.Context, c *http.Client, url, origin, body string) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", origin)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("%s: %s", resp.Status, b)
	}
	return b, err
}

// bareTLS serves body for every request with a leaf of ca: the baseline.
func bareTLS(ca *certs.CA, body []byte) (string, func(), error) {
	leaf, key, err := certs.NewLeaf(ca.Cert, ca.Key, certs.DefaultDomain, time.Now())
	if err != nil {
		return "", nil, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Raw}, PrivateKey: key}}})
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(body)
	})}
	go srv.Serve(ln)
	return fmt.Sprintf("https://%s:%d/api/check-login", certs.DefaultDomain, ln.Addr().(*net.TCPAddr).Port), func() { srv.Close() }, nil
}
