package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// Route picks the replica, by index, that serves a request.
type Route func(r *http.Request) int

// Replicas is a backend run as several scanfree-server processes on one
// PostgreSQL database, behind a load balancer of the test's own that
// sends each request where its Route says and remembers who served what.
// Its Backend is the load balancer's face: browsers, daemons and the shop
// use it as they use a single server.
type Replicas struct {
	*Backend
	Servers []*system.Backend

	mu     sync.Mutex
	served []served
}

type served struct {
	replica int
	path    string
}

// StartReplicas starts n replicas on dsn with one public URL (the load
// balancer's), seeded as StartBackend seeds a backend.
func StartReplicas(t testing.TB, dsn string, n int, route Route, args ...string) *Replicas {
	t.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	daemonPort := testutil.FreePort(t)
	rs := &Replicas{}
	servers, err := system.StartReplicas(ctx, system.ReplicaOptions{DB: dsn, N: n, PublicURL: "http://idp.localhost:" + port,
		Args: append([]string{"--device-interval", "200ms", "--log-level", "warn", "--daemon-ports", strconv.Itoa(daemonPort), passwordsAlone}, args...)})
	if err != nil {
		t.Fatal(err)
	}
	var targets []*url.URL
	for _, sb := range servers {
		testutil.Own(t, sb.Proc)
		u, _ := url.Parse(sb.URL)
		targets = append(targets, u)
	}
	rs.Servers = servers
	lb := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		i := route(pr.In) % n
		rs.mu.Lock()
		rs.served = append(rs.served, served{i, pr.In.URL.Path})
		rs.mu.Unlock()
		pr.SetURL(targets[i])
		pr.Out.Host = pr.In.Host // the public host, as a load balancer passes it
	}}
	srv := &http.Server{Handler: lb, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	front := *rs.Servers[0]
	front.Addr, front.URL, front.Proc = ln.Addr().String(), "http://"+ln.Addr().String(), nil
	shopPort := testutil.FreePort(t)
	rs.Backend = &Backend{Backend: &front, t: t, DaemonPort: daemonPort, ShopPort: shopPort, App: seed(t, rs.Servers[0], shopPort)}
	return rs
}

// ServedBy returns, in order and without repeats, the replicas that served
// requests whose path starts with prefix.
func (rs *Replicas) ServedBy(prefix string) []int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var out []int
	for _, s := range rs.served {
		if strings.HasPrefix(s.path, prefix) && !slices.Contains(out, s.replica) {
			out = append(out, s.replica)
		}
	}
	return out
}
