package installer

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestGoldenPlans(t *testing.T) {
	unix := Options{Home: "/home/alice", Scanfreed: "/opt/scanfree/bin/scanfreed", Tray: "/opt/scanfree/bin/scanfree-tray",
		StateDir: "/home/alice/.config/scanfree"}
	tests := []struct {
		goos string
		o    Options
	}{
		{"linux", unix},
		{"darwin", Options{Home: "/Users/alice", Scanfreed: "/Applications/scanfree/scanfreed", StateDir: "/Users/alice/Library/Application Support/scanfree"}},
		{"windows", Options{Home: `C:\Users\alice`, LocalData: `C:\Users\alice\AppData\Local`, Scanfreed: `C:\Program Files\scanfree\scanfreed.exe`,
			Tray: `C:\Program Files\scanfree\scanfree-tray.exe`, StateDir: `C:\Users\alice\AppData\Roaming\scanfree`}},
	}
	for _, tt := range tests {
		t.Run(tt.goos, func(t *testing.T) {
			tt.o.GOOS = tt.goos
			p, err := PlanInstall(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range p.Files {
				golden(t, tt.goos+"-"+filepath.Base(f.Path), f.Content)
			}
			var b bytes.Buffer
			Print(&b, p)
			golden(t, tt.goos+"-dry-run.txt", b.String())
		})
	}
}

func TestSystemdUnitIsAUserUnit(t *testing.T) {
	p, _ := PlanInstall(Options{GOOS: "linux", Home: "/home/a", Scanfreed: "/usr/bin/scanfreed", StateDir: "/home/a/s"})
	unit := p.Files[0].Content
	if !strings.Contains(unit, "WantedBy=default.target") || strings.Contains(unit, "multi-user.target") {
		t.Fatalf("the unit would never start for a user manager:\n%s", unit)
	}
	if p.Files[0].Path != "/home/a/.config/systemd/user/scanfreed.service" {
		t.Fatalf("unit path %s", p.Files[0].Path)
	}
}

func TestQuoting(t *testing.T) {
	p, _ := PlanInstall(Options{GOOS: "linux", Home: "/h", Scanfreed: `/opt/my "odd" $dir/scanfreed`, Tray: "/opt/t 100%/tray", StateDir: "/h/s"})
	if !strings.Contains(p.Files[0].Content, `ExecStart="/opt/my \"odd\" $$dir/scanfreed" run`) {
		t.Fatalf("systemd quoting:\n%s", p.Files[0].Content)
	}
	if !strings.Contains(p.Files[1].Content, `Exec="/opt/t 100%%/tray"`) {
		t.Fatalf("desktop entry quoting:\n%s", p.Files[1].Content)
	}
	d, _ := PlanInstall(Options{GOOS: "darwin", Home: "/h", Scanfreed: "/a&b/<scanfreed>", StateDir: "/h/s"})
	if !strings.Contains(d.Files[0].Content, "<string>/a&amp;b/&lt;scanfreed&gt;</string>") {
		t.Fatalf("plist escaping:\n%s", d.Files[0].Content)
	}
	if _, err := PlanInstall(Options{GOOS: "linux", Scanfreed: "relative/scanfreed"}); err == nil {
		t.Fatal("a relative binary path was accepted")
	}
}
