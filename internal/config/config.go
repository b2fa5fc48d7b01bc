// Package config is the one configuration mechanism of scanfree's
// binaries: each setting is a command-line flag that can also be set in
// the environment and in a YAML file, read with viper. A flag given on the
// command line wins over the environment, which wins over the file, which
// wins over a machine-wide file an administrator deploys, which wins over
// the flag's default; except the machine file's enforced keys, which
// nobody overrides (a user's other value is refused, naming both).
//
// Values from the environment and the file are parsed by the flag itself,
// so a value that the command line would refuse is refused from every
// source, with the source and the fix named (an unparsable
// SCANFREE_SERVER_CODE_TTL is an error, not a silent default). A key in the
// file that is no setting is refused too, and so, where Options.StrictEnv
// says so, is an unknown variable with the binary's prefix.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/scanfree/scanfree/internal/keyfile"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// Options describe one binary's settings.
type Options struct {
	// EnvPrefix is the variables' prefix, e.g. "SCANFREE_SERVER_".
	EnvPrefix string
	// Settings maps each key (as in the file, e.g. "backend_url") to its
	// flag ("backend"); the variable is EnvPrefix + the key in upper case.
	Settings map[string]string
	// File is the YAML file to read; "" reads none.
	File string
	// FileRequired says File was named explicitly, so it must exist.
	FileRequired bool
	// StrictEnv refuses variables with EnvPrefix that name no setting and
	// are not in OtherEnv. Leave it off where the prefix is shared with
	// other programs.
	StrictEnv bool
	OtherEnv  []string
	// Sections are keys of the file that are no flag (structured settings
	// such as a list of connectors), read by the binary itself.
	Sections []string
	// Machine is the machine-wide YAML file an administrator deploys for
	// every user (/etc/scanfree/config.yaml); "" or a missing file, none.
	// Its values stand below the user's, except Enforced's.
	Machine  string
	Enforced []string
	// MachineValues, when set, are the machine's settings as the OS keeps
	// them (Windows' policy registry key, a macOS configuration profile)
	// instead of a file; Machine then names where they come from.
	MachineValues func() (map[string]any, error)
}

// EnvName is the variable of setting key.
func (o Options) EnvName(key string) string { return o.EnvPrefix + strings.ToUpper(key) }

// Apply sets every flag of cmd that names a setting and was not given on
// the command line from the environment or the file.
func Apply(cmd *cobra.Command, o Options) error {
	v, err := o.read(o.File, o.FileRequired)
	if err != nil {
		return err
	}
	machine, err := o.machine()
	if err != nil {
		return fmt.Errorf("%w (the machine's settings: ask your administrator)", err)
	}
	if o.StrictEnv {
		for _, kv := range os.Environ() {
			name, _, _ := strings.Cut(kv, "=")
			if rest, ok := strings.CutPrefix(name, o.EnvPrefix); ok {
				if _, known := o.Settings[strings.ToLower(rest)]; !known && !slices.Contains(o.OtherEnv, name) {
					return fmt.Errorf("environment variable %s names no setting; unset it or use one of: %s", name, strings.Join(o.envNames(), ", "))
				}
			}
		}
	}
	for _, key := range o.keys() {
		f := cmd.Flags().Lookup(o.Settings[key])
		if f == nil {
			continue
		}
		source := "--" + f.Name
		if !f.Changed {
			env := o.EnvName(key)
			if val, ok := os.LookupEnv(env); ok && val != "" {
				if err := set(f, splitList(f, val), val); err != nil {
					return fmt.Errorf("environment variable %s=%q: %v; %s", env, val, err, hint(f, "unset it"))
				}
				source = "environment variable " + env
			} else if v.IsSet(key) {
				if err := setFrom(f, v, key, o.File, "fix it in the file"); err != nil {
					return err
				}
				source = key + " in " + o.File
			}
		}
		if !machine.IsSet(key) {
			continue
		}
		if !f.Changed { // below every source of the user's
			if err := setFrom(f, machine, key, o.Machine, "ask your administrator"); err != nil {
				return err
			}
			continue
		}
		if slices.Contains(o.Enforced, key) {
			mine := f.Value.String()
			if err := setFrom(f, machine, key, o.Machine, "ask your administrator"); err != nil {
				return err
			}
			if theirs := f.Value.String(); theirs != mine {
				return fmt.Errorf("%s is set for this machine in %s (%s) and cannot be changed; remove %s (%s)", key, o.Machine, theirs, source, mine)
			}
		}
	}
	return nil
}

