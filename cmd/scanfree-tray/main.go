// Command scanfree-tray is scanfree's system-tray app (see tray/). It finds
// the daemon exactly as scanfreed's CLI does: --state-dir, --socket.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/version"
	"github.com/scanfree/scanfree/tray"
)

func main() {
	stateDir := flag.String("state-dir", control.DefaultStateDir(), "the daemon's state dir (env SCANFREE_STATE_DIR)")
	socket := flag.String("socket", "", "the daemon's control socket (default <state-dir>/control.sock; env SCANFREE_SOCKET)")
	showVersion := flag.Bool("version", false, "print this build's version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("scanfree-tray", version.String())
		return
	}
	if *socket == "" {
		*socket = control.DefaultSocket(*stateDir)
	}
	scanfreed := "scanfreed"
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "scanfreed"); fileExists(p) {
			scanfreed = p
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := tray.Run(ctx, tray.Options{StateDir: *stateDir, Socket: *socket, Scanfreed: scanfreed})
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "scanfree-tray: %v\n", err)
		os.Exit(1)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
