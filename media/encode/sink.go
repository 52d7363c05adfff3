package encode

import (
	"context"
	"image"
	"time"

	"chalkcast/engine"
)

// Sink takes what a capturing source makes: pictures and sound stamped
// with when they were captured. A Pipeline encodes them into a stream of
// their own; a scene composes them with another input's.
type Sink interface {
	// Start is the capture time that is presentation time zero.
	Start() time.Time
	// Video offers a frame captured at captured: fill draws it into the
	// sink's buffer, whose size the sink chooses (fill scales, as Fit
	// does). The sink may drop it without calling fill. It never waits.
	Video(captured time.Time, fill func(dst *image.YCbCr) error) error
	// Audio offers interleaved samples whose first was captured at first;
	// the caller may reuse pcm afterwards.
	Audio(first time.Time, pcm []int16) error
	// Dropped counts n frames the source could not capture in time.
	Dropped(n int)
}

var _ Sink = (*Pipeline)(nil)

// Capturer is a source kind whose pictures and sound can go to a Sink
// instead of a stream of their own: a camera, a screen or the test
// pattern as a scene's input.
type Capturer interface {
	// Capture runs src into sink until ctx ends (then it returns nil) or
	// the source fails (it returns why, in words for a teacher). With
	// audio false it records no sound; with audio true it sends sound in
	// the rate and channels of src's options (ParseSettings).
	Capture(ctx context.Context, src engine.Source, sink Sink, audio bool) error
}
