// Package bench holds scanfree's load drivers. Each drives a real server
// on loopback and a bare baseline in the same run, and prints a table of
// throughput, latency percentiles and the ratio to the baseline.
package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Result is one measured row.
type Result struct {
	Name    string
	Clients int
	Ops     int
	Elapsed time.Duration
	P50     time.Duration
	P99     time.Duration
	Errors  int
}

// PerSec is the completed operations per second.
func (r Result) PerSec() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// Run calls op from clients goroutines until d has passed or maxOps were
// started, and measures each call.
func Run(ctx context.Context, name string, clients, maxOps int, d time.Duration, op func(ctx context.Context, i int) error) Result {
	var next atomic.Int64
	var errs atomic.Int64
	lat := make([][]time.Duration, clients)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= maxOps {
					return
				}
				t0 := time.Now()
				if err := op(ctx, i); err != nil {
					errs.Add(1)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := Result{Name: name, Clients: clients, Ops: len(all), Elapsed: elapsed, Errors: int(errs.Load())}
	if len(all) > 0 {
		r.P50 = all[len(all)/2]
		r.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}

// Print writes rows as a table; each row's ratio is its throughput over
// that of the baseline row with the same client count of its run.
func Print(w io.Writer, title, baseline string, rows []Result) {
	fmt.Fprintf(w, "\n== %s ==\n", title)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tclients\tops/s\tp50\tp99\terrors\tvs "+baseline+"\t")
	// A row's baseline is the one of its client count measured last before
	// it (runs repeat the pair), else the first after it.
	base := map[int]float64{}
	for _, r := range rows {
		if _, ok := base[r.Clients]; !ok && r.Name == baseline {
			base[r.Clients] = r.PerSec()
		}
	}
	for _, r := range rows {
		if r.Name == baseline {
			base[r.Clients] = r.PerSec()
		}
		ratio := "-"
		if b := base[r.Clients]; b > 0 && r.Name != baseline {
			ratio = fmt.Sprintf("%.2fx", r.PerSec()/b)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%d\t%s\t\n", r.Name, r.Clients, r.PerSec(), round(r.P50), round(r.P99), r.Errors, ratio)
	}
	tw.Flush()
}

func round(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	default:
		return d.Round(10 * time.Microsecond).String()
	}
}

// Client returns an HTTP client that keeps enough idle connections for
// the given concurrency.
func Client(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns * 2
	tr.MaxIdleConnsPerHost = conns * 2
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Get fetches url and drains the body, failing on a non-200 answer.
func Get(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, err
}