// read reads the YAML file (none when "", nor when missing unless
// required) and checks its keys.
func (o Options) read(file string, required bool) (*viper.Viper, error) {
	v := viper.New()
	if file == "" {
		return v, nil
	}
	v.SetConfigFile(file)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		var pe *fs.PathError
		if !errors.As(err, &pe) || !errors.Is(pe.Err, fs.ErrNotExist) || required {
			return nil, fmt.Errorf("config file %s: %w; fix or remove it", file, err)
		}
	}
	for _, k := range v.AllKeys() {
		section, _, _ := strings.Cut(k, ".")
		if _, ok := o.Settings[k]; !ok && !slices.Contains(o.Sections, section) {
			return nil, fmt.Errorf("config file %s: unknown key %q; known keys: %s", file, k, strings.Join(o.keys(), ", "))
		}
	}
	return v, nil
}

// machine reads the machine's settings: MachineValues, else the file.
func (o Options) machine() (*viper.Viper, error) {
	if o.MachineValues == nil {
		return o.read(o.Machine, false)
	}
	vals, err := o.MachineValues()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Machine, err)
	}
	v := viper.New()
	for k, val := range vals {
		if _, ok := o.Settings[k]; !ok {
			return nil, fmt.Errorf("%s: unknown setting %q; known: %s", o.Machine, k, strings.Join(o.keys(), ", "))
		}
		v.Set(k, val)
	}
	return v, nil
}

// setFrom sets f from key of the file v read from file.
func setFrom(f *pflag.Flag, v *viper.Viper, key, file, fix string) error {
	raw := v.GetString(key)
	var vals []string
	if _, isList := f.Value.(pflag.SliceValue); isList {
		if str, ok := v.Get(key).(string); ok {
			vals = splitList(f, str)
		} else {
			vals = v.GetStringSlice(key)
		}
		raw = strings.Join(vals, ",")
	}
	if err := set(f, vals, raw); err != nil {
		return fmt.Errorf("config file %s: %s: %q: %v; %s", file, key, raw, err, hint(f, fix))
	}
	return nil
}

// set gives f its value from outside the command line, parsed by f itself.
func set(f *pflag.Flag, vals []string, raw string) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		if err := sv.Replace(vals); err != nil {
			return err
		}
	} else if err := f.Value.Set(raw); err != nil {
		return err
	}
	f.Changed = true
	return nil
}

func splitList(f *pflag.Flag, val string) []string {
	if _, ok := f.Value.(pflag.SliceValue); !ok {
		return nil
	}
	var out []string
	for _, s := range strings.Split(val, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// hint names the form a value of f takes.
func hint(f *pflag.Flag, fix string) string {
	want := map[string]string{
		"duration":    "want a duration such as 90s or 5m",
		"int":         "want a whole number",
		"float64":     "want a number",
		"bool":        "want true or false",
		"intSlice":    "want whole numbers separated by commas",
		"stringArray": "want values separated by commas",
	}[f.Value.Type()]
	if want == "" {
		want = "want " + f.Value.Type()
	}
	return fmt.Sprintf("%s (as --%s takes), or %s", want, f.Name, fix)
}

func (o Options) keys() []string {
	keys := make([]string, 0, len(o.Settings))
	for k := range o.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (o Options) envNames() []string {
	out := slices.Clone(o.OtherEnv)
	for _, k := range o.keys() {
		out = append(out, o.EnvName(k))
	}
	return out
}

// MachineSets reports whether the machine-wide file sets key, and to what.
func (o Options) MachineSets(key string) (string, bool, error) {
	v, err := o.machine()
	if err != nil {
		return "", false, fmt.Errorf("%w (the machine's settings: ask your administrator)", err)
	}
	return v.GetString(key), v.IsSet(key), nil
}

// Remember sets key to value in the user's file (Options.File), keeping
// its other keys and comments, and creating it (owner-only) when missing:
// what `scanfreed login --backend` remembers.
func (o Options) Remember(key, value string) error {
	if o.File == "" {
		return errors.New("no config file to remember " + key + " in")
	}
	var doc yaml.Node
	b, err := os.ReadFile(o.File)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		b = nil
	case err != nil:
		return fmt.Errorf("remember %s: %w", key, err)
	}
	if len(strings.TrimSpace(string(b))) > 0 {
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("remember %s: config file %s: %w; fix or remove it", key, o.File, err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("remember %s: config file %s is not a mapping of keys; fix or remove it", key, o.File)
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Value: value}
	replaced := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1], replaced = val, true
		}
	}
	if !replaced {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, val)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return fmt.Errorf("remember %s: %w", key, err)
	}
	if err := keyfile.WriteAtomic(o.File, out, 0o600); err != nil {
		return fmt.Errorf("remember %s: %w", key, err)
	}
	return nil
}
