// Package version reports which build of scanfree is running, from what
// the Go toolchain embeds in every binary: the module's version (a tag,
// or "(devel)" for a build from a checkout) and the commit it was built
// from, marked when the tree had changes beyond it.
package version

import (
	"fmt"
	"runtime/debug"
)

// stamp is the release name the Makefile gives every binary it builds
// (-ldflags -X …/version.stamp=$(VERSION), git describe): what Go's build
// information lacks for a build from a checkout.
var stamp string

// Info is what a binary knows of its build.
type Info struct {
	Version  string // the module version, "(devel)" from a checkout
	Commit   string // the VCS revision, "" when not built from one
	Time     string // the commit's time (RFC 3339), "" when unknown
	Modified bool   // the tree had uncommitted changes
	Go       string // the Go version it was built with
}

// Get returns this binary's build information.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown"}
	}
	in := Info{Version: bi.Main.Version, Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	if stamp != "" {
		in.Version = stamp
	}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	return in
}

// String is one line for --version, logs and About boxes, e.g.
// "v1.2.0 (commit 1a2b3c4d5e6f, 2026-12-01T10:00:00Z) go1.26.8".
func (in Info) String() string {
	s := in.Version
	if in.Commit != "" {
		c := in.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (commit " + c
		if in.Modified {
			s += " with changes"
		}
		if in.Time != "" {
			s += ", " + in.Time
		}
		s += ")"
	}
	if in.Go != "" {
		s += fmt.Sprintf(" %s", in.Go)
	}
	return s
}

// String is Get().String().
func String() string { return Get().String() }
