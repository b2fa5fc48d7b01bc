package cli

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// machineConfig is where Windows administrators set policy for every
// user (Group Policy, Intune, an MSI): values named as the settings
// (backend_url, trusted_origins as REG_MULTI_SZ or comma-separated) that
// a user cannot change.
const machineConfig = `HKLM\Software\Policies\scanfree`

var machineValues = func() (map[string]any, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `Software\Policies\scanfree`, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil // no policy
	}
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer k.Close()
	names, err := k.ReadValueNames(0)
	if err != nil {
		return nil, fmt.Errorf("read value names: %w", err)
	}
	raw := map[string]any{}
	for _, n := range names {
		_, typ, err := k.GetValue(n, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		switch typ {
		case registry.SZ, registry.EXPAND_SZ:
			raw[n], _, err = k.GetStringValue(n)
		case registry.MULTI_SZ:
			raw[n], _, err = k.GetStringsValue(n)
		case registry.DWORD, registry.QWORD:
			raw[n], _, err = k.GetIntegerValue(n)
		default:
			err = fmt.Errorf("registry type %d is no setting's value; use REG_SZ, REG_MULTI_SZ or REG_DWORD", typ)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
	}
	return policyValues(raw)
}
