// Package posture reads what a desktop can say about itself when it
// signs someone in: its OS and version, whether the system disk is
// encrypted, whether the screen locks, whether it booted with Secure Boot.
// Each signal is "yes", "no" or "unknown", with how it was read, so that a
// policy can tell a desktop that is not encrypted from one that could not
// say (and refuse both, saying which).
//
// The daemon reads a Report and signs it with its proof key; the backend
// keeps the latest per desktop and checks apps' policies against it
// (Policy). A desktop could lie about everything here but its key's
// protection, which the backend verifies itself: posture is what an
// honest desktop's owner needs to know, not proof against a hostile one.
package posture

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Signal values.
const (
	Yes     = "yes"
	No      = "no"
	Unknown = "unknown"
)

// Signal is one reading and how it was made ("dm-crypt under /",
// "manage-bde: Protection On", "no UEFI").
type Signal struct {
	Value string `json:"value"`
	How   string `json:"how,omitempty"`
}

// Report is a desktop's posture.
type Report struct {
	OS             string    `json:"os"`         // GOOS: linux, windows, darwin
	OSVersion      string    `json:"os_version"` // kernel release, Windows build, macOS version
	OSName         string    `json:"os_name,omitempty"`
	DiskEncryption Signal    `json:"disk_encryption"`
	ScreenLock     Signal    `json:"screen_lock"`
	SecureBoot     Signal    `json:"secure_boot"`
	At             time.Time `json:"at"`
}

// Read reads this computer's posture.
func Read(ctx context.Context) Report {
	r := read(ctx)
	r.At = time.Now().UTC().Truncate(time.Second)
	for _, s := range []*Signal{&r.DiskEncryption, &r.ScreenLock, &r.SecureBoot} {
		if s.Value == "" {
			s.Value = Unknown
		}
	}
	return r
}

func signal(v, how string, args ...any) Signal {
	return Signal{Value: v, How: fmt.Sprintf(how, args...)}
}

// Summary is the report in a few words, for logs and pages.
func (r Report) Summary() string {
	return fmt.Sprintf("%s %s; disk encryption %s; screen lock %s; Secure Boot %s", r.OS, r.OSVersion,
		r.DiskEncryption.Value, r.ScreenLock.Value, r.SecureBoot.Value)
}

// AtLeast reports whether version is at least min, comparing the leading
// dot-separated numbers ("6.1.0-18-amd64" ≥ "6.1"); known is false when
// either has no number to compare.
func AtLeast(version, min string) (ok, known bool) {
	v, m := numbers(version), numbers(min)
	if len(v) == 0 || len(m) == 0 {
		return false, false
	}
	for i := range max(len(v), len(m)) {
		a, b := at(v, i), at(m, i)
		if a != b {
			return a > b, true
		}
	}
	return true, true
}

func at(n []int, i int) int {
	if i < len(n) {
		return n[i]
	}
	return 0
}

// numbers are a version's leading dot-separated numbers.
func numbers(v string) []int {
	var out []int
	for _, part := range strings.Split(v, ".") {
		end := 0
		for end < len(part) && part[end] >= '0' && part[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(part[:end])
		if err != nil {
			break
		}
		out = append(out, n)
		if end < len(part) { // "0-18-amd64": the rest is no version
			break
		}
	}
	return out
}
