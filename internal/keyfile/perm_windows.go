package keyfile

import "io/fs"

// OthersMayRead reports false: Windows decides access with ACLs, not
// modes (Go reports every writable file as 0666), and the state
// directory lies in the user's profile, which only she and the
// administrators can read.
func OthersMayRead(fs.FileInfo) bool { return false }
