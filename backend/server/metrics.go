package server

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scanfree/scanfree/backend/storage"
)

// metrics are the server's Prometheus figures, in a registry of its own
// so that two servers in one process (tests) do not collide.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.HistogramVec
	minted    prometheus.Counter
	exchanged *prometheus.CounterVec
	signins   *prometheus.CounterVec
	directory *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "scanfree_http_request_duration_seconds",
			Help: "HTTP requests by route and status, and how long they took (QR long polls included).",
			// 1 ms … 32 s: answers take milliseconds, long polls up to the poll timeout.
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"route", "status"}),
		minted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scanfree_codes_minted_total", Help: "Authorization codes minted (desktop, QR and fast sign-ins).",
		}),
		exchanged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scanfree_codes_exchanged_total", Help: "Authorization code exchanges, by result: ok, or reused (the code's tokens were revoked).",
		}, []string{"result"}),
		signins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scanfree_signins_total",
			Help: "Sign-ins to apps and to the backend's own pages, and refused ones, by method (scanfree, qr, password, desktop_app, device_approval, upstream) and result (ok, refused).",
		}, []string{"method", "result"}),
		directory: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scanfree_directory_errors_total",
			Help: "Times a connector's directory or provider did not answer (a sign-in or a sync check), by connector id.",
		}, []string{"connector"}),
	}
	m.reg.MustRegister(m.requests, m.minted, m.exchanged, m.signins, m.directory,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "scanfree_qr_tickets_live", Help: "QR tickets not yet expired, across all replicas (read from the database).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := s.store.CountTickets(ctx, s.now())
			if err != nil {
				return math.NaN()
			}
			return float64(n)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "scanfree_qr_polls_waiting", Help: "QR status long polls waiting in this replica.",
		}, func() float64 { return float64(s.tickets.Waiting()) }),
	)
	if p, ok := s.store.(storage.Pooled); ok {
		pool := func(name, help string, v func(storage.PoolStats) float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scanfree_db_pool_" + name, Help: help},
				func() float64 { return v(p.PoolStats()) })
		}
		m.reg.MustRegister(
			pool("open", "Database connections open.", func(s storage.PoolStats) float64 { return float64(s.Open) }),
			pool("in_use", "Database connections in use.", func(s storage.PoolStats) float64 { return float64(s.InUse) }),
			pool("idle", "Database connections idle.", func(s storage.PoolStats) float64 { return float64(s.Idle) }),
			pool("max", "Most database connections the pool opens.", func(s storage.PoolStats) float64 { return float64(s.Max) }),
			pool("waits", "Times a query waited for a free connection (cumulative).", func(s storage.PoolStats) float64 { return float64(s.Waits) }),
			pool("wait_seconds", "Time queries spent waiting for a connection (cumulative).", func(s storage.PoolStats) float64 { return s.WaitTime.Seconds() }),
		)
	}
	if c, ok := s.store.(storage.Counted); ok {
		m.reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "scanfree_db_statements_total",
				Help: "SQL statements this replica ran, not counting transaction control."},
				func() float64 { return float64(c.Counts().Statements) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "scanfree_db_writes_total",
				Help: "Write transactions this replica ran."},
				func() float64 { return float64(c.Counts().Writes) }),
		)
	}
	return m
}

// instrument counts and times every request by its route pattern (never
// the raw path, which holds uuids and would make unbounded labels).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "none" // refused before routing (cross-origin) or no route matched
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
	})
}

// Metrics returns the handler of /metrics in Prometheus text format.
func (s *Server) Metrics() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
