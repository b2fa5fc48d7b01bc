package installer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"github.com/kardianos/service"
)

// program satisfies service.Interface; scanfreed runs its own loop, the
// library only drives the service manager here.
type program struct{}

func (program) Start(service.Service) error { return nil }
func (program) Stop(service.Service) error  { return nil }

// serviceName is the unit (systemd) or label (launchd) of the daemon.
func serviceName() string {
	if runtime.GOOS == "darwin" {
		return "dev.scanfree.scanfreed"
	}
	return ServiceName
}

// Control starts, stops or restarts the installed service through the
// service manager, or reports its status.
func Control(o Options, action string) (string, error) {
	if o.GOOS == "windows" {
		return controlWindows(o, action)
	}
	want := map[string]string{"linux": "linux-systemd", "darwin": "darwin-launchd"}[o.GOOS]
	if sys := service.ChosenSystem(); sys == nil || sys.String() != want {
		const why = "no systemd user manager (or launchd) runs in this session; the installed files take effect at the next login where one does, or run `scanfreed run` yourself"
		if action == "status" {
			return "unknown: " + why, nil
		}
		return "", fmt.Errorf("%s scanfreed: %s", action, why)
	}
	s, err := service.New(program{}, &service.Config{Name: serviceName(), Option: service.KeyValue{"UserService": true}})
	if err != nil {
		return "", fmt.Errorf("%s scanfreed: %w", action, err)
	}
	switch action {
	case "start":
		err = s.Start()
	case "stop":
		err = s.Stop()
	case "restart":
		err = s.Restart()
	case "status":
		st, err := s.Status()
		switch {
		case errors.Is(err, service.ErrNotInstalled):
			return "not installed (run `scanfreed service install`)", nil
		case err != nil:
			return "", fmt.Errorf("service status: %w", err)
		case st == service.StatusRunning:
			return "running", nil
		case st == service.StatusStopped:
			return "stopped (start it with `scanfreed service start`)", nil
		}
		return "unknown", nil
	default:
		return "", fmt.Errorf("unknown action %q", action)
	}
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", action, serviceName(), err)
	}
	return action + "ed", nil
}

// controlWindows: the daemon is a login item, not an SCM service.
func controlWindows(o Options, action string) (string, error) {
	stop := func() error {
		return exec.Command(stopAll("scanfreed.exe", os.Getpid())[0], stopAll("scanfreed.exe", os.Getpid())[1:]...).Run()
	}
	start := func() error {
		return exec.Command("cmd", "/c", "start", "", o.Scanfreed, "run", "--state-dir", o.StateDir, "--log-file", LogsAt(o)).Run()
	}
	var err error
	switch action {
	case "start":
		err = start()
	case "stop":
		err = stop()
	case "restart":
		stop()
		err = start()
	case "status":
		// Not this process: it is a scanfreed.exe too.
		out, err := exec.Command("tasklist", "/FI", "IMAGENAME eq scanfreed.exe", "/FI", "PID ne "+strconv.Itoa(os.Getpid())).Output()
		if err != nil {
			return "", err
		}
		if strings.Contains(string(out), "scanfreed.exe") {
			return "running", nil
		}
		return "not running", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s scanfreed: %w", action, err)
	}
	return action + "ed", nil
}
