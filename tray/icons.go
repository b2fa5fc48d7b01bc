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
	return draw(colors[s], func(x, y float64) bool {
		d := (x-15.5)*(x-15.5) + (y-15.5)*(y-15.5)
		return d <= 14*14 && (s != NotRunning || d >= 9*9)
	})
}

// PendingIcon is the icon while a confirmation waits: a warning triangle
// with an exclamation mark, another shape than every state's disc, so
// that it shows without telling colours apart.
func PendingIcon() []byte {
	return draw(colors[Paused], func(x, y float64) bool {
		inside := y >= 2 && y <= 29 && (x-15.5) <= (y-2)/2+0.5 && (15.5-x) <= (y-2)/2+0.5
		mark := x >= 14 && x <= 17 && ((y >= 10 && y <= 20) || (y >= 23 && y <= 26))
		return inside && !mark
	})
}

// IconOf is the icon of v: the pending triangle over the state's disc.
func IconOf(v View) []byte {
	if v.Pending != nil {
		return PendingIcon()
	}
	return Icon(v.State)
}

// draw paints the 32×32 pixels where in says, in c.
func draw(c color.RGBA, in func(x, y float64) bool) []byte {
	const size = 32
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			if in(float64(x), float64(y)) {
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
