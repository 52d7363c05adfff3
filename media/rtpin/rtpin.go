// Package rtpin turns media that arrives over RTP — an IP camera's RTSP,
// a WHIP publisher's WebRTC — into engine packets: H.264 and H.265 access
// units with their parameter sets kept and their decoding times worked
// out, and timed PCM (G.711 from a camera, Opus decoded from a browser)
// encoded to AAC, which every output plays. The media is a peer's, so
// nothing here trusts it: bad input is an error or is skipped, never a
// panic, and what is kept is bounded by what was sent.
package rtpin

import "time"

// Ticks converts v units of a clock of rate Hz to a duration without
// overflowing for any stream length.
func Ticks(v int64, rate int) time.Duration {
	r := int64(rate)
	return time.Duration(v/r)*time.Second + time.Duration(v%r)*time.Second/time.Duration(r)
}

// VideoClock is the RTP clock rate of H.264 and H.265.
const VideoClock = 90000

// Clock unwraps a track's 32-bit RTP timestamps into a timeline that
// starts at the wall-clock time its first packet arrived after the
// session's start, so that tracks that start their RTP clocks at random
// values (as they must) line up with each other.
type Clock struct {
	rate    int
	started bool
	last    uint32
	pts     int64 // of last, in the clock's units since the session's start
}

// NewClock is the clock of a track of rate Hz.
func NewClock(rate int) *Clock { return &Clock{rate: rate} }

// PTS is the presentation time, in the clock's units since the session
// started, of a packet with RTP timestamp ts that arrived since after the
// session's start. Timestamps may go back a little (B-frames, reordered
// packets): the difference is taken as signed.
func (c *Clock) PTS(ts uint32, since time.Duration) int64 {
	if !c.started {
		c.started, c.last = true, ts
		c.pts = int64(since) * int64(c.rate) / int64(time.Second)
		return c.pts
	}
	c.pts += int64(int32(ts - c.last))
	c.last = ts
	return c.pts
}
