// Command scanfree-bench runs scanfree's load drivers and prints their
// tables (see `make bench`), then every target it judged with its ratio
// and verdict. Usage: scanfree-bench [-d 2s] [-idle 60s] [-daemon-d 10s]
// [-daemon-runs 3] [-polls 20000] [-events 1000000] [-cpuprofile f] [-server-cpuprofile f]
// [backend|oidc|certs|daemon|qr|replicas|log ...]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/scanfree/scanfree/internal/harness/bench"
	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/version"
)

func main() {
	d := flag.Duration("d", 2*time.Second, "duration of each measured level")
	idle := flag.Duration("idle", 60*time.Second, "window for the daemon's idle CPU")
	daemonD := flag.Duration("daemon-d", 10*time.Second, "duration of each check-login row (at least 10s for the target's verdict)")
	daemonRuns := flag.Int("daemon-runs", 3, "runs of the check-login rows")
	polls := flag.Int("polls", 20000, "concurrent waiting QR long polls to hold")
	events := flag.Int("events", 1_000_000, "events the sign-in log is seeded with")
	showVersion := flag.Bool("version", false, "print this build's version and exit")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the scenarios (the in-process servers and the drivers) to this file, for `go tool pprof`")
	serverProfile := flag.String("server-cpuprofile", "", "replicas: write the SQLite scanfree-server's CPU profile of its 64-client exchange row to this file, taken from its /debug/pprof/")
	flag.Parse()
	if *showVersion {
		fmt.Println("scanfree-bench", version.String())
		return
	}
	scenarios := map[string]func(context.Context, *os.File, time.Duration) error{
		"backend": func(ctx context.Context, w *os.File, d time.Duration) error { return bench.Backend(ctx, w, d) },
		"certs":   func(ctx context.Context, w *os.File, d time.Duration) error { return bench.Certs(ctx, w, d) },
		"daemon": func(ctx context.Context, w *os.File, d time.Duration) error {
			return bench.Daemon(ctx, w, bench.DaemonOptions{Duration: *daemonD, Idle: *idle, Runs: *daemonRuns})
		},
		"replicas": func(ctx context.Context, w *os.File, d time.Duration) error {
			return bench.Replicas(ctx, w, bench.ReplicasOptions{Duration: d, ServerProfile: *serverProfile})
		},
		"oidc": func(ctx context.Context, w *os.File, d time.Duration) error { return bench.OIDC(ctx, w, d) },
		"dpop": func(ctx context.Context, w *os.File, d time.Duration) error { return bench.DPoP(ctx, w, d) },
		"log": func(ctx context.Context, w *os.File, d time.Duration) error {
			return bench.EventLog(ctx, w, bench.LogOptions{Events: *events})
		},
		"qr": func(ctx context.Context, w *os.File, d time.Duration) error {
			return bench.QR(ctx, w, bench.QROptions{Tickets: 1000, Polls: *polls})
		},
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "scanfree-bench: -cpuprofile: %v\n", err)
			os.Exit(2)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	names := flag.Args()
	if len(names) == 0 {
		names = []string{"backend", "oidc", "dpop", "certs", "daemon", "qr", "replicas", "log"}
	}
	for _, n := range names {
		run, ok := scenarios[n]
		if !ok {
			fmt.Fprintf(os.Stderr, "scanfree-bench: unknown scenario %q; known: backend, oidc, dpop, certs, daemon, qr, replicas, log\n", n)
			os.Exit(2)
		}
		err := run(context.Background(), os.Stdout, *d)
		system.Cleanup() // the binaries a scenario built
		if err != nil {
			fmt.Fprintf(os.Stderr, "scanfree-bench %s: %v\n", n, err)
			pprof.StopCPUProfile() // os.Exit skips the deferred stop
			os.Exit(1)
		}
	}
	bench.PrintVerdicts(os.Stdout)
}
