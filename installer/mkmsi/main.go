// Command mkmsi builds scanfree's Windows installer (package installer)
// from binaries already built for windows/amd64: `go run ./installer/mkmsi
// -bin DIR -version V -o scanfree.msi`. `make dist` runs it; it needs
// msitools' wixl.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/scanfree/scanfree/installer"
)

func main() {
	var o installer.MSIOptions
	flag.StringVar(&o.Bin, "bin", "bin", "directory holding scanfreed.exe and scanfree-tray.exe built for windows/amd64")
	flag.StringVar(&o.Version, "version", "dev", "release name (git describe)")
	flag.StringVar(&o.Out, "o", "scanfree.msi", "the installer file to write")
	flag.Parse()
	if err := installer.BuildMSI(context.Background(), o); err != nil {
		fmt.Fprintf(os.Stderr, "mkmsi: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(o.Out)
}
