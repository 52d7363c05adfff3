package testpattern

import (
	"errors"
	"image"
	"image/color"
)

// ReadCounter reads the frame counter back from a picture of the pattern
// (a decoded frame, or a screenshot of a player at the video's size), so
// that a test can tell which frame a player shows: a seek's, a rewind's.
func ReadCounter(img image.Image) (int64, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dh := h / 9 * 2 / 3 // the counter's glyph height, as Draw makes it
	dw, t := dh/2, max(2, dh/8)
	adv := dw + t*2
	if dh < 8 {
		return 0, errors.New("testpattern: picture too small to read")
	}
	cx, y0 := b.Min.X+w/2, b.Min.Y+h/3+h/9*3/2-dh/2
	lum := func(x, y int) uint8 { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y }
	// the black box reaches 2t left of the first glyph: found along the
	// row between the box's edge and the glyphs' tops
	left := cx
	for left > b.Min.X && lum(left-1, y0-t) < 80 {
		left--
	}
	x := left + t*2
	n := (2*(cx-x) + adv/2) / adv
	if n < 1 || n > 12 {
		return 0, errors.New("testpattern: no frame counter in the picture")
	}
	var v int64
	for i := range n {
		gx := x + i*adv
		mid := y0 + dh/2 - t/2
		at := [7][2]int{
			{gx + dw/2, y0 + t/2}, {gx + dw - t/2, y0 + dh/4}, {gx + dw - t/2, y0 + dh*3/4}, {gx + dw/2, y0 + dh - t/2},
			{gx + t/2, y0 + dh*3/4}, {gx + t/2, y0 + dh/4}, {gx + dw/2, mid + t/2},
		}
		var s uint8
		for k, p := range at {
			if lum(p[0], p[1]) > 128 {
				s |= 1 << k
			}
		}
		d := -1
		for g, m := range segments {
			if m == s {
				d = g
			}
		}
		if d < 0 {
			return 0, errors.New("testpattern: a digit of the frame counter does not read")
		}
		v = v*10 + int64(d)
	}
	return v, nil
}
