package rtpin

import (
	"testing"
	"time"
)

// TestClock: a track's timeline starts when its first packet arrived and
// follows its RTP timestamps across the 32-bit wrap, and back a little.
func TestClock(t *testing.T) {
	c := NewClock(VideoClock)
	var first uint32 = 1<<32 - 296
	for _, s := range []struct {
		ts   uint32
		want int64
	}{
		{first, 45000},          // 0.5 s after the session started
		{first + 3000, 48000},   // across the wrap
		{first + 1500, 46500},   // a B-frame shown earlier
		{first + 93000, 138000}, // a second later
	} {
		if got := c.PTS(s.ts, 500*time.Millisecond); got != s.want {
			t.Errorf("PTS(%d) = %d, want %d", s.ts, got, s.want)
		}
	}
	if got := Ticks(138000, VideoClock); got != 1533333333*time.Nanosecond {
		t.Errorf("Ticks = %v", got)
	}
}
