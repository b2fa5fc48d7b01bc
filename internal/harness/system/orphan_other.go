//go:build !linux

package system

import "os/exec"

// dieWithParent does nothing here: only Linux has a parent-death signal,
// and the harness's processes run on Linux.
func dieWithParent(*exec.Cmd) {}
