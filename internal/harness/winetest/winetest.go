// Package winetest runs the Windows build in Wine (Debian's) for tests: a
// throwaway prefix per test with a stand-in for the one DLL function Wine
// 8.0 lacks, the cross-built binaries, and the relay that lets a Linux
// program reach a Windows daemon's local API (see Prefix.Relay).
package winetest

import (
	"context"
	_ "embed"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// standIn is the source of the stand-in bcryptprimitives.dll: Wine 8.0
// lacks ProcessPrng, the Go runtime's random source since Go 1.22.
//
//go:embed testdata/bcryptprimitives.c
var standIn []byte

// Prefix is a throwaway Wine prefix the Windows build runs in.
type Prefix struct {
	t       testing.TB
	Dir     string   // WINEPREFIX
	Env     []string // the environment every program in it runs with
	Display string   // the X display its windows go to, "" for none
}

// New makes a prefix whose windows go to display ("" for none), with
// the stand-in DLL, and stops every process of it when the test ends.
func New(t testing.TB, display string) *Prefix {
	t.Helper()
	testutil.NeedTools(t, "wine", "wineserver", "x86_64-w64-mingw32-gcc")
	dir := t.TempDir()
	p := &Prefix{t: t, Dir: dir, Display: display,
		Env: []string{"WINEPREFIX=" + dir, "WINEDEBUG=-all", "WINEDLLOVERRIDES=bcryptprimitives=n;mscoree,mshtml=", "DISPLAY=" + display}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		testutil.Run(ctx, p.Env, "", "wineserver", "-k")
		testutil.Run(ctx, p.Env, "", "wineserver", "-w")
	})
	if out, errOut, err := p.Run(2*time.Minute, "wineboot", "--init"); err != nil {
		t.Fatalf("wineboot --init: %v\n%s%s", err, out, errOut)
	}
	src := filepath.Join(t.TempDir(), "bcryptprimitives.c")
	if err := os.WriteFile(src, standIn, 0o644); err != nil {
		t.Fatal(err)
	}
	dll := filepath.Join(dir, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-shared", "-O2", "-o", dll, src, "-ladvapi32").CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in bcryptprimitives.dll: %v\n%s", err, out)
	}
	return p
}

// Run runs a program in the prefix and returns its stdout and stderr.
// They go through files, not pipes: Wine's long-lived processes
// (wineserver, explorer.exe with a display) inherit the program's output
// and would hold a pipe open long after the program ended.
func (p *Prefix) Run(limit time.Duration, name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	dir, err := os.MkdirTemp("", "wine-run")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(dir)
	var files [2]*os.File
	for i := range files {
		if files[i], err = os.Create(filepath.Join(dir, strconv.Itoa(i))); err != nil {
			return "", "", err
		}
		defer files[i].Close()
	}
	cmd := exec.CommandContext(ctx, "wine", append([]string{name}, args...)...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = files[0], files[1]
	err = cmd.Run()
	out, _ := os.ReadFile(files[0].Name())
	errOut, _ := os.ReadFile(files[1].Name())
	return string(out), string(errOut), err
}

// Start runs a program in the prefix in the background; the test's
// cleanup kills it (and the prefix's cleanup all of Wine). Its output
// goes to a file (see Run), logged when the test fails.
func (p *Prefix) Start(name string, args ...string) *system.Proc {
	p.t.Helper()
	out, err := os.CreateTemp(p.t.TempDir(), "out")
	if err != nil {
		p.t.Fatal(err)
	}
	proc, err := system.Start(p.Env, out, "wine", append([]string{name}, args...)...)
	out.Close()
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		proc.Kill()
		if p.t.Failed() {
			b, _ := os.ReadFile(out.Name())
			p.t.Logf("%s output:\n%s", filepath.Base(name), b)
		}
	})
	return proc
}

// Reg is `reg query KEY` in the prefix: the key's values, "" without it.
func (p *Prefix) Reg(key string) string {
	out, _, err := p.Run(time.Minute, "reg", "query", key)
	if err != nil {
		return ""
	}
	return out
}

// Path is a Linux path as Windows programs in the prefix see it (Wine
// maps Z: to /).
func Path(linux string) string { return "Z:" + strings.ReplaceAll(linux, "/", `\`) }

// Build builds pkg for Windows (amd64) into dir and returns the .exe.
func Build(t testing.TB, pkg, dir string) string {
	t.Helper()
	exe := filepath.Join(dir, filepath.Base(pkg)+".exe")
	cmd := exec.Command("go", "build", "-o", exe, pkg)
	cmd.Dir = testutil.ModuleRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s for Windows: %v\n%s", pkg, err, out)
	}
	return exe
}

// Relay forwards loopback port from (IPv4 and IPv6) to to, from inside
// the prefix. Wine's TCP table names only Wine's own processes (a Linux
// program's connection shows as PID 0), and the Windows daemon rightly
// refuses a client it cannot identify; a Linux browser reaches it
// through this relay, a Windows process of the same user, instead. The
// relay carries bytes only: TLS still ends at the daemon.
func (p *Prefix) Relay(dir string, from, to int) {
	p.t.Helper()
	exe := Build(p.t, "./internal/harness/winetest/relay", dir)
	p.Start(exe, "-from", strconv.Itoa(from), "-to", strconv.Itoa(to))
	testutil.Eventually(p.t, 30*time.Second, "the relay to listen", func() bool {
		for _, host := range []string{"127.0.0.1", "::1"} {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(from)), time.Second)
			if err != nil {
				return false
			}
			c.Close()
		}
		return true
	})
}
