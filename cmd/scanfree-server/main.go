// Command scanfree-server is the scanfree reference identity backend.
// See `scanfree-server --help`; the logic lives in backend/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/scanfree/scanfree/backend/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
