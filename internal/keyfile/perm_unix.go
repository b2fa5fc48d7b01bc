//go:build !windows

package keyfile

import "io/fs"

// OthersMayRead reports whether fi's mode lets users other than its owner
// read the file.
func OthersMayRead(fi fs.FileInfo) bool { return fi.Mode().Perm()&0o077 != 0 }
