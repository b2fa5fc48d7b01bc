package testutil

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/bits"
	"os"
	"os/exec"
	"time"
)

// ScreenshotX captures an X window of display (window "" for the whole
// screen) with xwd and returns it as an image; SavePNG writes one. A
// native window (a dialog, Wine's tray) is not in the browser's
// screenshots.
func ScreenshotX(display, window string) (image.Image, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := []string{"-silent", "-root"}
	if window != "" {
		args = []string{"-silent", "-id", window}
	}
	cmd := exec.CommandContext(ctx, "xwd", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("xwd %v: %w", args, err)
	}
	return decodeXWD(out)
}

// SavePNG writes img to path as PNG.
func SavePNG(img image.Image, path string) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// xwdHeader is the fixed part of an XWD file's header (X11's
// XWDFileHeader), big-endian.
type xwdHeader struct {
	HeaderSize, FileVersion, PixmapFormat, PixmapDepth, Width, Height, XOffset, ByteOrder,
	BitmapUnit, BitmapBitOrder, BitmapPad, BitsPerPixel, BytesPerLine, VisualClass,
	RedMask, GreenMask, BlueMask, BitsPerRGB, ColormapEntries, NColors uint32
}

// decodeXWD decodes a TrueColor ZPixmap XWD of 24 or 32 bits per pixel
// (Xvfb's 24-bit screens are either).
func decodeXWD(b []byte) (image.Image, error) {
	var h xwdHeader
	if err := binary.Read(bytes.NewReader(b), binary.BigEndian, &h); err != nil {
		return nil, fmt.Errorf("xwd header: %w", err)
	}
	if h.PixmapFormat != 2 || (h.BitsPerPixel != 24 && h.BitsPerPixel != 32) {
		return nil, fmt.Errorf("xwd: format %d with %d bits per pixel; want ZPixmap, 24 or 32", h.PixmapFormat, h.BitsPerPixel)
	}
	bpp := int(h.BitsPerPixel) / 8
	off := int(h.HeaderSize) + int(h.NColors)*12
	if off < 0 || int(h.BytesPerLine) < int(h.Width)*bpp || len(b) < off+int(h.BytesPerLine)*int(h.Height) {
		return nil, errors.New("xwd: truncated")
	}
	pixel := func(q []byte) uint32 { // the pixel's bytes, in the file's byte order
		var p uint32
		for i := range bpp {
			if h.ByteOrder == 1 {
				p = p<<8 | uint32(q[i])
			} else {
				p |= uint32(q[i]) << (8 * i)
			}
		}
		return p
	}
	channel := func(p, mask uint32) uint8 {
		if mask == 0 {
			return 0
		}
		return uint8((p & mask) >> bits.TrailingZeros32(mask))
	}
	img := image.NewRGBA(image.Rect(0, 0, int(h.Width), int(h.Height)))
	for y := 0; y < int(h.Height); y++ {
		row := b[off+y*int(h.BytesPerLine):]
		for x := 0; x < int(h.Width); x++ {
			p := pixel(row[x*bpp:])
			img.SetRGBA(x, y, color.RGBA{channel(p, h.RedMask), channel(p, h.GreenMask), channel(p, h.BlueMask), 255})
		}
	}
	return img, nil
}
