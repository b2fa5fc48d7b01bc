package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

type values struct {
	ttl     time.Duration
	ports   []int
	origins []string
	url     string
	fast    bool
}

func command(v *values) *cobra.Command {
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	f := cmd.Flags()
	f.DurationVar(&v.ttl, "code-ttl", 5*time.Minute, "")
	f.IntSliceVar(&v.ports, "ports", []int{1, 2}, "")
	f.StringArrayVar(&v.origins, "trusted-origin", nil, "")
	f.StringVar(&v.url, "backend", "http://default", "")
	f.BoolVar(&v.fast, "fast", false, "")
	f.Bool("dry-run", false, "not a setting")
	return cmd
}

var testSettings = map[string]string{"code_ttl": "code-ttl", "ports": "ports", "trusted_origins": "trusted-origin", "backend_url": "backend", "fast": "fast"}

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		file    string // YAML; "" for none
		env     map[string]string
		args    []string
		strict  bool
		want    values
		wantErr string // substring; "" for success
	}{
		{name: "defaults", want: values{ttl: 5 * time.Minute, ports: []int{1, 2}, url: "http://default"}},
		{name: "file", file: "code_ttl: 90s\nports: [7, 8]\ntrusted_origins: [https://a.example, https://b.example]\nbackend_url: http://file\nfast: true\n",
			want: values{ttl: 90 * time.Second, ports: []int{7, 8}, origins: []string{"https://a.example", "https://b.example"}, url: "http://file", fast: true}},
		{name: "file list as one string", file: "ports: \"7,8\"\n", want: values{ttl: 5 * time.Minute, ports: []int{7, 8}, url: "http://default"}},
		{name: "env over file", file: "code_ttl: 90s\n", env: map[string]string{"T_CODE_TTL": "2m", "T_PORTS": "9, 10", "T_TRUSTED_ORIGINS": "https://e.example"},
			want: values{ttl: 2 * time.Minute, ports: []int{9, 10}, origins: []string{"https://e.example"}, url: "http://default"}},
		{name: "flag over env", env: map[string]string{"T_CODE_TTL": "2m"}, args: []string{"--code-ttl", "3m"},
			want: values{ttl: 3 * time.Minute, ports: []int{1, 2}, url: "http://default"}},
		{name: "unparsable env", env: map[string]string{"T_CODE_TTL": "abc"}, wantErr: "T_CODE_TTL=\"abc\": time: invalid duration \"abc\"; want a duration"},
		{name: "unparsable env list", env: map[string]string{"T_PORTS": "1,x"}, wantErr: "want whole numbers separated by commas"},
		{name: "unparsable env bool", env: map[string]string{"T_FAST": "maybe"}, wantErr: "want true or false"},
		{name: "unparsable file", file: "code_ttl: soon\n", wantErr: "code_ttl: \"soon\""},
		{name: "unknown file key", file: "code_tll: 1m\n", wantErr: "unknown key \"code_tll\"; known keys: backend_url, code_ttl"},
		{name: "a flag that is no setting", file: "dry_run: true\n", wantErr: "unknown key \"dry_run\""},
		{name: "a section the binary reads", file: "code_ttl: 90s\nconnectors:\n  - {id: corp, config: {host: 'l:636'}}\n",
			want: values{ttl: 90 * time.Second, ports: []int{1, 2}, url: "http://default"}},
		{name: "a misspelt section", file: "conectors: []\n", wantErr: "unknown key \"conectors\""},
		{name: "malformed file", file: "code_ttl: [\n", wantErr: "fix or remove it"},
		{name: "unknown env, strict", strict: true, env: map[string]string{"T_CODE_TL": "1m"}, wantErr: "T_CODE_TL names no setting"},
		{name: "unknown env, lax", env: map[string]string{"T_OTHER_PROGRAM": "1"}, want: values{ttl: 5 * time.Minute, ports: []int{1, 2}, url: "http://default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			opts := Options{EnvPrefix: "T_", Settings: testSettings, StrictEnv: tt.strict, Sections: []string{"connectors"}}
			if tt.file != "" {
				opts.File = filepath.Join(t.TempDir(), "config.yaml")
				if err := os.WriteFile(opts.File, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			check(t, opts, tt.args, tt.want, tt.wantErr)
		})
	}
}

// TestMissingFile: a default file may be absent; a named one may not.
func TestMissingFile(t *testing.T) {
	var v values
	missing := filepath.Join(t.TempDir(), "none.yaml")
	if err := Apply(command(&v), Options{EnvPrefix: "T_", Settings: testSettings, File: missing}); err != nil {
		t.Fatalf("absent default file: %v", err)
	}
	if err := Apply(command(&v), Options{EnvPrefix: "T_", Settings: testSettings, File: missing, FileRequired: true}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("absent named file: %v", err)
	}
}

// TestMachine: an administrator's machine-wide file sets what the user's
// own sources leave unset; its enforced keys (the backend and the origins
// it trusts) nobody overrides: another value from the command line, the
// environment or the user's file is refused, naming both; the same value
// is fine.
func TestMachine(t *testing.T) {
	const machine = "backend_url: https://idp.corp.example\ntrusted_origins: [https://idp.corp.example]\ncode_ttl: 2m\n"
	def := values{ttl: 2 * time.Minute, ports: []int{1, 2}, origins: []string{"https://idp.corp.example"}, url: "https://idp.corp.example"}
	tests := []struct {
		name    string
		machine string
		file    string
		env     map[string]string
		args    []string
		want    values
		wantErr string
	}{
		{name: "the machine's", machine: machine, want: def},
		{name: "the user's own below it", machine: machine, file: "code_ttl: 90s\n",
			want: values{ttl: 90 * time.Second, ports: []int{1, 2}, origins: def.origins, url: def.url}},
		{name: "the same backend from the user", machine: machine, args: []string{"--backend", "https://idp.corp.example"}, want: def},
		{name: "another backend on the command line", machine: machine, args: []string{"--backend", "https://evil.example"},
			wantErr: "backend_url is set for this machine in"},
		{name: "another backend in the environment", machine: machine, env: map[string]string{"T_BACKEND_URL": "https://evil.example"},
			wantErr: "remove environment variable T_BACKEND_URL (https://evil.example)"},
		{name: "other origins in the user's file", machine: machine, file: "trusted_origins: [https://evil.example]\n",
			wantErr: "trusted_origins is set for this machine"},
		{name: "an unknown key in the machine's file", machine: "backend: https://x\n", wantErr: "ask your administrator"},
		{name: "no machine file", want: values{ttl: 5 * time.Minute, ports: []int{1, 2}, url: "http://default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			opts := Options{EnvPrefix: "T_", Settings: testSettings, File: filepath.Join(dir, "user.yaml"),
				Machine: filepath.Join(dir, "machine.yaml"), Enforced: []string{"backend_url", "trusted_origins"}}
			for path, body := range map[string]string{opts.File: tt.file, opts.Machine: tt.machine} {
				if body != "" {
					os.WriteFile(path, []byte(body), 0o600)
				}
			}
			check(t, opts, tt.args, tt.want, tt.wantErr)
		})
	}
}

