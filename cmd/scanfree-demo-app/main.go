// Command scanfree-demo-app is Demo Shop's desktop app: it signs in
// through scanfreed the way a mini-program signs in with wx.login, and
// prints who it is signed in as. Usage:
//
//	scanfree-demo-app [--shop http://127.0.0.1:8081] [--phone] [--socket PATH]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/scanfree/scanfree/client"
	"github.com/scanfree/scanfree/internal/version"
	"github.com/scanfree/scanfree/web/demo"
)

func main() {
	shop := flag.String("shop", "http://127.0.0.1:8081", "Demo Shop's server")
	phone := flag.Bool("phone", false, "also ask for the phone number")
	socket := flag.String("socket", "", "scanfreed's control socket (default: found as the tray finds it)")
	showVersion := flag.Bool("version", false, "print this build's version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("scanfree-demo-app", version.String())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := client.New()
	if *socket != "" {
		c = client.NewWithSocket(*socket)
	}
	if err := demo.RunDesktopApp(ctx, c, *shop, *phone, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scanfree-demo-app:", err)
		os.Exit(1)
	}
}
