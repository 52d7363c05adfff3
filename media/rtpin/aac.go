package rtpin

import (
	"time"

	"chalkcast/engine"
	"chalkcast/media/encode"
)

// AAC encodes timed PCM to AAC-LC at the sender's own rate: the sound of
// G.711 cameras and of WHIP publishers' Opus, which the outputs' players
// and containers do not all take.
type AAC struct {
	rate     int
	channels int
	enc      *encode.AAC
	pcm      []int16
	// next is the presentation time (in samples since the session
	// started) of pcm[0]; valid while pcm is not empty or started is set.
	next    int64
	started bool
}

// NewAAC is an encoder of PCM at rate Hz with channels channels; Close it.
func NewAAC(rate, channels int) (*AAC, error) {
	a := &AAC{rate: rate, channels: channels}
	var err error
	a.enc, err = a.newEncoder()
	return a, err
}

func (a *AAC) newEncoder() (*encode.AAC, error) {
	return encode.NewAAC(a.rate, a.channels, min(64000, 4*a.rate*a.channels))
}

// Config is the AAC configuration of the packets.
func (a *AAC) Config() *engine.CodecConfig { return a.enc.Config() }

// Close frees the encoder.
func (a *AAC) Close() { a.enc.Close() }

// MaxGap is how far a packet's timestamp may be from where the samples
// so far end before the track starts again from the packet (lost packets,
// a sender that restarted its clock).
const MaxGap = 100 * time.Millisecond

// Samples takes interleaved samples whose first plays at pts (in samples
// since the session started) and returns the AAC packets they complete.
func (a *AAC) Samples(pcm []int16, pts int64) ([]*engine.Packet, error) {
	end := a.next + int64(len(a.pcm)/a.channels)
	gap := pts - end
	skip := 0
	switch {
	case !a.started:
		a.next, a.started = pts, true
	case Ticks(abs(gap), a.rate) > MaxGap:
		// many packets lost, or the sender restarted its clock: start
		// again from this packet, with an encoder whose delay line does
		// not hold the old audio
		enc, err := a.newEncoder()
		if err != nil {
			return nil, err
		}
		a.enc.Close()
		a.enc = enc
		a.pcm = a.pcm[:0]
		a.next = pts
	case gap > 0:
		// a lost packet or two: silence in its place keeps the timing
		a.pcm = append(a.pcm, make([]int16, int(gap)*a.channels)...)
	case gap < 0:
		skip = min(int(-gap)*a.channels, len(pcm)) // samples already had
	}
	a.pcm = append(a.pcm, pcm[skip:]...)
	var out []*engine.Packet
	frame := encode.AACFrameSamples * a.channels
	for len(a.pcm) >= frame {
		au, err := a.enc.Encode(a.pcm[:frame])
		if err != nil {
			return out, err
		}
		a.pcm = append(a.pcm[:0], a.pcm[frame:]...)
		at := a.next - encode.AACDelay
		a.next += encode.AACFrameSamples
		if at < 0 || len(au) == 0 {
			continue // encoder priming
		}
		t := Ticks(at, a.rate)
		out = append(out, &engine.Packet{
			Track: engine.TrackAudio, Codec: engine.CodecAAC, PTS: t, DTS: t,
			Keyframe: true, Payload: au, Config: a.enc.Config(),
		})
	}
	return out, nil
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
