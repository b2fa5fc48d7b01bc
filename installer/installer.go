// Package installer installs scanfreed as a per-user service and the tray
// as a login item: a systemd user unit (WantedBy=default.target) and an XDG
// autostart entry on Linux, LaunchAgents on macOS, and on Windows per-user
// Run entries, because services under the SCM cannot show the dialog.
//
// An install is a Plan: the files to write and the commands to run. The
// same plan is printed by --dry-run and carried out by Apply, and a record
// of what was written lets uninstall remove exactly that.
package installer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Options say what to install where.
type Options struct {
	GOOS      string // target OS ("linux", "darwin", "windows")
	Home      string // the user's home directory
	ConfigDir string // the user's config dir (Linux: $XDG_CONFIG_HOME or ~/.config)
	LocalData string // Windows: %LOCALAPPDATA%
	Scanfreed string // absolute path of the scanfreed binary
	Tray      string // absolute path of scanfree-tray, or "" where there is none
	StateDir  string // the daemon's state dir
	// SelfPID is the process planning (scanfreed itself), which stopping
	// every scanfreed.exe on Windows must spare; 0 spares none.
	SelfPID int
}

// File is a file the plan writes.
type File struct {
	Path    string      `json:"path"`
	Content string      `json:"content"`
	Mode    fs.FileMode `json:"mode"`
}

// Plan is an install or uninstall: files to write (or remove) and
// commands to run, in order.
type Plan struct {
	Files    []File     `json:"files"`
	Commands [][]string `json:"commands"`
	Logs     string     `json:"logs"` // where the daemon's logs go
}

// ServiceName is the service's name everywhere.
const ServiceName = "scanfreed"

// LogsAt says where each OS keeps the daemon's logs.
func LogsAt(o Options) string {
	switch o.GOOS {
	case "darwin":
		return filepath.Join(o.Home, "Library", "Logs", "scanfree", "scanfreed.log")
	case "windows":
		return join(o.GOOS, o.LocalData, "scanfree", "scanfreed.log")
	default:
		return "the user journal: journalctl --user -u " + ServiceName
	}
}

// PlanInstall returns what installing means on o.GOOS.
func PlanInstall(o Options) (Plan, error) {
	if !isAbs(o.GOOS, o.Scanfreed) || (o.Tray != "" && !isAbs(o.GOOS, o.Tray)) {
		return Plan{}, errors.New("plan install: binary paths must be absolute")
	}
	switch o.GOOS {
	case "linux":
		return linuxPlan(o), nil
	case "darwin":
		return darwinPlan(o), nil
	case "windows":
		return windowsPlan(o), nil
	}
	return Plan{}, fmt.Errorf("plan install: %s is not supported; run `scanfreed run` from your session's startup instead", o.GOOS)
}

// PlanUninstall returns what uninstalling means: stop and disable the
// service, then remove the files the install wrote (given by the record).
func PlanUninstall(o Options, installed []string) Plan {
	p := Plan{Logs: LogsAt(o)}
	switch o.GOOS {
	case "linux":
		p.Commands = [][]string{{"systemctl", "--user", "disable", "--now", ServiceName + ".service"}}
	case "darwin":
		for _, f := range installed {
			if strings.HasSuffix(f, ".plist") {
				p.Commands = append(p.Commands, []string{"launchctl", "unload", "-w", f})
			}
		}
	case "windows":
		p.Commands = [][]string{
			stopAll("scanfreed.exe", o.SelfPID),
			{"reg", "delete", runKey, "/v", ServiceName, "/f"},
		}
		if o.Tray != "" {
			p.Commands = append(p.Commands, stopAll("scanfree-tray.exe", 0), []string{"reg", "delete", runKey, "/v", "scanfree-tray", "/f"})
		}
	}
	for _, f := range installed {
		p.Files = append(p.Files, File{Path: f})
	}
	if o.GOOS == "linux" {
		p.Commands = append(p.Commands, []string{"systemctl", "--user", "daemon-reload"})
	}
	return p
}

// stopAll stops every process of image on Windows but self (the
// scanfreed running the command, which would otherwise end itself).
func stopAll(image string, self int) []string {
	cmd := []string{"taskkill", "/F", "/IM", image}
	if self != 0 {
		cmd = append(cmd, "/FI", "PID ne "+strconv.Itoa(self))
	}
	return cmd
}

