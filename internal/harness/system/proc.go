// Package system starts the real scanfree system on loopback: the binaries
// built from this module, a scanfree-server on an SQLite file, scanfreed
// daemons with their own state dirs and the Demo Shop, talking real TLS and
// HTTP. It returns errors and owns no test: package e2e wraps it for the
// end-to-end tests, `scanfree-demo up` runs the demo with it, and the load
// drivers of package bench start their servers with it.
package system

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

// ModuleRoot returns the directory holding this module's go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w (is Go installed and on PATH?)", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the scanfree module; run from its checkout")
	}
	return filepath.Dir(mod), nil
}

// Build compiles the main package pkg (e.g. "./cmd/scanfree-server") once
// per process and returns the binary's path. Cleanup removes the binaries.
func Build(ctx context.Context, pkg string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p, nil
	}
	if prebuiltDir != "" { // `make build` made them already (make demo)
		p := filepath.Join(prebuiltDir, filepath.Base(pkg)+exeSuffix())
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			built[pkg] = p
			return p, nil
		}
	}
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "scanfree-bin-")
		if err != nil {
			return "", fmt.Errorf("build %s: %w", pkg, err)
		}
		buildDir = d
	}
	out := filepath.Join(buildDir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out, nil
}

// prebuiltDir, when set, holds binaries Build uses instead of building.
var prebuiltDir string

// UsePrebuilt makes Build use the binaries in dir (as `make build` puts
// them in bin/) where dir has the one asked for.
func UsePrebuilt(dir string) {
	buildMu.Lock()
	defer buildMu.Unlock()
	prebuiltDir = dir
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// Cleanup removes the binaries Build made.
func Cleanup() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		os.RemoveAll(buildDir)
		buildDir = ""
		clear(built)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago and
// that this process has not handed out before. It picks below the
// kernel's ephemeral range (where the port 0 trick would pick): there no
// outgoing connection of this or another process (an HTTP client, a
// database connection) can take the port before the server it is meant
// for binds it.
func FreePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 10000 + rand.IntN(ephemeralLow()-10000)
		if portsGiven[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		portsGiven[p] = true
		return p, nil
	}
	return 0, errors.New("find a free port: none free below the ephemeral range")
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// ephemeralLow is where the kernel's ephemeral ports begin (Linux's
// ip_local_port_range; 32768 elsewhere, below both Linux's and IANA's).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		var lo, hi int
		if _, err := fmt.Sscan(string(b), &lo, &hi); err == nil && lo > 11000 {
			return lo
		}
	}
	return 32768
}

// Poll calls cond every 10 ms until it reports true, ctx ends or d passes.
func Poll(ctx context.Context, d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", d, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// WaitHTTP waits until GET url answers 200.
func WaitHTTP(ctx context.Context, url string, d time.Duration) error {
	return Poll(ctx, d, url+" to answer", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Proc is a started process.
type Proc struct {
	Cmd    *exec.Cmd
	Stdout SyncBuffer // output, unless Start was given a writer
	Stderr SyncBuffer
	done   chan struct{}
	err    error
}

// defaultEnv is added to every started program's environment before its
// own; see SetDefaultEnv.
var defaultEnv []string

// SetDefaultEnv sets variables every program Start and Run start gets,
// unless the caller's env overrides them. Tests use it to keep what they
// start off the user's session bus; `make demo` does not.
func SetDefaultEnv(env ...string) { defaultEnv = env }

// environ is this process's environment, then the defaults, then env.
func environ(env []string) []string {
	return append(append(os.Environ(), defaultEnv...), env...)
}

// Start runs name with args in the background, with env added to this
// process's environment. Its output goes to out, or is kept in Stdout and
// Stderr when out is nil.
func Start(env []string, out io.Writer, name string, args ...string) (*Proc, error) {
	p := &Proc{Cmd: exec.Command(name, args...), done: make(chan struct{})}
	p.Cmd.Env = environ(env)
	p.Cmd.Stdout, p.Cmd.Stderr = &p.Stdout, &p.Stderr
	if out != nil {
		p.Cmd.Stdout, p.Cmd.Stderr = out, out
	}
	dieWithParent(p.Cmd)
	// The parent-death signal follows the OS thread that started the
	// process, not the test process, and a Go thread can end (a locked
	// goroutine that ends without unlocking, as a browser driver's may).
	// So one goroutine, locked to its thread, starts the process and waits
	// for it: the thread lives exactly as long as the process needs it
	// (go.dev/issue/27505).
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.Cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	return p, nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the process exited; call it after Done.
func (p *Proc) Err() error { return p.err }

// Kill kills the process and waits for it.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	<-p.done
}

// Stop asks the process to end with SIGTERM, kills it after grace, and
// waits for it.
func (p *Proc) Stop(grace time.Duration) {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// Run runs a command to completion with stdin and returns stdout, stderr
// and its error, giving up after a minute.
func Run(ctx context.Context, env []string, stdin string, name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = environ(env)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// SyncBuffer is a bytes.Buffer safe for the process's writes and the
// caller's reads at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func splitPort(addr string) (string, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("address %q: want host:port", addr)
	}
	return host, port, nil
}

func writeFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
