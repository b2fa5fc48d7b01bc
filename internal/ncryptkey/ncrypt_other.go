//go:build !windows

package ncryptkey

func open(string, bool) (*Key, error) { return nil, ErrUnsupported }

func deleteKey(string) error { return ErrUnsupported }

// Supported reports whether this OS has the Platform Crypto Provider.
func Supported() bool { return false }
