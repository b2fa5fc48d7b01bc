// Command scanfree-demo runs "Demo Shop", the demo relying party (see
// web/demo): scanfree-demo --app-file app.json [--addr 127.0.0.1:8081].
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/scanfree/scanfree/web/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demo.Main(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "scanfree-demo: %v\n", err)
		stop()
		os.Exit(1)
	}
}
