package encode

import (
	"fmt"
	"image"
)

// Fit draws src into dst (I420, a whole picture or a part of one from
// SubImage with even bounds), scaled to fit with its aspect ratio kept
// and black bars around it: a 4:3 document camera or a 16:10 screen in a
// 16:9 stream. Scaling picks the nearest pixel, which keeps text on slides
// sharp and costs a few milliseconds per 1080p frame. It supports the
// formats cameras and screens deliver: YCbCr (4:2:0, 4:2:2, 4:4:4) and
// RGBA.
func Fit(dst *image.YCbCr, src image.Image) error {
	sb := src.Bounds()
	db := dst.Rect
	sw, sh, dw, dh := sb.Dx(), sb.Dy(), db.Dx(), db.Dy()
	if sw <= 0 || sh <= 0 {
		return fmt.Errorf("encode: empty %dx%d frame", sw, sh)
	}
	// the largest even-sized rectangle of src's shape inside dst, centred
	w, h := dw, sh*dw/sw
	if h > dh {
		w, h = sw*dh/sh, dh
	}
	w, h = max(2, w&^1), max(2, h&^1)
	x0, y0 := ((dw-w)/2)&^1, ((dh-h)/2)&^1
	if w != dw || h != dh {
		fillFrame(dst, black)
	}
	// source column and row of each destination column and row
	xs := make([]int, w)
	for i := range xs {
		xs[i] = sb.Min.X + (2*i+1)*sw/(2*w)
	}
	ys := make([]int, h)
	for i := range ys {
		ys[i] = sb.Min.Y + (2*i+1)*sh/(2*h)
	}
	switch s := src.(type) {
	case *image.YCbCr:
		fitYCbCr(dst, s, x0, y0, xs, ys)
	case *image.RGBA:
		fitRGBA(dst, s, x0, y0, xs, ys)
	default:
		return fmt.Errorf("encode: unsupported frame format %T", src)
	}
	return nil
}

type yuv8 struct{ y, cb, cr uint8 }

var black = yuv8{16, 128, 128}

func fillFrame(dst *image.YCbCr, c yuv8) { Fill(dst, c.y, c.cb, c.cr) }

// Fill paints dst (an I420 picture or a part of one, from SubImage with
// even bounds) in one colour.
func Fill(dst *image.YCbCr, y, cb, cr uint8) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	if w <= 0 || h <= 0 {
		return
	}
	for j := range h {
		fill(dst.Y[j*dst.YStride:j*dst.YStride+w], y)
	}
	for j := range (h + 1) / 2 {
		o := j * dst.CStride
		fill(dst.Cb[o:o+(w+1)/2], cb)
		fill(dst.Cr[o:o+(w+1)/2], cr)
	}
}

// fill sets every byte of b to v at memory-copy speed.
func fill(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

func fitYCbCr(dst, src *image.YCbCr, x0, y0 int, xs, ys []int) {
	for j, sy := range ys {
		drow := dst.Y[(y0+j)*dst.YStride+x0:]
		base := src.YOffset(0, sy)
		for i, sx := range xs {
			drow[i] = src.Y[base+sx]
		}
	}
	for j := 0; j < len(ys); j += 2 {
		sy := ys[j]
		d := (y0/2+j/2)*dst.CStride + x0/2
		for i := 0; i < len(xs); i += 2 {
			o := src.COffset(xs[i], sy)
			dst.Cb[d+i/2] = src.Cb[o]
			dst.Cr[d+i/2] = src.Cr[o]
		}
	}
}

// fitRGBA converts with BT.601 limited-range integer coefficients; chroma
// comes from the top-left pixel of each 2×2 block.
func fitRGBA(dst *image.YCbCr, src *image.RGBA, x0, y0 int, xs, ys []int) {
	offs := make([]int, len(xs)) // byte offset of each source column
	for i, sx := range xs {
		offs[i] = 4 * (sx - src.Rect.Min.X)
	}
	for j, sy := range ys {
		drow := dst.Y[(y0+j)*dst.YStride+x0:]
		drow = drow[:len(offs)]
		srow := src.Pix[src.PixOffset(src.Rect.Min.X, sy):]
		srow = srow[:4*src.Rect.Dx()]
		for i, o := range offs {
			p := srow[o : o+3]
			drow[i] = uint8((66*int32(p[0])+129*int32(p[1])+25*int32(p[2])+128)>>8 + 16)
		}
		if j%2 != 0 {
			continue
		}
		d := (y0/2+j/2)*dst.CStride + x0/2
		cb, cr := dst.Cb[d:d+len(offs)/2], dst.Cr[d:d+len(offs)/2]
		for i := range cb {
			p := srow[offs[2*i] : offs[2*i]+3]
			r, g, b := int32(p[0]), int32(p[1]), int32(p[2])
			cb[i] = uint8((-38*r-74*g+112*b+128)>>8 + 128)
			cr[i] = uint8((112*r-94*g-18*b+128)>>8 + 128)
		}
	}
}
