package audio

import "math"

// Resampler turns interleaved float samples of one rate and channel
// count into 16-bit samples of another: channels are mixed down or
// copied up, and the rate is changed by linear interpolation. It keeps
// its place across calls, so that a stream converted chunk by chunk has
// no clicks at the seams. A scene uses it to carry an IP camera's sound
// (8 kHz G.711, 44.1 kHz AAC) in its own encoder's rate.
type Resampler struct {
	inRate, outRate int
	inCh, outCh     int
	frames          []float32 // the input mixed to outCh channels, the previous call's last frame first
	pos             int       // where the next output sample is, in 1/outRate frames of the current input
	started         bool
}

// NewResampler converts from inRate Hz and inCh channels to outRate and
// outCh (all positive).
func NewResampler(inRate, inCh, outRate, outCh int) *Resampler {
	return &Resampler{inRate: inRate, outRate: outRate, inCh: inCh, outCh: outCh}
}

// Convert appends in (interleaved, in [-1, 1]) converted to dst.
func (r *Resampler) Convert(dst []int16, in []float32) []int16 {
	n := len(in) / r.inCh
	if n == 0 {
		return dst
	}
	keep := 0 // the previous call's last frame, which the first new one is interpolated from
	if r.started {
		keep = r.outCh
	}
	r.frames = append(r.frames[:keep], make([]float32, n*r.outCh)...)
	mixed := r.frames[keep:]
	for i := range n {
		frame := in[i*r.inCh : (i+1)*r.inCh]
		out := mixed[i*r.outCh : (i+1)*r.outCh]
		switch {
		case r.inCh == r.outCh:
			copy(out, frame)
		case r.outCh == 1:
			var sum float32
			for _, v := range frame {
				sum += v
			}
			out[0] = sum / float32(r.inCh)
		default:
			for c := range out {
				out[c] = frame[min(c, r.inCh-1)]
			}
		}
	}
	total := len(r.frames) / r.outCh
	end := (total - 1) * r.outRate
	pos := r.pos
	for ; pos <= end; pos += r.inRate {
		i := pos / r.outRate
		t := float32(pos%r.outRate) / float32(r.outRate)
		for c := range r.outCh {
			a := r.frames[i*r.outCh+c]
			b := a
			if i+1 < total {
				b = r.frames[(i+1)*r.outCh+c]
			}
			dst = append(dst, toInt16(a+(b-a)*t))
		}
	}
	// The last frame starts the next call's input.
	copy(r.frames, r.frames[(total-1)*r.outCh:])
	r.frames = r.frames[:r.outCh]
	r.pos = pos - end
	r.started = true
	return dst
}

func toInt16(v float32) int16 {
	return int16(math.Round(float64(max(-1, min(1, v))) * 32767))
}
