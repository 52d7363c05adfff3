package encode

import (
	"math"
	"strings"
	"testing"
	"time"

	"chalkcast/internal/testkit"
	"chalkcast/media/decode"
)

// TestOpusEncodesTheTone encodes 3 s of a tone in mono and in stereo and
// decodes it with FFmpeg's Opus decoder (media/decode): every packet is
// 20 ms and the tone that comes out is the one that went in.
func TestOpusEncodesTheTone(t *testing.T) {
	for _, c := range []struct {
		channels int
		freq     float64
	}{{1, 440}, {2, 1000}} {
		enc, err := NewOpus(c.channels, 48000*c.channels)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := decode.NewAudio(enc.Config())
		if err != nil {
			t.Fatal(err)
		}
		var mono []float32
		for i := range 3 * OpusRate / OpusFrameSamples {
			pkt, err := enc.Encode(sine(OpusFrameSamples, OpusRate, c.channels, c.freq, i*OpusFrameSamples))
			if err != nil {
				t.Fatal(err)
			}
			if len(pkt) == 0 || len(pkt) > 400 {
				t.Fatalf("packet %d: %d bytes", i, len(pkt))
			}
			err = dec.Decode(pkt, func(s []float32, ch int) {
				if ch != c.channels {
					t.Fatalf("decoded %d channels, want %d", ch, c.channels)
				}
				for j := 0; j < len(s); j += ch {
					mono = append(mono, s[j])
				}
			})
			if err != nil {
				t.Fatalf("decode packet %d: %v", i, err)
			}
		}
		dec.Close()
		enc.Close()
		// the decoder drops the encoder's look-ahead (the OpusHead's pre-skip)
		if want := 3*OpusRate - 312; len(mono) != want {
			t.Errorf("%d channels: decoded %d samples, want %d", c.channels, len(mono), want)
		}
		if got := testkit.ToneHz(mono[OpusRate/2:], OpusRate); math.Abs(got-c.freq) > 20 {
			t.Errorf("%d channels: decoded tone %.0f Hz, want %.0f Hz", c.channels, got, c.freq)
		}
	}
}

func TestOpusRefusesBadInput(t *testing.T) {
	if _, err := NewOpus(3, 64000); err == nil {
		t.Error("3 channels accepted")
	}
	if _, err := NewOpus(1, -5); err == nil {
		t.Error("-5 bit/s accepted")
	}
	enc, err := NewOpus(1, 32000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]int16, 100)); err == nil || !strings.Contains(err.Error(), "960") {
		t.Errorf("short frame: %v", err)
	}
	enc.Close()
	enc.Close()
	if _, err := enc.Encode(make([]int16, OpusFrameSamples)); err == nil {
		t.Error("encode after close worked")
	}
}

// BenchmarkOpusStream is what Chalkcast's own sources pay for WebRTC's
// sound: 48 kHz mono encoded to Opus beside the AAC, as a share of a core.
func BenchmarkOpusStream(b *testing.B) {
	s, err := NewOpusStream(1)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	pcm := make([]int16, 1024) // one AAC frame's worth
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/48000))
	}
	per := time.Duration(len(pcm)) * time.Second / 48000
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := s.WriteInt16(time.Duration(i)*per, pcm, 48000, 1, func(time.Duration, []byte) {}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100*time.Since(start).Seconds()/(time.Duration(b.N)*per).Seconds(), "%core")
}
