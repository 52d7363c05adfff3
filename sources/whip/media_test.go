package whip

import (
	"bytes"
	"encoding/binary"
	"image"
	"math"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/pion/rtp"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/internal/testkit"
	"chalkcast/media/decode"
	"chalkcast/media/encode"
)

// h264RTP encodes n frames of w×h at 25 fps and packetizes them the way a
// browser sends them: the parameter sets before each keyframe, FU-A
// fragments of at most maxPayload bytes. It returns each frame's packets.
func h264RTP(t testing.TB, w, h, n, maxPayload int) [][]*rtp.Packet {
	t.Helper()
	enc, err := encode.NewH264(encode.VideoSettings{Width: w, Height: h, FPS: 25, Bitrate: 500_000, KeyInterval: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pk := &rtph264.Encoder{PayloadType: 102, PacketizationMode: 1, PayloadMaxSize: maxPayload}
	if err := pk.Init(); err != nil {
		t.Fatal(err)
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	var out [][]*rtp.Packet
	for i := range n {
		for j := range img.Y {
			img.Y[j] = byte(i*5 + j%251)
		}
		payload, key, cfg, err := enc.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		var au [][]byte
		if key {
			rec, _ := codec.ParseAVCRecord(cfg.Record)
			au = append(au, rec.SPS[0], rec.PPS[0])
		}
		for len(payload) >= 4 {
			l := int(binary.BigEndian.Uint32(payload))
			au = append(au, payload[4:4+l])
			payload = payload[4+l:]
		}
		pkts, err := pk.Encode(au)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			p.Timestamp = 3_000_000_000 + uint32(i*3600) // a random start, wrapping soon
		}
		out = append(out, pkts)
	}
	return out
}

// TestVideoIn: H.264 RTP becomes one packet per frame from the first
// keyframe on, 40 ms apart; frames before a keyframe, and a frame with a
// fragment lost, ask for a keyframe.
func TestVideoIn(t *testing.T) {
	frames := h264RTP(t, 320, 240, 25, 300)
	in, err := newVideoIn(102)
	if err != nil {
		t.Fatal(err)
	}
	since := 200 * time.Millisecond
	feed := func(pkts []*rtp.Packet) (out []*engine.Packet, broken bool) {
		for _, pk := range pkts {
			p, b := in.packet(pk, since)
			broken = broken || b
			if p != nil {
				out = append(out, p)
			}
		}
		return out, broken
	}
	// joining after the keyframe: nothing to decode yet
	if out, broken := feed(frames[1]); len(out) != 0 || !broken {
		t.Fatalf("a frame before any keyframe: %d packets, keyframe asked %v", len(out), broken)
	}
	var got []*engine.Packet
	for i, f := range frames {
		if i == 13 && len(f) > 2 {
			f = append(f[:1:1], f[2:]...) // a fragment lost
			if out, broken := feed(f); len(out) != 0 || !broken {
				t.Fatalf("frame %d without a fragment: %d packets, keyframe asked %v", i, len(out), broken)
			}
			continue
		}
		out, _ := feed(f)
		got = append(got, out...)
	}
	if len(got) < 20 {
		t.Fatalf("%d packets from 24 frames", len(got))
	}
	if !got[0].Keyframe || got[0].Config == nil || got[0].Config.Width != 320 || got[0].Config.Height != 240 {
		t.Fatalf("first packet %+v", got[0])
	}
	// frame 1 came first, when the session was 200 ms old: frame 0 is
	// 40 ms before it
	if want := since - 40*time.Millisecond; got[0].PTS != want {
		t.Errorf("first PTS %v, want %v", got[0].PTS, want)
	}
	for i := 1; i < len(got); i++ {
		if d := got[i].PTS - got[i-1].PTS; d%(40*time.Millisecond) != 0 || d <= 0 || got[i].DTS > got[i].PTS {
			t.Fatalf("packets %d and %d: PTS %v then %v, DTS %v", i-1, i, got[i-1].PTS, got[i].PTS, got[i].DTS)
		}
	}
}

// sine is n samples of a tone at 48 kHz, mono, from sample from on.
func sine(n int, freq float64, from int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(12000 * math.Sin(2*math.Pi*freq*float64(from+i)/encode.OpusRate))
	}
	return s
}

// opusRTP is d of a 440 Hz tone as Opus RTP packets of 20 ms.
func opusRTP(t testing.TB, d time.Duration) []*rtp.Packet {
	t.Helper()
	enc, err := encode.NewOpus(1, 48000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var out []*rtp.Packet
	for i := range int(d / encode.OpusFrame) {
		b, err := enc.Encode(sine(encode.OpusFrameSamples, 440, i*encode.OpusFrameSamples))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(i),
			Timestamp: 1<<32 - 9600 + uint32(i*encode.OpusFrameSamples), Marker: i == 0}, Payload: b})
	}
	return out
}

