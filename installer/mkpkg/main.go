// Command mkpkg builds scanfree's packages (package installer) from
// binaries already built: `go run ./installer/mkpkg deb -bin DIR -version
// V -arch amd64 -o scanfree.deb` (needs dpkg-deb), or `go run
// ./installer/mkpkg msi -bin DIR -version V -o scanfree.msi` with the
// windows/amd64 .exe files (needs msitools' wixl). `make dist` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/scanfree/scanfree/installer"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "deb" && os.Args[1] != "msi") {
		fmt.Fprintln(os.Stderr, "usage: mkpkg deb|msi -bin DIR -version V [-arch amd64|arm64] -o FILE")
		os.Exit(2)
	}
	kind := os.Args[1]
	fs := flag.NewFlagSet("mkpkg "+kind, flag.ExitOnError)
	bin := fs.String("bin", "bin", "directory holding the binaries built for the package's OS and -arch")
	version := fs.String("version", "dev", "release name (git describe)")
	arch := fs.String("arch", "amd64", "amd64 or arm64 (deb; the MSI is amd64)")
	out := fs.String("o", "scanfree."+kind, "the package file to write")
	fs.Parse(os.Args[2:])
	var err error
	if kind == "deb" {
		err = installer.BuildDeb(context.Background(), installer.DebOptions{Bin: *bin, Version: *version, Arch: *arch, Out: *out})
	} else {
		err = installer.BuildMSI(context.Background(), installer.MSIOptions{Bin: *bin, Version: *version, Out: *out})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkpkg: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(*out)
}
