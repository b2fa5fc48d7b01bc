package cli

// machineConfig is the settings file an administrator deploys for every
// user of this machine (a package, Ansible): backend_url and
// trusted_origins in it cannot be changed by a user.
const machineConfig = "/etc/scanfree/config.yaml"

// machineValues: the file is read as a file.
var machineValues func() (map[string]any, error)
