package webrtc

import (
	"context"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/pion/rtp"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/media/encode"
)

// wirePayloads splits packetizeH264's buffer into its RTP payloads.
func wirePayloads(t *testing.T, wire []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(wire) > 0 {
		if len(wire) < 2 {
			t.Fatalf("%d bytes left over", len(wire))
		}
		n := int(binary.BigEndian.Uint16(wire))
		out = append(out, wire[2:2+n])
		wire = wire[2+n:]
	}
	return out
}

// TestPacketizeRoundTrip: an encoder's frames, cut into RTP payloads of at
// most PayloadMax bytes, decode back to the same NAL units, a keyframe
// with its parameter sets; a malformed frame is not sent.
func TestPacketizeRoundTrip(t *testing.T) {
	enc, err := encode.NewH264(encode.VideoSettings{Width: 640, Height: 360, FPS: 25, Bitrate: 2_000_000, KeyInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	img := image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420)
	dec := &rtph264.Decoder{}
	if err := dec.Init(); err != nil {
		t.Fatal(err)
	}
	fragmented := false
	for i := range 10 {
		for j := range img.Y {
			img.Y[j] = byte(j*7 + i*13 + j/640)
		}
		payload, key, cfg, err := enc.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		p := &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, Keyframe: key, Payload: payload, Config: cfg}
		want, err := codec.NALUnits(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key {
			rec, _ := codec.ParseAVCRecord(cfg.Record)
			want = append(append(append([][]byte{}, rec.SPS...), rec.PPS...), want...)
		}
		payloads := wirePayloads(t, packetizeH264(p))
		fragmented = fragmented || len(payloads) > 2
		var got [][]byte
		for k, pl := range payloads {
			if len(pl) > PayloadMax {
				t.Fatalf("frame %d: a payload of %d bytes", i, len(pl))
			}
			au, err := dec.Decode(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(k), Marker: k == len(payloads)-1}, Payload: pl})
			if err == nil {
				got = au
			} else if !errors.Is(err, rtph264.ErrMorePacketsNeeded) {
				t.Fatalf("frame %d, payload %d: %v", i, k, err)
			}
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("frame %d (key %v): %d NAL units back, want %d", i, key, len(got), len(want))
		}
	}
	if !fragmented {
		t.Error("no frame was cut into fragments")
	}
	if w := packetizeH264(&engine.Packet{Codec: engine.CodecH264, Payload: []byte{0, 0, 0, 9, 1}}); w != nil {
		t.Errorf("a malformed frame gave %d bytes", len(w))
	}
}

// TestFeedSkipsAhead: a listener gets every frame it has not had; one
// that fell behind by more than the feed keeps gets the newest only; the
// end of the feed ends it.
func TestFeedSkipsAhead(t *testing.T) {
	f := &feed{wake: make(chan struct{})}
	for i := range 10 {
		f.publish(opusFrame{pts: time.Duration(i) * encode.OpusFrame})
	}
	ctx := context.Background()
	got, seq, err := f.next(ctx, 4, nil)
	if err != nil || len(got) != 6 || got[0].pts != 4*encode.OpusFrame || seq != 10 {
		t.Fatalf("from 4: %d frames from %v, next %d, %v", len(got), got[0].pts, seq, err)
	}
	for i := 10; i < 10+feedFrames+5; i++ {
		f.publish(opusFrame{pts: time.Duration(i) * encode.OpusFrame})
	}
	got, seq, err = f.next(ctx, 10, got[:0])
	if err != nil || len(got) != 1 || seq != f.newest() || got[0].pts != time.Duration(seq-1)*encode.OpusFrame {
		t.Fatalf("far behind: %d frames, next %d, %v", len(got), seq, err)
	}
	// waiting: the next frame wakes the listener
	go func() { time.Sleep(20 * time.Millisecond); f.publish(opusFrame{pts: time.Hour}) }()
	if got, _, err = f.next(ctx, seq, got[:0]); err != nil || len(got) != 1 || got[0].pts != time.Hour {
		t.Fatalf("woken: %v, %v", got, err)
	}
	f.end()
	if _, _, err := f.next(ctx, seq+1, nil); err != io.EOF {
		t.Errorf("after the end: %v, want io.EOF", err)
	}
}

