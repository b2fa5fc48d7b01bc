package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/system"
)

// Server is a PostgreSQL server of one test's own, in a temporary data
// directory on a free port, for tests that stop and restart the database:
// the machine's shared server must keep serving the other tests.
type Server struct {
	t    testing.TB
	bin  string // the PostgreSQL binaries' directory
	dir  string // data directory
	Port int
	as   []string // runs a command as the server's owner
}

// StartServer initialises and starts a private server; the test's cleanup
// stops it and removes its files. Without PostgreSQL's server binaries
// (initdb, pg_ctl) it skips t, or fails it under SCANFREE_REQUIRE_E2E=1.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin := serverBin()
	if bin == "" {
		msg := "PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql (see .ci/run)"
		if os.Getenv("SCANFREE_REQUIRE_E2E") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	port, err := system.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: bin, Port: port}
	// initdb refuses to run as root: run the server as the postgres user,
	// in a directory it may enter.
	top, err := os.MkdirTemp("", "scanfree-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	s.dir = filepath.Join(top, "data")
	if err := os.Mkdir(s.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		os.Chmod(top, 0o755)
		out, err := exec.Command("chown", "postgres:", s.dir).CombinedOutput()
		if err != nil {
			t.Fatalf("chown the data directory to postgres: %v %s", err, out)
		}
		s.as = []string{"runuser", "-u", "postgres", "--"}
	}
	s.run("initdb", "-D", s.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	s.Start()
	t.Cleanup(func() { s.ctl("stop", "-m", "immediate") })
	return s
}

// DSN is the URL of database db on the server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s", s.Port, db)
}

// Start starts the server and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	s.ctl("start", "-w", "-t", "30", "-l", filepath.Join(s.dir, "log"),
		"-o", "-p "+strconv.Itoa(s.Port)+" -k "+s.dir+" -c listen_addresses=127.0.0.1 -c fsync=off")
}

// Stop stops the server at once, as a crash or a power cut would
// (in-flight transactions are lost, committed ones are not).
func (s *Server) Stop() {
	s.t.Helper()
	s.ctl("stop", "-w", "-m", "immediate")
}

// Restart stops the server as an administrator would (disconnecting every
// client) and starts it again. It is not pg_ctl restart, which would start
// the server without its log file, writing to (and holding open) the
// pipe this process reads.
func (s *Server) Restart() {
	s.t.Helper()
	s.ctl("stop", "-w", "-m", "fast", "-t", "30")
	s.Start()
}

func (s *Server) ctl(args ...string) {
	s.t.Helper()
	s.run("pg_ctl", append([]string{"-D", s.dir}, args...)...)
}

func (s *Server) run(name string, args ...string) {
	s.t.Helper()
	argv := append(append(append([]string{}, s.as...), filepath.Join(s.bin, name)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = os.TempDir()
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("%s %v (after %s): %v\n%s", name, args, time.Since(start).Round(time.Millisecond), err, out)
	}
}

// serverBin finds the newest PostgreSQL server binaries.
func serverBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}
