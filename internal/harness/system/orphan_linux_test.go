package system

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestChildrenDieWithParent: a process the harness started is gone once the
// process that started it is killed outright (as go test's -timeout does,
// running no cleanup).
func TestChildrenDieWithParent(t *testing.T) {
	if os.Getenv("SCANFREE_ORPHAN_HELPER") == "1" {
		p, err := Start(nil, nil, "sleep", "60")
		if err != nil {
			os.Exit(2)
		}
		os.Stdout.WriteString(strconv.Itoa(p.Cmd.Process.Pid) + "\n")
		select {} // until killed
	}
	helper := exec.Command(os.Args[0], "-test.run=^TestChildrenDieWithParent$")
	helper.Env = append(os.Environ(), "SCANFREE_ORPHAN_HELPER=1")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(line[:max(len(line)-1, 0)])
	if err != nil || perr != nil {
		helper.Process.Kill()
		helper.Wait()
		t.Fatalf("helper said %q: %v %v", line, err, perr)
	}
	helper.Process.Kill()
	helper.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if !alive(pid) {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pid %d outlived the process that started it", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs: a zombie (dead, but not yet reaped by a
// PID 1 that may never reap it in a container) does not.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