// aacPackets is d of a 440 Hz tone as AAC-LC at rate Hz, stereo.
func aacPackets(t testing.TB, rate int, d time.Duration) []*engine.Packet {
	t.Helper()
	enc, err := encode.NewAAC(rate, 2, 128000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var out []*engine.Packet
	pcm := make([]int16, 2*encode.AACFrameSamples)
	for i := range int(d.Seconds() * float64(rate) / encode.AACFrameSamples) {
		for j := range encode.AACFrameSamples {
			v := int16(10000 * math.Sin(2*math.Pi*440*float64(i*encode.AACFrameSamples+j)/float64(rate)))
			pcm[2*j], pcm[2*j+1] = v, v
		}
		au, err := enc.Encode(pcm)
		if err != nil {
			t.Fatal(err)
		}
		if len(au) == 0 {
			continue
		}
		pts := time.Duration(i) * encode.AACFrameSamples * time.Second / time.Duration(rate)
		out = append(out, &engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecAAC, PTS: pts, DTS: pts, Payload: au, Config: enc.Config()})
	}
	return out
}

// TestTranscoderTimeline: AAC becomes 20 ms Opus frames back to back; a
// jump in the timestamps (a source that restarted) starts afresh there.
func TestTranscoderTimeline(t *testing.T) {
	var tc transcoder
	defer tc.close()
	var frames []opusFrame
	emit := func(f opusFrame) { frames = append(frames, f) }
	pkts := aacPackets(t, 44100, 2*time.Second)
	for _, p := range pkts {
		if err := tc.packet(p, emit); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(frames); n < 95 || n > 100 {
		t.Errorf("%d Opus frames from 2 s", n)
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].pts-frames[i-1].pts != encode.OpusFrame || len(frames[i].payload) == 0 {
			t.Fatalf("frames %d and %d: %v then %v", i-1, i, frames[i-1].pts, frames[i].pts)
		}
	}
	frames = frames[:0]
	for i, p := range pkts[:3] {
		pts := pkts[i].PTS + time.Minute
		later := &engine.Packet{Track: p.Track, Codec: p.Codec, PTS: pts, DTS: pts, Payload: p.Payload, Config: p.Config}
		if err := tc.packet(later, emit); err != nil {
			t.Fatal(err)
		}
	}
	if len(frames) == 0 || frames[0].pts != pkts[0].PTS+time.Minute {
		t.Errorf("after a jump: %d frames, the first at %v", len(frames), frames)
	}
}

// TestTranscoderPassesCarriedOpus: AAC packets that carry their sound as
// Opus (Chalkcast's own sources) give those frames as they are, at their
// times, and decode nothing.
func TestTranscoderPassesCarriedOpus(t *testing.T) {
	var tc transcoder
	defer tc.close()
	cfg := &engine.CodecConfig{Codec: engine.CodecAAC, SampleRate: 48000, Channels: 1, Record: []byte{0x11, 0x88},
		Opus: &engine.CodecConfig{Codec: engine.CodecOpus, SampleRate: 48000, Channels: 1}}
	var frames []opusFrame
	for i := range 3 {
		pts := time.Duration(i) * 40 * time.Millisecond
		p := &engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecAAC, PTS: pts, DTS: pts, Payload: []byte{0xde, 0xad}, Config: cfg,
			Opus: []engine.OpusFrame{{Offset: 3 * time.Millisecond, Payload: []byte{byte(i), 1}}, {Offset: 23 * time.Millisecond, Payload: []byte{byte(i), 2}}}}
		if err := tc.packet(p, func(f opusFrame) { frames = append(frames, f) }); err != nil {
			t.Fatal(err)
		}
	}
	if len(frames) != 6 || tc.dec != nil {
		t.Fatalf("%d frames, decoder %v", len(frames), tc.dec)
	}
	for i, f := range frames {
		if want := time.Duration(3+20*i) * time.Millisecond; f.pts != want || f.payload[0] != byte(i/2) || f.payload[1] != byte(1+i%2) {
			t.Errorf("frame %d: %x at %v, want at %v", i, f.payload, f.pts, want)
		}
	}
}

// BenchmarkTranscode is AAC (44.1 kHz stereo, 128 kbit/s) to Opus, once
// per stream: the share of a core one stream's sound costs.
func BenchmarkTranscode(b *testing.B) {
	pkts := aacPackets(b, 44100, 10*time.Second)
	audio := pkts[len(pkts)-1].PTS - pkts[0].PTS
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		var tc transcoder
		for _, p := range pkts {
			if err := tc.packet(p, func(opusFrame) {}); err != nil {
				b.Fatal(err)
			}
		}
		tc.close()
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(100*per.Seconds()/audio.Seconds(), "%core")
}
