package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/scanfree/scanfree/internal/harness/testutil"
	"github.com/scanfree/scanfree/internal/secret"
)

// openPTY opens a pseudo-terminal pair: the master the test types into and
// reads from, and the slave the command gets as its terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	master = os.NewFile(uintptr(mfd), "/dev/ptmx")
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { master.Close(); slave.Close() })
	return master, slave
}

// typist is a person at the terminal: it sees what the command writes and
// types a line only once the terminal no longer echoes.
type typist struct {
	t      *testing.T
	master *os.File
	mu     sync.Mutex
	screen bytes.Buffer
}

func (p *typist) read() {
	buf := make([]byte, 1024)
	for {
		n, err := p.master.Read(buf)
		p.mu.Lock()
		p.screen.Write(buf[:n])
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (p *typist) seen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.screen.String()
}

// typeSecret waits for prompt on the screen and for echo to be off (the
// master shares the slave's termios on Linux), then types line.
func (p *typist) typeSecret(prompt, line string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(p.master.Fd()), unix.TCGETS)
		if err != nil {
			p.t.Fatalf("termios: %v", err)
		}
		if strings.HasSuffix(strings.TrimRight(p.seen(), " "), strings.TrimRight(prompt, " ")) && tio.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %q prompt with echo off; the screen shows %q", prompt, p.seen())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := p.master.WriteString(line + "\n"); err != nil {
		p.t.Fatal(err)
	}
}

// TestPasswordPromptOnTerminal: `user create --password-stdin` typed at a
// terminal asks twice without echo; the password never shows on screen, and
// two different answers create no account.
func TestPasswordPromptOnTerminal(t *testing.T) {
	bin := testutil.Build(t, "./cmd/scanfree-server")
	db := filepath.Join(t.TempDir(), "scanfree.db")
	const pw = "correct horse 42"

	// run types first and second at the prompts and returns the screen once
	// it shows want.
	run := func(t *testing.T, name, first, second, want string) (string, error) {
		master, slave := openPTY(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "user", "create", "--db", db, "--username", name, "--nickname", name, "--password-stdin")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		// A failed test still ends the command before it returns.
		defer func() { cancel(); <-waited }()
		p := &typist{t: t, master: master}
		go p.read()
		p.typeSecret("Password: ", first)
		p.typeSecret("Password again: ", second)
		var err error
		select {
		case err = <-waited:
			waited <- err
		case <-ctx.Done():
			t.Fatalf("user create did not finish; the screen shows %q", p.seen())
		}
		// The command's last words may still be on their way to the screen.
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(p.seen(), want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		return p.seen(), err
	}

	t.Run("same twice", func(t *testing.T) {
		screen, err := run(t, "carol", pw, pw, "created user carol")
		if err != nil {
			t.Fatalf("user create: %v\n%s", err, screen)
		}
		if strings.Contains(screen, pw) || strings.Contains(screen, "horse") {
			t.Fatalf("the password was echoed: %q", screen)
		}
		if !strings.Contains(screen, "created user carol") {
			t.Fatalf("screen: %q", screen)
		}
		if hash := passwordHash(t, db, "carol"); hash == "" {
			t.Fatal("carol has no password")
		} else if ok, err := secret.CheckPassword(hash, pw); err != nil || !ok {
			t.Fatalf("the stored password is not the one typed (ok=%v err=%v)", ok, err)
		}
	})
	t.Run("two different", func(t *testing.T) {
		screen, err := run(t, "dave", pw, pw+"x", "the two passwords differ")
		if err == nil {
			t.Fatalf("user create accepted two different passwords:\n%s", screen)
		}
		if !strings.Contains(screen, "the two passwords differ") {
			t.Fatalf("screen: %q", screen)
		}
		if hash := passwordHash(t, db, "dave"); hash != "" {
			t.Fatal("dave was created anyway")
		}
	})
}

func passwordHash(t *testing.T, db, username string) string {
	t.Helper()
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var hash string
	err = conn.QueryRow(`SELECT password_hash FROM users WHERE username = ?`, username).Scan(&hash)
	if err == sql.ErrNoRows {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return hash
}
