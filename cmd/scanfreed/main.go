// Command scanfreed is scanfree's per-user daemon. See `scanfreed --help`;
// the logic lives in daemon/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/scanfree/scanfree/daemon/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
