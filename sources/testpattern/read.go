package testpattern

import (
	"errors"
	"image"
	"image/color"
	"math"
)

// ReadCounter reads the frame counter back from a picture of the pattern
// (a decoded frame, a preview scaled to any size, a screenshot of a
// player), so that a test can tell which frame is shown: after a seek, a
// rewind, as a cover. It finds the counter's black box (centred in the
// picture, as Draw puts it), takes the glyphs' size from the box's and
// reads each glyph's seven segments.
func ReadCounter(img image.Image) (int64, error) {
	b := img.Bounds()
	rgb := func(x, y int) (r, g, bl int) {
		r32, g32, b32, _ := color.RGBAModel.Convert(img.At(x, y)).RGBA()
		return int(r32 >> 8), int(g32 >> 8), int(b32 >> 8)
	}
	// the box and its glyphs are grey, of any shade once compressed; the
	// bars around it are coloured
	inBox := func(x, y int) bool {
		r, g, bl := rgb(x, y)
		return max(r, g, bl)-min(r, g, bl) < 48
	}
	dark := func(x, y int) bool { r, g, bl := rgb(x, y); return max(r, g, bl) < 60 }
	lit := func(x, y int) bool { r, g, bl := rgb(x, y); return (r+g+bl)/3 > 150 }
	cx, cy := b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/2
	if !inBox(cx, cy) {
		return 0, errors.New("testpattern: no frame counter in the picture")
	}
	top, bottom := cy, cy
	for top > b.Min.Y && inBox(cx, top-1) {
		top--
	}
	for bottom < b.Max.Y-1 && inBox(cx, bottom+1) {
		bottom++
	}
	row := top + 2 // in the box's padding, above the glyphs
	left, right := cx, cx
	for left > b.Min.X && dark(left-1, row) {
		left--
	}
	for right < b.Max.X-1 && dark(right+1, row) {
		right++
	}
	// Draw sized the glyphs from the height it drew at: the picture's, or
	// that of a larger one this one was scaled from
	boxH, boxW := float64(bottom-top+1), float64(right-left+1)
	for _, drawn := range []int{b.Dy(), 360, 480, 540, 720, 1080, 1440, 2160} {
		sc := float64(b.Dy()) / float64(drawn)
		dh := drawn / 9 * 2 / 3
		t := max(2, dh/8)
		dw, adv := dh/2, dh/2+2*t
		if dh < 12 || math.Abs(sc*float64(dh+4*t)-boxH) > 3 {
			continue
		}
		n := int(math.Round((boxW/sc - float64(4*t)) / float64(adv)))
		if n < 1 || n > 12 || math.Abs(sc*float64(n*adv+4*t)-boxW) > 3 {
			continue
		}
		// the box itself gives the scale exactly, across and down
		sx, sy := boxW/float64(n*adv+4*t), boxH/float64(dh+4*t)
		return readGlyphs(lit, float64(left)+sx*float64(2*t), float64(top)+sy*float64(2*t), sx, sy, n, dh, dw, t, adv)
	}
	return 0, errors.New("testpattern: no frame counter in the picture")
}

// readGlyphs reads n seven-segment glyphs drawn dh high, dw wide, with
// strokes t thick, adv apart, scaled by sx across and sy down, the
// first's corner at x0, y0.
func readGlyphs(lit func(x, y int) bool, x0, y0, sx, sy float64, n, dh, dw, t, adv int) (int64, error) {
	fdh, fdw, ft := float64(dh), float64(dw), float64(t)
	// the middle of each segment, a b c d e f g, relative to a glyph
	at := [7][2]float64{
		{fdw / 2, ft / 2}, {fdw - ft/2, fdh / 4}, {fdw - ft/2, fdh * 3 / 4}, {fdw / 2, fdh - ft/2},
		{ft / 2, fdh * 3 / 4}, {ft / 2, fdh / 4}, {fdw / 2, float64(dh/2-t/2) + ft/2},
	}
	var v int64
	for i := range n {
		gx := x0 + sx*float64(i*adv)
		var s uint8
		for k, p := range at {
			if lit(int(gx+sx*p[0]), int(y0+sy*p[1])) {
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
