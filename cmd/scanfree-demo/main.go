// Command scanfree-demo runs "Demo Shop", the demo relying party (see
// web/demo): `scanfree-demo --app-file app.json`. `scanfree-demo up`
// runs the whole system for `make demo` (package demoup).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/scanfree/scanfree/internal/harness/demoup"
	"github.com/scanfree/scanfree/internal/version"
	"github.com/scanfree/scanfree/web/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "-version" || os.Args[1] == "version") {
		fmt.Println("scanfree-demo", version.String())
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "up" {
		err = demoup.Up(ctx, os.Args[2:], os.Stdout)
	} else {
		err = demo.Main(ctx, os.Args[1:])
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "scanfree-demo: %v\n", err)
		os.Exit(1)
	}
}
