package peer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PortOwner finds the process listening on TCP port p through /proc: the
// socket's inode in /proc/net/tcp{,6}, then the process holding that inode.
// It returns 0 when it cannot tell (e.g. another user's process).
func PortOwner(p int) (int, string) {
	inodes := map[string]bool{}
	scanProcTCP(func(e tcpEntry) bool {
		if e.state == "0A" && int(e.local.Port()) == p { // 0A: LISTEN
			inodes[e.inode] = true
		}
		return true
	})
	if len(inodes) == 0 {
		return 0, ""
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			pidStr := strings.Split(fd, "/")[2]
			pid, _ := strconv.Atoi(pidStr)
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			return pid, strings.TrimSpace(string(comm))
		}
	}
	return 0, ""
}
