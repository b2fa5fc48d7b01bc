package owner

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// SameUser reports whether process pid runs as this process's user: its
// token's user SID against ours. An error means it could not be told,
// which callers treat as "no".
func SameUser(pid uint32) (bool, error) {
	sid, err := processSID(pid)
	if err != nil {
		return false, err
	}
	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return false, fmt.Errorf("read this process's user: %w", err)
	}
	return sid.Equals(me.User.Sid), nil
}

// processSID is the user SID of process pid's token.
func processSID(pid uint32) (*windows.SID, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return nil, fmt.Errorf("open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return nil, fmt.Errorf("open the token of process %d: %w", pid, err)
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("read the user of process %d: %w", pid, err)
	}
	return u.User.Sid.Copy()
}

// UserSID is this process's user SID as a string (S-1-5-21-…), for a
// security descriptor that admits only this user.
func UserSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("read this process's user: %w", err)
	}
	return u.User.Sid.String(), nil
}

// Program names process pid: its executable and PID, or the PID alone
// when the image name cannot be read.
func Program(pid uint32) string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return fmt.Sprintf("pid %d", pid)
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return fmt.Sprintf("pid %d", pid)
	}
	return fmt.Sprintf("%s (pid %d)", windows.UTF16ToString(buf[:n]), pid)
}
