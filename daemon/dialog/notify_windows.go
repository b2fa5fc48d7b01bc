package dialog

import toast "git.sr.ht/~jackmordaunt/go-toast"

// Notify shows a Windows toast. It calls go-toast directly rather than
// beeep, whose balloon fallback pulls a system-tray GUI package into the
// daemon (the tray's job, not scanfreed's).
func Notify(title, msg string) error {
	n := toast.Notification{AppID: "scanfree", Title: title, Body: msg, Duration: toast.Short, Audio: toast.Silent}
	return n.Push()
}
