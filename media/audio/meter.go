package audio

import (
	"math"
	"time"

	"chalkcast/engine"
)

// Meter measures decoded sound in windows of Window: each full window
// gives a peak and an RMS loudness, and the peak of the last second is
// kept for the API. It is used by one goroutine at a time.
type Meter struct {
	rate, channels int
	window         int // samples per channel in one window

	n      int     // samples per channel in the current window
	peak   float64 // of the current window
	sumSq  float64
	frames []float64 // peaks of the windows of the last second, newest last
	perSec int
}

// Window is the meter's integration time: 20 updates a second, well
// within a tenth of a second of the sound.
const Window = 50 * time.Millisecond

// NewMeter measures sound of rate Hz.
func NewMeter(rate int) *Meter {
	rate = max(rate, 1)
	w := max(int(int64(rate)*int64(Window)/int64(time.Second)), 1)
	return &Meter{rate: rate, window: w, perSec: int(time.Second / Window)}
}

// Add measures interleaved samples of channels channels and calls done
// with the level at the end of each window they complete.
func (m *Meter) Add(samples []float32, channels int, done func(engine.AudioLevel)) {
	channels = max(channels, 1)
	for i := 0; i+channels <= len(samples); i += channels {
		for _, v := range samples[i : i+channels] {
			a := math.Abs(float64(v))
			m.peak = max(m.peak, a)
			m.sumSq += a * a / float64(channels)
		}
		m.n++
		if m.n < m.window {
			continue
		}
		rms := math.Sqrt(m.sumSq / float64(m.n))
		m.frames = append(m.frames, m.peak)
		if len(m.frames) > m.perSec {
			m.frames = m.frames[len(m.frames)-m.perSec:]
		}
		second := 0.0
		for _, p := range m.frames {
			second = max(second, p)
		}
		done(engine.AudioLevel{Peak: DBFS(m.peak), Loudness: DBFS(rms), SecondPeak: DBFS(second)})
		m.n, m.peak, m.sumSq = 0, 0, 0
	}
}

// ForgetSecond drops the windows before the newest from the last
// second's peak: the sound before them is known to be gone (the stream
// was muted and its silence has arrived).
func (m *Meter) ForgetSecond() {
	if n := len(m.frames); n > 1 {
		m.frames = append(m.frames[:0], m.frames[n-1])
	}
}

// DBFS converts an amplitude (1 is full scale) to dBFS, never below
// engine.SilenceFloor.
func DBFS(a float64) float64 {
	if a <= 0 {
		return engine.SilenceFloor
	}
	return max(20*math.Log10(a), engine.SilenceFloor)
}

// Why a stream is silent, as engine.Stream.Silent reports it; the studio
// translates these words.
const (
	// ReasonNoMicrophone: the source promised a microphone and found none.
	ReasonNoMicrophone = "no microphone was found"
	// ReasonMicrophoneInUse: the source promised the default microphone,
	// and another stream has it.
	ReasonMicrophoneInUse = "the microphone is used by another stream"
	// ReasonQuiet: the sound stayed below -50 dBFS for 10 seconds.
	ReasonQuiet = "only silence for 10 seconds"
)
