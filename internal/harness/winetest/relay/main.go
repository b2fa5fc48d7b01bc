// Command relay is a test harness part, never shipped: it forwards
// loopback TCP port -from (127.0.0.1 and ::1) to 127.0.0.1:-to, run in a
// Wine prefix so that a Linux browser's connections reach the Windows
// daemon from a Windows process (see winetest.Prefix.Relay).
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
)

func main() {
	from := flag.Int("from", 0, "port to listen on, on 127.0.0.1 and ::1")
	to := flag.Int("to", 0, "port on 127.0.0.1 to forward to")
	flag.Parse()
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(*to))
	errs := make(chan error, 2)
	for _, host := range []string{"127.0.0.1", "::1"} {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(*from)))
		if err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(1)
		}
		go func() { errs <- serve(ln, target) }()
	}
	fmt.Fprintln(os.Stderr, "relay:", <-errs)
	os.Exit(1)
}

// serve forwards each connection of ln to target until ln fails.
func serve(ln net.Listener, target string) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			up, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer up.Close()
			go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
			io.Copy(c, up)
		}()
	}
}