// check runs a command with args whose settings opts applies, and wants
// its values, or an error containing wantErr.
func check(t *testing.T, opts Options, args []string, want values, wantErr string) {
	t.Helper()
	var got values
	cmd := command(&got)
	cmd.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return Apply(cmd, opts) }
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error %v, want one containing %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// TestRemember: `login --backend` writes one key into the user's file,
// keeping her other keys and comments, creating the file when missing;
// a file that is not a mapping is refused, not overwritten.
func TestRemember(t *testing.T) {
	dir := t.TempDir()
	opts := Options{File: filepath.Join(dir, "scanfree", "config.yaml"), Machine: filepath.Join(dir, "machine.yaml")}
	if err := opts.Remember("backend_url", "https://id.example.com"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(opts.File); string(b) != "backend_url: https://id.example.com\n" {
		t.Fatalf("a new file: %q", b)
	}
	os.WriteFile(opts.File, []byte("# ours\nno_dialog: true\nbackend_url: https://old.example.com\n"), 0o600)
	if err := opts.Remember("backend_url", "https://id.example.com"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(opts.File); string(b) != "# ours\nno_dialog: true\nbackend_url: https://id.example.com\n" {
		t.Fatalf("an existing file: %q", b)
	}
	os.WriteFile(opts.File, []byte("- a list\n"), 0o600)
	if err := opts.Remember("backend_url", "https://id.example.com"); err == nil {
		t.Fatal("a list was overwritten")
	}
	if b, _ := os.ReadFile(opts.File); string(b) != "- a list\n" {
		t.Fatalf("the refused file changed: %q", b)
	}

	o := Options{Settings: map[string]string{"backend_url": "backend"}, Machine: opts.Machine}
	if _, set, err := o.MachineSets("backend_url"); err != nil || set {
		t.Fatalf("no machine file: set %v, %v", set, err)
	}
	os.WriteFile(opts.Machine, []byte("backend_url: https://corp.example.com\n"), 0o644)
	if v, set, err := o.MachineSets("backend_url"); err != nil || !set || v != "https://corp.example.com" {
		t.Fatalf("machine file: %q %v %v", v, set, err)
	}
}

// TestMachineValues: settings an OS keeps for the machine (Windows'
// policy key, a macOS profile) are enforced as the machine's file is.
func TestMachineValues(t *testing.T) {
	policy := func() (map[string]any, error) {
		return map[string]any{"backend_url": "https://idp.corp.example", "trusted_origins": []string{"https://idp.corp.example"}}, nil
	}
	opts := Options{EnvPrefix: "T_", Settings: testSettings, Machine: `HKLM\Software\Policies\scanfree`, MachineValues: policy,
		Enforced: []string{"backend_url", "trusted_origins"}}
	check(t, opts, nil, values{ttl: 5 * time.Minute, ports: []int{1, 2}, origins: []string{"https://idp.corp.example"}, url: "https://idp.corp.example"}, "")
	check(t, opts, []string{"--backend", "https://evil.example"}, values{}, `backend_url is set for this machine in HKLM\Software\Policies\scanfree`)
	opts.MachineValues = func() (map[string]any, error) { return map[string]any{"backend": "x"}, nil }
	check(t, opts, nil, values{}, `unknown setting "backend"`)
}
