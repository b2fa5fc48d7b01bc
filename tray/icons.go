package tray

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"runtime"
)

// colors of the states: green ready, amber paused, blue locked, grey
// signed out, red not running.
var colors = map[State]color.RGBA{
	Ready:      {0x07, 0xc1, 0x60, 0xff},
	Paused:     {0xf5, 0xa6, 0x23, 0xff},
	Locked:     {0x3b, 0x6e, 0xd8, 0xff},
	SignedOut:  {0x90, 0x90, 0x90, 0xff},
	NotRunning: {0xd0, 0x30, 0x30, 0xff},
}

// Icon returns the icon of state: a filled disc (a ring when the daemon is
// not running), PNG where the OS takes PNG and ICO on Windows.
func Icon(s State) []byte {
	const size = 32
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	c := colors[s]
	for y := range size {
		for x := range size {
			dx, dy := float64(x)-15.5, float64(y)-15.5
			d := dx*dx + dy*dy
			if d <= 14*14 && (s != NotRunning || d >= 9*9) {
				img.Set(x, y, c)
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	if runtime.GOOS == "windows" {
		return ico(b.Bytes(), size)
	}
	return b.Bytes()
}

// ico wraps a PNG in an ICO container (Vista and later read PNG entries).
func ico(pngData []byte, size int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, []uint16{0, 1, 1})
	b.Write([]byte{byte(size), byte(size), 0, 0})
	binary.Write(&b, binary.LittleEndian, []uint16{1, 32})
	binary.Write(&b, binary.LittleEndian, []uint32{uint32(len(pngData)), 22})
	b.Write(pngData)
	return b.Bytes()
}
