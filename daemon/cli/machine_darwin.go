package cli

import (
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
)

// machineConfig is where a configuration profile (MDM, or one installed
// by hand) puts scanfreed's managed preferences: the user's own managed
// domain first, then the computer's. A user cannot change them.
const machineConfig = "/Library/Managed Preferences/com.scanfree.scanfreed.plist"

var machineValues = func() (map[string]any, error) {
	paths := []string{machineConfig}
	if u, err := user.Current(); err == nil {
		paths = append([]string{filepath.Join("/Library/Managed Preferences", u.Username, "com.scanfree.scanfreed.plist")}, paths...)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return profileValues(b)
	}
	return nil, nil
}
