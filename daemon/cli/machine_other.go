//go:build !linux && !windows && !darwin

package cli

// machineConfig is none here: a user's own configuration is all there is.
const machineConfig = ""

var machineValues func() (map[string]any, error)
