package composite

import (
	"image"
	"sync"
	"time"

	"golang.org/x/image/font/opentype"

	"chalkcast/media/encode"
)

// Stale is how long an input may deliver nothing before its area shows
// the placeholder: a camera that stopped without saying so.
const Stale = 2 * time.Second

// Scene composes the newest frames of two inputs into w×h pictures. Its
// inputs are fed from their own goroutines; Compose and SetOptions may be
// called from another.
type Scene struct {
	w, h   int
	mu     sync.Mutex
	opt    Options
	inputs [2]*Input
	ph     placeholders
}

// New returns a scene of w×h pixels (both even) whose inputs' areas show
// labels when they are down ("Camera disconnected"), in font (nil: a
// built-in font of Latin letters).
func New(w, h int, opt Options, labels [2]string, font *opentype.Font) *Scene {
	s := &Scene{w: w, h: h, ph: placeholders{font: font}}
	for i := range s.inputs {
		s.inputs[i] = &Input{label: labels[i]}
	}
	s.SetOptions(opt)
	return s
}

// Options is the current layout.
func (s *Scene) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opt
}

// SetOptions changes the layout; the next composed picture has it, and
// the inputs draw their next frames at their new areas' sizes.
func (s *Scene) SetOptions(opt Options) {
	s.mu.Lock()
	s.opt = opt
	s.mu.Unlock()
	areas := opt.Areas(s.w, s.h)
	for i, in := range s.inputs {
		in.mu.Lock()
		in.size = areas[i].Size()
		in.mu.Unlock()
	}
}

// Input is input i (0 or 1).
func (s *Scene) Input(i int) *Input { return s.inputs[i] }

// Compose draws the scene as of now into dst (w×h).
func (s *Scene) Compose(dst *image.YCbCr, now time.Time) {
	areas := s.Options().Areas(s.w, s.h)
	full := image.Rect(0, 0, s.w, s.h)
	if areas[0] != full && areas[1] != full {
		encode.Fill(dst, black.y, black.cb, black.cr)
	}
	for i, a := range areas {
		if !a.Empty() {
			s.inputs[i].draw(dst.SubImage(a).(*image.YCbCr), now, &s.ph)
		}
	}
}

// Input holds the newest frame of one input, drawn at its area's size.
type Input struct {
	label string
	mu    sync.Mutex
	size  image.Point  // of the input's area; zero while it does not show
	ready *image.YCbCr // the newest complete frame, nil before the first
	spare *image.YCbCr // the buffer for the next one
	at    time.Time    // when ready was captured
	alive time.Time    // when the input last delivered, shown or not
	down  bool
}

// Size is the size of the input's area: what fill draws at in Put; zero
// when the input does not show.
func (in *Input) Size() image.Point {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.size
}

// Put offers a frame captured at captured: fill draws it into a buffer
// of the input's area size (encode.Fit of the device's picture). An
// input that does not show is only counted as alive. Put is called from
// one goroutine at a time.
func (in *Input) Put(captured time.Time, fill func(dst *image.YCbCr) error) error {
	in.mu.Lock()
	size, buf := in.size, in.spare
	in.spare = nil
	in.alive, in.down = time.Now(), false
	in.mu.Unlock()
	if size == (image.Point{}) {
		in.keep(buf)
		return nil
	}
	if buf == nil || buf.Rect.Size() != size {
		buf = image.NewYCbCr(image.Rectangle{Max: size}, image.YCbCrSubsampleRatio420)
	}
	if err := fill(buf); err != nil {
		in.keep(buf)
		return err
	}
	in.mu.Lock()
	in.ready, in.spare = buf, in.ready
	in.at = captured
	in.mu.Unlock()
	return nil
}

func (in *Input) keep(buf *image.YCbCr) {
	in.mu.Lock()
	if in.spare == nil {
		in.spare = buf
	}
	in.mu.Unlock()
}

// SetDown says that the input failed (a camera unplugged, an IP camera
// gone): its area shows the placeholder until it delivers again.
func (in *Input) SetDown() {
	in.mu.Lock()
	in.down = true
	in.mu.Unlock()
}

// At is the capture time of the input's newest frame drawn; zero before
// the first.
func (in *Input) At() time.Time {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.at
}

// Down reports whether the input's area shows the placeholder.
func (in *Input) Down(now time.Time) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.downLocked(now)
}

func (in *Input) downLocked(now time.Time) bool {
	return in.down || (!in.alive.IsZero() && now.Sub(in.alive) > Stale)
}

// draw draws the input into dst, its area.
func (in *Input) draw(dst *image.YCbCr, now time.Time, ph *placeholders) {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.downLocked(now):
		copyPicture(dst, ph.get(dst.Rect.Size(), in.label))
	case in.ready == nil:
		encode.Fill(dst, black.y, black.cb, black.cr)
	case in.ready.Rect.Size() == dst.Rect.Size():
		copyPicture(dst, in.ready)
	default: // the layout changed since this frame was drawn
		_ = encode.Fit(dst, in.ready) // both are I420 pictures
	}
}

// copyPicture copies src into dst of the same size (dst may be part of a
// larger picture).
func copyPicture(dst, src *image.YCbCr) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	for j := range h {
		copy(dst.Y[j*dst.YStride:j*dst.YStride+w], src.Y[j*src.YStride:])
	}
	cw := (w + 1) / 2
	for j := range (h + 1) / 2 {
		copy(dst.Cb[j*dst.CStride:j*dst.CStride+cw], src.Cb[j*src.CStride:])
		copy(dst.Cr[j*dst.CStride:j*dst.CStride+cw], src.Cr[j*src.CStride:])
	}
}
