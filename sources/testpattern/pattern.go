// Package testpattern is Chalkcast's built-in source: colour bars with a
// moving bar, the time of day and a frame counter burned in, and a 1 kHz
// beep every second in step with a white flash. It goes through the same
// encoders as a camera, so it is what a new user tries first and what tests
// and benchmarks publish; the beep and flash let anyone check lip sync.
// Like every source it only publishes into the engine: it must not import an
// output or the GUI.
package testpattern

import (
	"image"
	"math"
	"time"
)

// yuv is a BT.601 limited-range colour.
type yuv struct{ y, cb, cr uint8 }

var (
	white = yuv{235, 128, 128}
	black = yuv{16, 128, 128}
	grey  = yuv{48, 128, 128}
	// 75 % colour bars: white, yellow, cyan, green, magenta, red, blue
	bars = [...]yuv{{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58}, {84, 184, 198}, {65, 100, 212}, {35, 212, 114}}
)

// Flash is how long the sync flash and beep last at the start of each
// second of the capture clock.
const Flash = 100 * time.Millisecond

// Pattern draws frames of one size.
type Pattern struct {
	w, h int
	bg   *image.YCbCr // bars and the lower band, drawn once
}

// NewPattern prepares a pattern of w×h pixels (both even).
func NewPattern(w, h int) *Pattern {
	bg := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i, c := range bars {
		fillRect(bg, i*w/len(bars), 0, (i+1)*w/len(bars), h*2/3, c)
	}
	fillRect(bg, 0, h*2/3, w, h, grey)
	return &Pattern{w: w, h: h, bg: bg}
}

// Draw draws frame number n, captured at wall-clock time at and t after the
// source started, into dst (of the pattern's size).
func (p *Pattern) Draw(dst *image.YCbCr, n int64, at time.Time, t time.Duration) {
	copy(dst.Y, p.bg.Y)
	copy(dst.Cb, p.bg.Cb)
	copy(dst.Cr, p.bg.Cr)
	w, h := p.w, p.h
	// a bar sweeping across the lower band every 4 seconds
	bw := w / 16
	x := int(float64(w-bw) * math.Mod(t.Seconds(), 4) / 4)
	fillRect(dst, x, h*2/3, x+bw, h, white)
	// sync flash in the top-left corner during the first Flash of each second
	if t%time.Second < Flash {
		fillRect(dst, 0, 0, w/8, h/6, white)
	}
	// time of day HH:MM:SS.mmm, and the frame counter
	dh := h / 9
	local := at.Local()
	clock := []int{local.Hour() / 10, local.Hour() % 10, colon, local.Minute() / 10, local.Minute() % 10, colon,
		local.Second() / 10, local.Second() % 10, dot, local.Nanosecond() / 1e8, local.Nanosecond() / 1e7 % 10, local.Nanosecond() / 1e6 % 10}
	drawDigits(dst, w/2, h/3, dh, clock)
	var frame []int
	for v := n; ; v /= 10 {
		frame = append([]int{int(v % 10)}, frame...)
		if v < 10 {
			break
		}
	}
	drawDigits(dst, w/2, h/3+dh*3/2, dh*2/3, frame)
}

// glyphs beyond the digits
const (
	colon = 10
	dot   = 11
)

// segments of a seven-segment digit: a b c d e f g
var segments = [10]uint8{0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f}

// drawDigits draws glyphs of height dh centred on (cx, cy), white on a
// black box.
func drawDigits(dst *image.YCbCr, cx, cy, dh int, glyphs []int) {
	dw := dh / 2
	t := max(2, dh/8)
	adv := dw + t*2
	total := 0
	for _, g := range glyphs {
		if g >= 10 {
			total += t * 3
		} else {
			total += adv
		}
	}
	x := cx - total/2
	y := cy - dh/2
	fillRect(dst, x-t*2, y-t*2, x+total+t*2, y+dh+t*2, black)
	for _, g := range glyphs {
		switch {
		case g == colon:
			fillRect(dst, x, y+dh/4, x+t, y+dh/4+t, white)
			fillRect(dst, x, y+dh*3/4-t, x+t, y+dh*3/4, white)
			x += t * 3
			continue
		case g == dot:
			fillRect(dst, x, y+dh-t, x+t, y+dh, white)
			x += t * 3
			continue
		}
		s := segments[g]
		mid := y + dh/2 - t/2
		seg := [7][4]int{
			{x, y, x + dw, y + t},                  // a
			{x + dw - t, y, x + dw, y + dh/2},      // b
			{x + dw - t, y + dh/2, x + dw, y + dh}, // c
			{x, y + dh - t, x + dw, y + dh},        // d
			{x, y + dh/2, x + t, y + dh},           // e
			{x, y, x + t, y + dh/2},                // f
			{x, mid, x + dw, mid + t},              // g
		}
		for i, r := range seg {
			if s&(1<<i) != 0 {
				fillRect(dst, r[0], r[1], r[2], r[3], white)
			}
		}
		x += adv
	}
}

// fillRect fills [x0,x1)×[y0,y1), clipped, with c.
func fillRect(img *image.YCbCr, x0, y0, x1, y1 int, c yuv) {
	b := img.Rect
	x0, y0 = max(x0, b.Min.X), max(y0, b.Min.Y)
	x1, y1 = min(x1, b.Max.X), min(y1, b.Max.Y)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	for y := y0; y < y1; y++ {
		row := img.Y[y*img.YStride+x0 : y*img.YStride+x1]
		for i := range row {
			row[i] = c.y
		}
	}
	for y := y0 / 2; y < (y1+1)/2; y++ {
		o := y * img.CStride
		for x := x0 / 2; x < (x1+1)/2; x++ {
			img.Cb[o+x] = c.cb
			img.Cr[o+x] = c.cr
		}
	}
}

// Tone makes the beep: 1 kHz at half scale during the first Flash of each
// second, silence otherwise, with 2 ms ramps so the beep does not click.
type Tone struct {
	rate, channels int
	n              int64 // samples made so far
	buf            []int16
}

// NewTone makes a tone generator.
func NewTone(rate, channels int) *Tone { return &Tone{rate: rate, channels: channels} }

// Skip passes over n samples per channel.
func (t *Tone) Skip(n int) { t.n += int64(n) }

// Next returns the next n samples per channel, interleaved; the slice is
// reused by the next call.
func (t *Tone) Next(n int) []int16 {
	t.buf = t.buf[:0]
	on := int64(t.rate) * int64(Flash) / int64(time.Second)
	ramp := float64(t.rate) * 0.002
	for i := 0; i < n; i++ {
		k := (t.n + int64(i)) % int64(t.rate)
		var v int16
		if k < on {
			g := math.Min(1, math.Min(float64(k)/ramp, float64(on-k)/ramp))
			v = int16(16384 * g * math.Sin(2*math.Pi*1000*float64(k)/float64(t.rate)))
		}
		for range t.channels {
			t.buf = append(t.buf, v)
		}
	}
	t.n += int64(n)
	return t.buf
}
