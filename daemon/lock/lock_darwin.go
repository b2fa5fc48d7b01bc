package lock

import (
	"context"
	"fmt"
	"time"

	"github.com/ebitengine/purego"

	"github.com/scanfree/scanfree/internal/periodic"
)

// pollEvery is how often the session dictionary is read: macOS announces
// locking only through distributed notifications, which need an
// Objective-C run loop (cgo); this build reads the login session's state
// instead, which costs a few microseconds.
const pollEvery = 2 * time.Second

// watch reads CGSessionCopyCurrentDictionary through purego (no cgo)
// every pollEvery until ctx ends.
func watch(ctx context.Context, report func(source string, locked bool)) error {
	cg, err := loadSession()
	if err != nil {
		return fmt.Errorf("lock detection on macOS: %w; use `scanfreed pause` when you leave", err)
	}
	read := func() { report("cgsession", cg.away()) }
	read()
	go periodic.Run(ctx, pollEvery, read)
	return nil
}

// cgSession holds the CoreGraphics and CoreFoundation functions read.
type cgSession struct {
	copyDict       func() uintptr
	getValue       func(dict, key uintptr) uintptr
	boolValue      func(b uintptr) bool
	typeID         func(v uintptr) uintptr
	boolTypeID     uintptr
	release        func(v uintptr)
	locked, onCons uintptr // the keys, CFStrings kept for the process's life
}

func loadSession() (*cgSession, error) {
	cg, err := purego.Dlopen("/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics", purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load CoreGraphics: %w", err)
	}
	cf, err := purego.Dlopen("/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation", purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load CoreFoundation: %w", err)
	}
	s := &cgSession{}
	var makeString func(alloc uintptr, s string, encoding uint32) uintptr
	var boolTypeID func() uintptr
	purego.RegisterLibFunc(&s.copyDict, cg, "CGSessionCopyCurrentDictionary")
	purego.RegisterLibFunc(&s.getValue, cf, "CFDictionaryGetValue")
	purego.RegisterLibFunc(&s.boolValue, cf, "CFBooleanGetValue")
	purego.RegisterLibFunc(&s.typeID, cf, "CFGetTypeID")
	purego.RegisterLibFunc(&boolTypeID, cf, "CFBooleanGetTypeID")
	purego.RegisterLibFunc(&s.release, cf, "CFRelease")
	purego.RegisterLibFunc(&makeString, cf, "CFStringCreateWithCString")
	const utf8 = 0x08000100 // kCFStringEncodingUTF8
	s.boolTypeID = boolTypeID()
	s.locked = makeString(0, "CGSSessionScreenIsLocked", utf8)
	s.onCons = makeString(0, "kCGSSessionOnConsoleKey", utf8)
	return s, nil
}

// away reads the session dictionary once.
func (s *cgSession) away() bool {
	d := s.copyDict()
	if d == 0 {
		return macSession(false, nil, nil)
	}
	defer s.release(d)
	return macSession(true, s.flag(d, s.locked), s.flag(d, s.onCons))
}

// flag is a boolean value of dictionary d, nil when missing or no boolean.
func (s *cgSession) flag(d, key uintptr) *bool {
	v := s.getValue(d, key)
	if v == 0 || s.typeID(v) != s.boolTypeID {
		return nil
	}
	b := s.boolValue(v)
	return &b
}
