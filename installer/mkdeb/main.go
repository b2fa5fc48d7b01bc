// Command mkdeb builds scanfree's Debian package (package installer) from
// binaries already built: `go run ./installer/mkdeb -bin DIR -version V
// -arch amd64 -o scanfree.deb`. `make dist` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/scanfree/scanfree/installer"
)

func main() {
	var o installer.DebOptions
	flag.StringVar(&o.Bin, "bin", "bin", "directory holding scanfreed and scanfree-tray built for -arch")
	flag.StringVar(&o.Version, "version", "dev", "release name (git describe)")
	flag.StringVar(&o.Arch, "arch", "amd64", "amd64 or arm64")
	flag.StringVar(&o.Out, "o", "scanfree.deb", "the package file to write")
	flag.Parse()
	if err := installer.BuildDeb(context.Background(), o); err != nil {
		fmt.Fprintf(os.Stderr, "mkdeb: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(o.Out)
}
