package rtpin

import (
	"math"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/media/encode"
)

// TestAAC: timed PCM becomes AAC packets a frame apart; a lost packet is
// filled with silence; a long gap starts the track again.
func TestAAC(t *testing.T) {
	g, err := NewAAC(8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	// 2 s of a 440 Hz tone in 20 ms packets, then a packet 1 s later
	// (lost packets): the track starts again from the new timestamp.
	var pkts []*engine.Packet
	tone := make([]int16, 160)
	for i := range 100 {
		for j := range tone {
			tone[j] = int16(8000 * math.Sin(2*math.Pi*440*float64(i*160+j)/8000))
		}
		out, err := g.Samples(tone, int64(i*160))
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, out...)
	}
	// 16000 samples, less the encoder's delay, in frames of 1024
	if want := (16000 - encode.AACDelay) / encode.AACFrameSamples; len(pkts) < want-1 || len(pkts) > want+1 {
		t.Errorf("%d AAC packets, want about %d", len(pkts), want)
	}
	for i, p := range pkts {
		if p.Codec != engine.CodecAAC || p.Config.SampleRate != 8000 || p.PTS < 0 || len(p.Payload) == 0 {
			t.Fatalf("packet %d: %+v", i, p)
		}
		if i > 0 && p.PTS-pkts[i-1].PTS != 128*time.Millisecond {
			t.Fatalf("packets %d and %d are %v apart, want 128 ms", i-1, i, p.PTS-pkts[i-1].PTS)
		}
	}
	// one lost packet (20 ms): silence in its place keeps the timing
	buffered := len(g.pcm)
	if _, err := g.Samples(tone, 16160); err != nil {
		t.Fatal(err)
	}
	if got := len(g.pcm) - buffered; got != 320 && got+encode.AACFrameSamples != 320 {
		t.Errorf("after a lost packet %d samples were added, want 160 of silence and 160", got)
	}
	// a second later: the track starts again from the new timestamp
	if _, err := g.Samples(tone, 24000); err != nil {
		t.Fatal(err)
	}
	if g.next != 24000 || len(g.pcm) != 160 {
		t.Errorf("after a gap: next %d, %d samples buffered; want 24000, 160", g.next, len(g.pcm))
	}
}