// TestAudioIn: Opus becomes AAC a frame (1024 samples) apart that decodes
// to the same tone.
func TestAudioIn(t *testing.T) {
	in, err := newAudioIn(1)
	if err != nil {
		t.Fatal(err)
	}
	defer in.close()
	var got []*engine.Packet
	sent := opusRTP(t, 3*time.Second)
	for _, pk := range sent {
		out, bad, err := in.packet(pk, 0)
		if err != nil || bad != nil {
			t.Fatal(err, bad)
		}
		got = append(got, out...)
	}
	if want := 3*encode.OpusRate/encode.AACFrameSamples - 2; len(got) < want {
		t.Fatalf("%d AAC packets, want at least %d", len(got), want)
	}
	dec, err := decode.NewAudio(got[0].Config)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var mono []float32
	for i, p := range got {
		if p.Codec != engine.CodecAAC || p.Config.SampleRate != 48000 || p.Config.Channels != 1 {
			t.Fatalf("packet %d: %+v", i, p)
		}
		if i == 0 {
			continue
		}
		if d := p.PTS - got[i-1].PTS - 1024*time.Second/48000; d < -1 || d > 1 {
			t.Fatalf("packets %d and %d are %v apart", i-1, i, p.PTS-got[i-1].PTS)
		}
		if err := dec.Decode(p.Payload, func(s []float32, ch int) { mono = append(mono, s...) }); err != nil {
			t.Fatal(err)
		}
	}
	if hz := testkit.ToneHz(mono[encode.OpusRate/2:], encode.OpusRate); math.Abs(hz-440) > 20 {
		t.Errorf("the AAC plays %.0f Hz, want 440 Hz", hz)
	}
	// the publisher's Opus rides along, as it came, at its own times
	var carried []engine.OpusFrame
	for _, p := range got {
		if p.Config.Opus == nil || p.Config.Opus.Channels != 1 {
			t.Fatalf("config %+v announces no mono Opus", p.Config)
		}
		for _, f := range p.Opus {
			carried = append(carried, engine.OpusFrame{Offset: p.PTS + f.Offset, Payload: f.Payload})
		}
	}
	if len(carried) < len(sent)-3 {
		t.Fatalf("%d of %d Opus packets carried", len(carried), len(sent))
	}
	for i, f := range carried {
		at := time.Duration(sent[i].Timestamp-sent[0].Timestamp) * time.Second / encode.OpusRate
		if !bytes.Equal(f.Payload, sent[i].Payload) || f.Offset-carried[0].Offset != at {
			t.Fatalf("Opus frame %d at %v, want %v (or its payload differs)", i, f.Offset-carried[0].Offset, at)
		}
	}
	// a packet that is not Opus loses its 20 ms, nothing else
	if _, bad, err := in.packet(&rtp.Packet{Header: rtp.Header{Timestamp: 1 << 20}, Payload: []byte{0xff, 0xff, 0xff}}, 0); bad == nil || err != nil {
		t.Errorf("garbage: bad %v, err %v", bad, err)
	}
}

// fuzzPackets lays RTP packets out for FuzzMedia: per packet a byte (odd:
// audio), a 16-bit length and the packet.
func fuzzPackets(audio bool, pkts []*rtp.Packet) []byte {
	var b []byte
	for _, p := range pkts {
		raw, _ := p.Marshal()
		b = append(b, map[bool]byte{false: 0, true: 1}[audio])
		b = binary.BigEndian.AppendUint16(b, uint16(len(raw)))
		b = append(b, raw...)
	}
	return b
}

// FuzzMedia feeds arbitrary RTP packets to a publisher's video and audio
// paths: nothing may panic, what comes out is well formed, and memory
// stays in proportion to the input (plus the audio buffers, warmed once). The seeds are real H.264 and Opus.
func FuzzMedia(f *testing.F) {
	var video []*rtp.Packet
	for _, fr := range h264RTP(f, 160, 96, 3, 200) {
		video = append(video, fr...)
	}
	f.Add(fuzzPackets(false, video))
	f.Add(fuzzPackets(true, opusRTP(f, 100*time.Millisecond)))
	f.Fuzz(func(t *testing.T, b []byte) {
		vin, err := newVideoIn(102)
		if err != nil {
			t.Fatal(err)
		}
		ain, err := newAudioIn(1)
		if err != nil {
			t.Fatal(err)
		}
		defer ain.close()
		// the audio path's buffers grow once, to what one Opus packet of
		// 120 ms decodes to (decoded, converted, waiting for AAC)
		const warm = 256 << 10
		testkit.MaxAlloc(t, testkit.InputBound(len(b))+warm, func() {
			for len(b) >= 3 {
				audio := b[0]&1 == 1
				n := min(int(binary.BigEndian.Uint16(b[1:3])), len(b)-3)
				raw := b[3 : 3+n]
				b = b[3+n:]
				var pk rtp.Packet
				if pk.Unmarshal(raw) != nil {
					continue
				}
				if audio {
					out, _, _ := ain.packet(&pk, time.Second)
					for _, p := range out {
						if p.Codec != engine.CodecAAC || len(p.Payload) == 0 {
							t.Fatalf("bad AAC packet %+v", p)
						}
					}
				} else if p, _ := vin.packet(&pk, time.Second); p != nil && (p.Config == nil || p.DTS > p.PTS || len(p.Payload) == 0) {
					t.Fatalf("bad video packet %+v", p)
				}
			}
		})
	})
}