// join joins path elements the way the target OS writes paths, so plans
// for any OS can be rendered (and golden-tested) anywhere.
func join(goos string, elem ...string) string {
	if goos == "windows" {
		return strings.Join(elem, `\`)
	}
	return filepath.Join(elem...)
}

func isAbs(goos, p string) bool {
	if goos == "windows" {
		return len(p) > 2 && p[1] == ':' && (p[2] == '\\' || p[2] == '/')
	}
	return strings.HasPrefix(p, "/")
}

// Runner runs a command; tests and --dry-run substitute their own.
type Runner func(ctx context.Context, argv []string) error

// ExecRunner runs commands for real.
func ExecRunner(ctx context.Context, argv []string) error {
	if _, err := exec.LookPath(argv[0]); err != nil {
		return fmt.Errorf("%s not found", argv[0])
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Report is what Apply did.
type Report struct {
	Wrote   []string   `json:"wrote,omitempty"`
	Removed []string   `json:"removed,omitempty"`
	Ran     [][]string `json:"ran"`
	Failed  []string   `json:"failed,omitempty"` // commands that did not work, with why
	// Dirs are the directories the install created; RemoveEmptyDirs takes
	// them away once everything else is gone.
	Dirs []string `json:"-"`
}

// recordFile lists, in the state dir, what the install wrote.
const recordFile = "installed.json"

type record struct {
	Files []string `json:"files"`
	Dirs  []string `json:"dirs"` // directories the install created, removed again when empty
}

// Installed returns the paths the last install wrote.
func Installed(stateDir string) ([]string, error) {
	r, err := readRecord(stateDir)
	return r.Files, err
}

func readRecord(stateDir string) (record, error) {
	var r record
	b, err := os.ReadFile(filepath.Join(stateDir, recordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(b, &r)
}

// Install writes the plan's files, records them, and runs its commands.
// A command that fails (e.g. no systemd user instance) is reported, not
// fatal: the files are in place for the next login.
func Install(ctx context.Context, p Plan, stateDir string, run Runner) (Report, error) {
	var rep Report
	rec, err := readRecord(stateDir)
	if err != nil {
		return rep, fmt.Errorf("read %s: %w", filepath.Join(stateDir, recordFile), err)
	}
	for _, f := range p.Files {
		created, err := mkdirs(filepath.Dir(f.Path))
		if err != nil {
			return rep, err
		}
		for _, d := range created {
			if !slices.Contains(rec.Dirs, d) {
				rec.Dirs = append(rec.Dirs, d)
			}
		}
		if err := os.WriteFile(f.Path, []byte(f.Content), f.Mode); err != nil {
			return rep, fmt.Errorf("write %s: %w", f.Path, err)
		}
		if !slices.Contains(rec.Files, f.Path) {
			rec.Files = append(rec.Files, f.Path)
		}
		rep.Wrote = append(rep.Wrote, f.Path)
	}
	created, err := mkdirs(stateDir)
	if err != nil {
		return rep, err
	}
	os.Chmod(stateDir, 0o700)
	for _, d := range created {
		if !slices.Contains(rec.Dirs, d) {
			rec.Dirs = append(rec.Dirs, d)
		}
	}
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.WriteFile(filepath.Join(stateDir, recordFile), b, 0o600); err != nil {
		return rep, fmt.Errorf("record the install: %w", err)
	}
	runAll(ctx, p.Commands, run, &rep)
	return rep, nil
}

// Uninstall runs the plan's commands, then removes its files and the
// record. The directories the install created are in the report, for
// RemoveEmptyDirs once the caller has removed what else lives there.
func Uninstall(ctx context.Context, p Plan, stateDir string, run Runner) (Report, error) {
	var rep Report
	rec, err := readRecord(stateDir)
	if err != nil {
		return rep, err
	}
	runAll(ctx, p.Commands, run, &rep)
	for _, f := range p.Files {
		if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rep, fmt.Errorf("remove %s: %w", f.Path, err)
		} else if err == nil {
			rep.Removed = append(rep.Removed, f.Path)
		}
	}
	if err := os.Remove(filepath.Join(stateDir, recordFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rep, err
	}
	rep.Dirs = rec.Dirs
	return rep, nil
}

// RemoveEmptyDirs removes those of dirs that are empty, deepest first so
// parents empty out before they are tried, and returns what it removed. A
// state dir that still holds a credential, say, stays with its parents.
func RemoveEmptyDirs(dirs []string) []string {
	dirs = slices.Clone(dirs)
	slices.SortFunc(dirs, func(a, b string) int { return len(b) - len(a) })
	var removed []string
	for _, d := range dirs {
		if os.Remove(d) == nil {
			removed = append(removed, d+string(filepath.Separator))
		}
	}
	return removed
}

func runAll(ctx context.Context, cmds [][]string, run Runner, rep *Report) {
	for _, c := range cmds {
		rep.Ran = append(rep.Ran, c)
		if err := run(ctx, c); err != nil {
			rep.Failed = append(rep.Failed, strings.Join(c, " ")+": "+err.Error())
		}
	}
}

// mkdirs creates dir and its missing parents and returns those it created.
func mkdirs(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	return missing, nil
}

// CommandLine shows argv as a POSIX shell would take it.
func CommandLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'$`\\|&;<>()*?[]#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// Print writes the plan as --dry-run shows it.
func Print(w io.Writer, p Plan) {
	for _, f := range p.Files {
		if f.Content == "" {
			fmt.Fprintf(w, "remove %s\n", f.Path)
			continue
		}
		fmt.Fprintf(w, "write %s (mode %o):\n", f.Path, f.Mode)
		for _, l := range strings.Split(strings.TrimRight(f.Content, "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	for _, c := range p.Commands {
		fmt.Fprintf(w, "run   %s\n", CommandLine(c))
	}
	fmt.Fprintf(w, "logs  %s\n", p.Logs)
}
