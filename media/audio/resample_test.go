package audio

import (
	"math"
	"slices"
	"testing"
)

func sine(rate, n int, hz float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(0.5 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return out
}

func TestResamplerKeepsSameFormat(t *testing.T) {
	in := []float32{0, 0.5, -0.5, 1, -1, 2}
	got := NewResampler(48000, 1, 48000, 1).Convert(nil, in)
	want := []int16{0, 16384, -16384, 32767, -32767, 32767}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestResamplerChannels(t *testing.T) {
	if got := NewResampler(8000, 2, 8000, 1).Convert(nil, []float32{1, 0, 0.5, 0.5}); !slices.Equal(got, []int16{16384, 16384}) {
		t.Errorf("stereo to mono: %v", got)
	}
	if got := NewResampler(8000, 1, 8000, 2).Convert(nil, []float32{0.5, -0.5}); !slices.Equal(got, []int16{16384, 16384, -16384, -16384}) {
		t.Errorf("mono to stereo: %v", got)
	}
}

// A tone converted in chunks of a camera's packets is the tone converted
// at once, of the right length, and still the tone.
func TestResamplerRates(t *testing.T) {
	for _, c := range []struct{ in, out, chunk int }{{8000, 48000, 160}, {44100, 48000, 1024}, {48000, 44100, 1024}, {16000, 48000, 333}} {
		in := sine(c.in, c.in, 440) // one second
		whole := NewResampler(c.in, 1, c.out, 1).Convert(nil, in)
		r := NewResampler(c.in, 1, c.out, 1)
		var chunked []int16
		for i := 0; i < len(in); i += c.chunk {
			chunked = r.Convert(chunked, in[i:min(i+c.chunk, len(in))])
		}
		if !slices.Equal(whole, chunked) {
			t.Errorf("%d→%d Hz: chunks of %d differ from the whole", c.in, c.out, c.chunk)
		}
		// the samples after the last input frame come with the next input
		if n, late := len(whole), c.out/c.in+1; n < c.out-late || n > c.out {
			t.Errorf("%d→%d Hz: one second became %d samples", c.in, c.out, n)
		}
		for i, v := range whole {
			want := 0.5 * math.Sin(2*math.Pi*440*float64(i)/float64(c.out)) * 32767
			if math.Abs(float64(v)-want) > 0.02*32767 {
				t.Fatalf("%d→%d Hz: sample %d is %d, want about %.0f", c.in, c.out, i, v, want)
			}
		}
	}
}

func BenchmarkResampler8kTo48k(b *testing.B) {
	in := sine(8000, 160, 440) // one 20 ms G.711 packet
	r := NewResampler(8000, 1, 48000, 1)
	var dst []int16
	b.ReportAllocs()
	for b.Loop() {
		dst = r.Convert(dst[:0], in)
	}
}
