//go:build !linux

package cli

// machineConfig is none here yet: on Windows it is to be the registry's
// HKLM\Software\Policies\scanfree, on macOS a configuration profile's
// domain; until then a user's own configuration is all there is.
const machineConfig = ""
