package posture

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/fstest"
)

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRootDevice(t *testing.T) {
	for _, tc := range []struct{ file, dev, source string }{
		{"mountinfo-ext4-vda", "254:0", "/dev/vda"},
		{"mountinfo-btrfs-luks", "0:21", "/dev/mapper/luks-6c1d2b9a-0f4e-4a51-9d43-1b2c3d4e5f60"},
		{"mountinfo-lvm-luks", "253:1", "/dev/mapper/vg0-root"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if dev, source := rootDevice(testdata(t, tc.file)); dev != tc.dev || source != tc.source {
				t.Fatalf("rootDevice = %q %q; want %q %q", dev, source, tc.dev, tc.source)
			}
		})
	}
}

// TestEncryptedBlock walks sysfs trees as the kernel lays them out
// (dm/uuid values captured from Fedora's LUKS2 and Debian's LVM-on-LUKS
// installs).
func TestEncryptedBlock(t *testing.T) {
	luks := &fstest.MapFile{Data: []byte("CRYPT-LUKS2-6c1d2b9a0f4e4a519d431b2c3d4e5f60-luks-6c1d2b9a-0f4e-4a51-9d43-1b2c3d4e5f60\n")}
	for _, tc := range []struct {
		name string
		sys  fstest.MapFS
		dev  string
		want bool
	}{
		{"LUKS directly", fstest.MapFS{
			"dev/block/253:0/dm/uuid": luks,
			"dev/block/253:0/dm/name": {Data: []byte("luks-6c1d2b9a\n")},
		}, "253:0", true},
		{"LVM on LUKS", fstest.MapFS{
			"dev/block/253:1/dm/uuid":         {Data: []byte("LVM-Xq3kJ2pH0bN1mC4vR7tY8uI9oP6aS5dF2gH3jK4lZ1xC0vB7nM8qW9eR6tY5uI4\n")},
			"dev/block/253:1/slaves/dm-0":     {},
			"class/block/dm-0/dm/uuid":        luks,
			"class/block/dm-0/slaves/nvme0n1": {},
			"class/block/nvme0n1/size":        {Data: []byte("1953525168\n")},
		}, "253:1", true},
		{"LVM without encryption", fstest.MapFS{
			"dev/block/253:1/dm/uuid":          {Data: []byte("LVM-abc\n")},
			"dev/block/253:1/slaves/nvme0n1p3": {},
			"class/block/nvme0n1p3/partition":  {Data: []byte("3\n")},
		}, "253:1", false},
		{"a plain disk", fstest.MapFS{"dev/block/254:0/size": {Data: []byte("1\n")}}, "254:0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := encryptedBlock(tc.sys, tc.dev); got != tc.want {
				t.Fatalf("encryptedBlock = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestParsers(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  Signal
		want string
	}{
		{"manage-bde on", manageBDE(testdata(t, "manage-bde-on.txt")), Yes},
		{"manage-bde off", manageBDE(testdata(t, "manage-bde-off.txt")), No},
		{"manage-bde without an administrator", manageBDE(testdata(t, "manage-bde-denied.txt")), Unknown},
		{"manage-bde missing", manageBDE(""), Unknown},
		{"fdesetup on", fdesetup(testdata(t, "fdesetup-on.txt")), Yes},
		{"fdesetup on, deferred", fdesetup(testdata(t, "fdesetup-deferred.txt")), Yes},
		{"fdesetup off", fdesetup(testdata(t, "fdesetup-off.txt")), No},
		{"fdesetup error", fdesetup("Error: no volume"), Unknown},
		{"efivars SecureBoot on", secureBootVar([]byte{0x06, 0, 0, 0, 1}), Yes},
		{"efivars SecureBoot off", secureBootVar([]byte{0x06, 0, 0, 0, 0}), No},
		{"efivars SecureBoot short", secureBootVar([]byte{0x06}), Unknown},
		{"gsettings true", gsettingsBool("true\n", "k"), Yes},
		{"gsettings false", gsettingsBool("false\n", "k"), No},
		{"gsettings error", gsettingsBool("No such schema\n", "k"), Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.Value != tc.want || tc.got.How == "" {
				t.Fatalf("got %+v; want %s with how it was read", tc.got, tc.want)
			}
		})
	}
	if n := osRelease(testdata(t, "os-release")); n != "Debian GNU/Linux 12 (bookworm)" {
		t.Fatalf("osRelease = %q", n)
	}
}

func TestAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v, min    string
		ok, known bool
	}{
		{"6.1.0-18-amd64", "6.1", true, true},
		{"6.18.44-fc-v1045", "6.1", true, true},
		{"5.15.0", "6.1", false, true},
		{"10.0.19045", "10.0.19045", true, true},
		{"10.0.19044", "10.0.19045", false, true},
		{"14.4.1", "14", true, true},
		{"13.6", "14", false, true},
		{"", "14", false, false},
		{"rolling", "1", false, false},
	} {
		if ok, known := AtLeast(tc.v, tc.min); ok != tc.ok || known != tc.known {
			t.Errorf("AtLeast(%q, %q) = %v, %v; want %v, %v", tc.v, tc.min, ok, known, tc.ok, tc.known)
		}
	}
}

// TestReadHere runs this OS's reader for real: every signal has a value
// and says how it was read.
func TestReadHere(t *testing.T) {
	r := Read(context.Background())
	if r.OS != runtime.GOOS || r.At.IsZero() {
		t.Fatalf("report %+v", r)
	}
	if runtime.GOOS == "linux" && r.OSVersion == "" {
		t.Fatal("no kernel release")
	}
	for name, s := range map[string]Signal{"disk encryption": r.DiskEncryption, "screen lock": r.ScreenLock, "Secure Boot": r.SecureBoot} {
		if (s.Value != Yes && s.Value != No && s.Value != Unknown) || s.How == "" {
			t.Errorf("%s: %+v", name, s)
		}
	}
	t.Logf("%s", r.Summary())
}
