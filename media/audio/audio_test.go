package audio

import (
	"context"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
	"chalkcast/media/decode"
)

// decoded decodes payload with a fresh decoder of cfg and returns the
// largest sample and the samples per channel.
func decoded(t *testing.T, cfg *engine.CodecConfig, payloads ...[]byte) (peak float64, n int) {
	t.Helper()
	d, err := decode.NewAudio(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, p := range payloads {
		if err := d.Decode(p, func(s []float32, ch int) {
			n += len(s) / ch
			for _, v := range s {
				peak = max(peak, math.Abs(float64(v)))
			}
		}); err != nil {
			t.Fatalf("%x: %v", p, err)
		}
	}
	return peak, n
}

func TestAACSilenceDecodesToZero(t *testing.T) {
	for _, ch := range []int{1, 2, 3, 6, 8} {
		asc := mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: ch}
		rec, err := asc.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		cfg := &engine.CodecConfig{Codec: engine.CodecAAC, Record: rec, SampleRate: 48000, Channels: ch}
		frame, err := Silence(cfg, nil)
		if err != nil {
			t.Fatalf("%d channels: %v", ch, err)
		}
		peak, n := decoded(t, cfg, frame, frame, frame)
		if peak != 0 || n != 3*1024 {
			t.Errorf("%d channels: %x decodes to %d samples, peak %g; want 3072 silent ones", ch, frame, n, peak)
		}
	}
	if got, _ := Silence(&engine.CodecConfig{Codec: engine.CodecAAC, Record: []byte{0x11, 0x88}}, nil); len(got) != 4 {
		t.Errorf("mono AAC-LC silence %x, want the 4-byte frame", got)
	}
}

func TestAACSilenceAfterSound(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clip, err := mediatest.AACClip(ctx, "aevalsrc=0.5*sin(2*PI*440*t):s=44100:c=stereo", 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decode.NewAudio(clip.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, p := range clip.Packets {
		if err := d.Decode(p.Payload, func([]float32, int) {}); err != nil {
			t.Fatal(err)
		}
	}
	frame, err := Silence(clip.Config, clip.Packets[0].Payload)
	if err != nil {
		t.Fatal(err)
	}
	peak := 0.0
	for i := range 5 {
		if err := d.Decode(frame, func(s []float32, _ int) {
			if i < 2 {
				return // the overlap of the last sound fades out
			}
			for _, v := range s {
				peak = max(peak, math.Abs(float64(v)))
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if DBFS(peak) > -90 {
		t.Errorf("muted sound peaks at %.1f dBFS", DBFS(peak))
	}
}

// opusHead is an OpusHead for channels channels at 48 kHz.
func opusHead(channels int) []byte {
	b := []byte("OpusHead")
	b = append(b, 1, byte(channels))
	b = binary.LittleEndian.AppendUint16(b, 0) // no pre-skip: every sample counts
	b = binary.LittleEndian.AppendUint32(b, 48000)
	b = binary.LittleEndian.AppendUint16(b, 0)
	return append(b, 0)
}

func TestOpusSilence(t *testing.T) {
	for _, tc := range []struct {
		toc  []byte // a packet's first bytes
		want time.Duration
	}{
		{[]byte{0x78, 0x01}, 20 * time.Millisecond},       // SILK WB 20 ms, mono
		{[]byte{0xfc, 0x01}, 20 * time.Millisecond},       // CELT FB 20 ms, stereo
		{[]byte{0x0b, 0x03}, 60 * time.Millisecond},       // SILK NB 60 ms: 3 frames of 20 ms
		{[]byte{0xe1, 0x02}, 5 * time.Millisecond},        // CELT SWB 2.5 ms, two frames
		{[]byte{0x63, 0x06}, 60 * time.Millisecond},       // Hybrid 10 ms, six frames
		{[]byte{0x9b, 0x02, 0x00}, 40 * time.Millisecond}, // CELT NB 20 ms, two frames (code 3)
	} {
		d, err := opusDuration(tc.toc)
		if err != nil || d != tc.want {
			t.Errorf("%x lasts %v (%v), want %v", tc.toc, d, err, tc.want)
			continue
		}
		frame, err := opusSilence(tc.toc)
		if err != nil {
			t.Fatalf("%x: %v", tc.toc, err)
		}
		if got, _ := opusDuration(frame); got != tc.want {
			t.Errorf("%x: silence %x lasts %v", tc.toc, frame, got)
		}
		ch := 1 + int(tc.toc[0]>>2&1)
		cfg := &engine.CodecConfig{Codec: engine.CodecOpus, Record: opusHead(ch), SampleRate: 48000, Channels: ch}
		peak, n := decoded(t, cfg, frame)
		if peak != 0 || n != int(tc.want*48000/time.Second) {
			t.Errorf("%x: silence %x decodes to %d samples with peak %g", tc.toc, frame, n, peak)
		}
	}
	for _, bad := range [][]byte{nil, {0x03}, {0x03, 0x00}, {0x1b, 0x03}} {
		if _, err := opusSilence(bad); err == nil {
			t.Errorf("%x: accepted", bad)
		}
	}
}

func TestG711Silence(t *testing.T) {
	for _, c := range []engine.Codec{engine.CodecPCMA, engine.CodecPCMU} {
		cfg := &engine.CodecConfig{Codec: c, SampleRate: 8000, Channels: 1}
		frame, err := Silence(cfg, make([]byte, 160))
		if err != nil {
			t.Fatal(err)
		}
		peak, n := decoded(t, cfg, frame)
		if n != 160 || peak > 0.001 {
			t.Errorf("%s: %d samples, peak %g", c, n, peak)
		}
	}
	if _, err := Silence(&engine.CodecConfig{Codec: engine.CodecH264}, nil); err == nil {
		t.Error("silence for H.264")
	}
}

func TestMeter(t *testing.T) {
	m := NewMeter(48000)
	var levels []engine.AudioLevel
	buf := make([]float32, 2*480)
	for k := range 100 { // one second of a -6 dBFS sine, then silence
		for i := range 480 {
			v := float32(0)
			if k < 50 {
				v = float32(0.5 * math.Sin(2*math.Pi*1000*float64(k*480+i)/48000))
			}
			buf[2*i], buf[2*i+1] = v, v
		}
		m.Add(buf, 2, func(l engine.AudioLevel) { levels = append(levels, l) })
	}
	if len(levels) != 20 {
		t.Fatalf("%d windows in a second, want 20", len(levels))
	}
	l := levels[5]
	if math.Abs(l.Peak+6.02) > 0.2 || math.Abs(l.Loudness+9.03) > 0.2 {
		t.Errorf("sine measured %v, want peak -6 and loudness -9 dBFS", l)
	}
	last := levels[len(levels)-1]
	if last.Peak != engine.SilenceFloor || math.Abs(last.SecondPeak+6.02) > 0.2 {
		t.Errorf("silence after the sine measured %v, second peak %.1f", last, last.SecondPeak)
	}
}
