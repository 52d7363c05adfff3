package flv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
)

var (
	// A real AVCDecoderConfigurationRecord (x264, High, 1280x720).
	avcRecord = []byte{
		0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a,
		0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
		0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60,
		0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0,
	}
	// An HEVCDecoderConfigurationRecord header with no arrays; the FLV
	// layer carries it opaquely.
	hevcRecord = []byte{1, 1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x5d, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0}
	aacASC     = []byte{0x12, 0x10}

	cfgH264 = &engine.CodecConfig{Codec: engine.CodecH264, Record: avcRecord, Width: 1280, Height: 720}
	cfgH265 = &engine.CodecConfig{Codec: engine.CodecH265, Record: hevcRecord}
	cfgAAC  = &engine.CodecConfig{Codec: engine.CodecAAC, Record: aacASC, SampleRate: 44100, Channels: 2}
	cfgPCMA = &engine.CodecConfig{Codec: engine.CodecPCMA, SampleRate: 8000, Channels: 1}
	cfgPCMU = &engine.CodecConfig{Codec: engine.CodecPCMU, SampleRate: 8000, Channels: 2}
	cfgOpus = &engine.CodecConfig{Codec: engine.CodecOpus, SampleRate: 48000, Channels: 2}
)

// nalus is one access unit in the length-prefixed layout.
func nalus(types ...byte) []byte {
	var b []byte
	for i, t := range types {
		n := []byte{t, byte(i), 0xaa, 0xbb, byte(len(types))}
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

const ms24 = 1 << 24 // first timestamp needing the extended byte, in ms

type rtCase struct {
	name string
	pkt  *engine.Packet
}

func roundTripCases() []rtCase {
	ms := time.Millisecond
	return []rtCase{
		{"h264 keyframe", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, DTS: 0, PTS: 80 * ms, Keyframe: true, Payload: nalus(6, 5), Config: cfgH264}},
		{"h264 inter", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, DTS: 40 * ms, PTS: 40 * ms, Payload: nalus(1), Config: cfgH264}},
		{"h264 negative cts", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, DTS: 1000 * ms, PTS: 960 * ms, Payload: nalus(1), Config: cfgH264}},
		{"h264 large cts", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, DTS: 0, PTS: 8388607 * ms, Payload: nalus(1)}},
		{"h264 most negative cts", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, DTS: 8388608 * ms, PTS: 0, Payload: nalus(1)}},
		{"h264 extended timestamp", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, DTS: (ms24 + 1234) * ms, PTS: (ms24 + 1274) * ms, Keyframe: true, Payload: nalus(5)}},
		{"h264 timestamp beyond 2^31 ms", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, DTS: (1<<31 + 7) * ms, PTS: (1<<31 + 7) * ms, Payload: nalus(1)}},
		{"h264 empty payload", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, DTS: 5 * ms, PTS: 5 * ms}},
		{"h265 keyframe", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH265, DTS: 0, PTS: 120 * ms, Keyframe: true, Payload: nalus(0x26<<1, 0x02), Config: cfgH265}},
		{"h265 negative cts", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH265, DTS: 200 * ms, PTS: 120 * ms, Payload: nalus(0x02)}},
		{"h265 extended timestamp", &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH265, DTS: (ms24 + 40) * ms, PTS: (ms24 + 40) * ms, Payload: nalus(0x02)}},
		{"aac", &engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecAAC, DTS: 23 * ms, PTS: 23 * ms, Keyframe: true, Payload: []byte{0x21, 0x10, 0x04, 0x60, 0x8c}, Config: cfgAAC}},
		{"aac extended timestamp", &engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecAAC, DTS: (ms24*3 + 21) * ms, PTS: (ms24*3 + 21) * ms, Keyframe: true, Payload: []byte{1, 2, 3}, Config: cfgAAC}},
		{"pcma mono", &engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecPCMA, DTS: 20 * ms, PTS: 20 * ms, Keyframe: true, Payload: bytes.Repeat([]byte{0xd5}, 160), Config: cfgPCMA}},
		{"pcmu stereo", &engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecPCMU, DTS: 40 * ms, PTS: 40 * ms, Keyframe: true, Payload: bytes.Repeat([]byte{0xff}, 320), Config: cfgPCMU}},
		{"pcmu without config", &engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecPCMU, DTS: 60 * ms, PTS: 60 * ms, Keyframe: true, Payload: []byte{0x7f}}},
	}
}

func TestPacketTagRoundTrip(t *testing.T) {
	for _, tc := range roundTripCases() {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pkt
			var stream []byte
			stream = append(stream, Header(true, true)...)
			stream = append(stream, PacketTag(p)...)
			r := NewReader(bytes.NewReader(stream))
			if _, err := r.ReadHeader(); err != nil {
				t.Fatalf("ReadHeader: %v", err)
			}
			tag, err := r.ReadTag()
			if err != nil {
				t.Fatalf("ReadTag: %v", err)
			}
			if want := uint32(p.DTS / time.Millisecond); tag.Timestamp != want {
				t.Errorf("timestamp = %d, want %d", tag.Timestamp, want)
			}
			// The body is BodyPrefix followed by the payload.
			if want := append(BodyPrefix(p), p.Payload...); !bytes.Equal(tag.Body, want) {
				t.Errorf("body = %x, want %x", tag.Body, want)
			}
			if p.Track == engine.TrackVideo {
				if tag.Type != TagVideo {
					t.Fatalf("type = %d, want video", tag.Type)
				}
				v, err := ParseVideo(tag.Body)
				if err != nil {
					t.Fatalf("ParseVideo: %v", err)
				}
				if v.Codec != p.Codec || v.Keyframe != p.Keyframe || v.SeqHeader || v.SeqEnd {
					t.Errorf("parsed %+v from %v keyframe=%v", v, p.Codec, p.Keyframe)
				}
				if v.CTS != p.PTS-p.DTS {
					t.Errorf("CTS = %v, want %v", v.CTS, p.PTS-p.DTS)
				}
				if !bytes.Equal(v.Data, p.Payload) {
					t.Errorf("data = %x, want %x", v.Data, p.Payload)
				}
			} else {
				if tag.Type != TagAudio {
					t.Fatalf("type = %d, want audio", tag.Type)
				}
				a, err := ParseAudio(tag.Body)
				if err != nil {
					t.Fatalf("ParseAudio: %v", err)
				}
				if a.Codec != p.Codec || a.SeqHeader {
					t.Errorf("parsed %+v from %v", a, p.Codec)
				}
				if !bytes.Equal(a.Data, p.Payload) {
					t.Errorf("data = %x, want %x", a.Data, p.Payload)
				}
				if p.Codec != engine.CodecAAC {
					want := 1
					if p.Config != nil {
						want = p.Config.Channels
					}
					if a.Channels != want {
						t.Errorf("channels = %d, want %d", a.Channels, want)
					}
				}
			}
			if _, err := r.ReadTag(); err != io.EOF {
				t.Errorf("after the last tag: err = %v, want io.EOF", err)
			}
		})
	}
}

func TestSequenceTagRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		cfg     *engine.CodecConfig
		ts      time.Duration
		typ     byte
		noTag   bool
		enhance bool
	}{
		{name: "h264", cfg: cfgH264, ts: 0, typ: TagVideo},
		{name: "h264 late", cfg: cfgH264, ts: (ms24 + 5) * time.Millisecond, typ: TagVideo},
		{name: "h265 enhanced", cfg: cfgH265, ts: 3 * time.Second, typ: TagVideo, enhance: true},
		{name: "aac", cfg: cfgAAC, ts: 0, typ: TagAudio},
		{name: "pcma has none", cfg: cfgPCMA, noTag: true},
		{name: "opus has none", cfg: cfgOpus, noTag: true},
		{name: "nil", cfg: nil, noTag: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := SequenceTag(tt.cfg, tt.ts)
			if tt.noTag {
				if b != nil {
					t.Fatalf("SequenceTag = %x, want nil", b)
				}
				return
			}
			r := NewReader(bytes.NewReader(append(Header(true, true), b...)))
			if _, err := r.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			tag, err := r.ReadTag()
			if err != nil {
				t.Fatalf("ReadTag: %v", err)
			}
			if tag.Type != tt.typ || tag.Timestamp != uint32(tt.ts/time.Millisecond) {
				t.Errorf("type/ts = %d/%d, want %d/%d", tag.Type, tag.Timestamp, tt.typ, tt.ts/time.Millisecond)
			}
			if tt.typ == TagVideo {
				if tt.enhance != (tag.Body[0]&0x80 != 0) {
					t.Errorf("enhanced bit = %v, want %v", tag.Body[0]&0x80 != 0, tt.enhance)
				}
				v, err := ParseVideo(tag.Body)
				if err != nil {
					t.Fatalf("ParseVideo: %v", err)
				}
				if !v.SeqHeader || v.Codec != tt.cfg.Codec || !v.Keyframe || v.CTS != 0 {
					t.Errorf("parsed %+v", v)
				}
				if !bytes.Equal(v.Data, tt.cfg.Record) {
					t.Errorf("record = %x, want %x", v.Data, tt.cfg.Record)
				}
				if !bytes.Equal(tag.Body, VideoHeaderBody(tt.cfg)) {
					t.Errorf("body differs from VideoHeaderBody")
				}
			} else {
				a, err := ParseAudio(tag.Body)
				if err != nil {
					t.Fatalf("ParseAudio: %v", err)
				}
				if !a.SeqHeader || a.Codec != engine.CodecAAC || !bytes.Equal(a.Data, tt.cfg.Record) || a.Channels != 2 {
					t.Errorf("parsed %+v", a)
				}
				if !bytes.Equal(tag.Body, AudioHeaderBody(tt.cfg)) {
					t.Errorf("body differs from AudioHeaderBody")
				}
			}
		})
	}
	if AudioHeaderBody(cfgPCMU) != nil {
		t.Errorf("AudioHeaderBody(pcmu) is not nil")
	}
}

func TestHeader(t *testing.T) {
	for _, video := range []bool{false, true} {
		for _, audio := range []bool{false, true} {
			b := Header(video, audio)
			if len(b) != 13 {
				t.Fatalf("header is %d bytes, want 13", len(b))
			}
			h, err := NewReader(bytes.NewReader(b)).ReadHeader()
			if err != nil {
				t.Fatalf("ReadHeader(%x): %v", b, err)
			}
			if h.Version != 1 || h.Video != video || h.Audio != audio {
				t.Errorf("Header(%v, %v) read back as %+v", video, audio, h)
			}
		}
	}
}

// TestStream writes a whole FLV stream the way an output does (header,
// sequence headers, interleaved packets) and reads every tag back.
func TestStream(t *testing.T) {
	var want []*engine.Packet
	var buf bytes.Buffer
	buf.Write(Header(true, true))
	buf.Write(SequenceTag(cfgH264, 0))
	buf.Write(SequenceTag(cfgAAC, 0))
	for _, tc := range roundTripCases() {
		if tc.pkt.Codec == engine.CodecH264 || tc.pkt.Codec == engine.CodecAAC {
			buf.Write(PacketTag(tc.pkt))
			want = append(want, tc.pkt)
		}
	}
	script := []byte{2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 5}
	buf.Write(appendTag(nil, TagScript, 0, script))

	r := NewReader(&buf)
	if h, err := r.ReadHeader(); err != nil || !h.Audio || !h.Video {
		t.Fatalf("ReadHeader = %+v, %v", h, err)
	}
	var tags []Tag
	for {
		tag, err := r.ReadTag()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadTag %d: %v", len(tags), err)
		}
		tags = append(tags, tag)
	}
	if len(tags) != 2+len(want)+1 {
		t.Fatalf("read %d tags, want %d", len(tags), 2+len(want)+1)
	}
	if v, err := ParseVideo(tags[0].Body); err != nil || !v.SeqHeader {
		t.Errorf("tag 0 = %+v, %v; want the AVC sequence header", v, err)
	}
	if a, err := ParseAudio(tags[1].Body); err != nil || !a.SeqHeader {
		t.Errorf("tag 1 = %+v, %v; want the AAC sequence header", a, err)
	}
	for i, p := range want {
		tag := tags[2+i]
		if tag.Timestamp != uint32(p.DTS/time.Millisecond) {
			t.Errorf("tag %d timestamp %d, want %d", 2+i, tag.Timestamp, p.DTS/time.Millisecond)
		}
		if !bytes.HasSuffix(tag.Body, p.Payload) {
			t.Errorf("tag %d body does not end with the payload", 2+i)
		}
	}
	last := tags[len(tags)-1]
	if last.Type != TagScript || !bytes.Equal(last.Body, script) {
		t.Errorf("script tag = %+v", last)
	}
}

func TestPacketTagUnsupported(t *testing.T) {
	for _, c := range []engine.Codec{engine.CodecOpus, engine.CodecUnknown, engine.Codec(200)} {
		p := &engine.Packet{Track: engine.TrackAudio, Codec: c, Payload: []byte{1}}
		if b := PacketTag(p); b != nil {
			t.Errorf("PacketTag(%v) = %x, want nil", c, b)
		}
		if b := BodyPrefix(p); b != nil {
			t.Errorf("BodyPrefix(%v) = %x, want nil", c, b)
		}
		if Carries(c) {
			t.Errorf("Carries(%v) = true", c)
		}
	}
	for _, c := range []engine.Codec{engine.CodecH264, engine.CodecH265, engine.CodecAAC, engine.CodecPCMA, engine.CodecPCMU} {
		if !Carries(c) {
			t.Errorf("Carries(%v) = false", c)
		}
	}
}

func TestPacketTagLayout(t *testing.T) {
	p := &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, DTS: 0x12345678 * time.Millisecond, PTS: 0x12345678 * time.Millisecond, Keyframe: true, Payload: []byte{0, 0, 0, 1, 0x65}}
	b := PacketTag(p)
	want := []byte{
		TagVideo, 0, 0, 10, // type, data size 5+5
		0x34, 0x56, 0x78, 0x12, // timestamp, extended byte last
		0, 0, 0, // stream id
		0x17, 1, 0, 0, 0, // keyframe AVC NALU, CTS 0
		0, 0, 0, 1, 0x65,
		0, 0, 0, 21, // PreviousTagSize
	}
	if !bytes.Equal(b, want) {
		t.Errorf("PacketTag =\n%x, want\n%x", b, want)
	}
	if cap(b) != len(b) {
		t.Errorf("PacketTag over-allocated: cap %d for %d bytes", cap(b), len(b))
	}
}

func TestParseVideo(t *testing.T) {
	hvc1 := []byte("hvc1")
	avc1 := []byte("avc1")
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		in   []byte
		want VideoBody
	}{
		{"legacy avc sequence header", cat([]byte{0x17, 0, 0, 0, 0}, avcRecord),
			VideoBody{Codec: engine.CodecH264, Keyframe: true, SeqHeader: true, Data: avcRecord}},
		{"legacy avc inter, cts 33", []byte{0x27, 1, 0, 0, 33, 9, 9},
			VideoBody{Codec: engine.CodecH264, CTS: 33 * time.Millisecond, Data: []byte{9, 9}}},
		{"legacy avc cts -1", []byte{0x27, 1, 0xff, 0xff, 0xff, 9},
			VideoBody{Codec: engine.CodecH264, CTS: -time.Millisecond, Data: []byte{9}}},
		{"legacy avc end of sequence", []byte{0x17, 2, 0, 0, 0},
			VideoBody{Codec: engine.CodecH264, Keyframe: true, SeqEnd: true, Data: []byte{}}},
		{"legacy avc disposable frame", []byte{0x37, 1, 0, 0, 0, 1},
			VideoBody{Codec: engine.CodecH264, Data: []byte{1}}},
		{"legacy hevc id 12 keyframe", []byte{0x1c, 1, 0, 0, 40, 7},
			VideoBody{Codec: engine.CodecH265, Keyframe: true, CTS: 40 * time.Millisecond, Data: []byte{7}}},
		{"legacy hevc id 12 sequence header", cat([]byte{0x1c, 0, 0, 0, 0}, hevcRecord),
			VideoBody{Codec: engine.CodecH265, Keyframe: true, SeqHeader: true, Data: hevcRecord}},
		{"enhanced hvc1 sequence start", cat([]byte{0x90}, hvc1, hevcRecord),
			VideoBody{Codec: engine.CodecH265, Keyframe: true, SeqHeader: true, Data: hevcRecord}},
		{"enhanced hvc1 coded frames cts -80", cat([]byte{0xa1}, hvc1, []byte{0xff, 0xff, 0xb0, 5, 6}),
			VideoBody{Codec: engine.CodecH265, CTS: -80 * time.Millisecond, Data: []byte{5, 6}}},
		{"enhanced hvc1 coded frames X", cat([]byte{0x93}, hvc1, []byte{5, 6}),
			VideoBody{Codec: engine.CodecH265, Keyframe: true, Data: []byte{5, 6}}},
		{"enhanced hvc1 sequence end", cat([]byte{0x92}, hvc1),
			VideoBody{Codec: engine.CodecH265, Keyframe: true, SeqEnd: true, Data: []byte{}}},
		{"enhanced avc1 coded frames", cat([]byte{0x91}, avc1, []byte{0, 0, 40, 1}),
			VideoBody{Codec: engine.CodecH264, Keyframe: true, CTS: 40 * time.Millisecond, Data: []byte{1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseVideo(tt.in)
			if err != nil {
				t.Fatalf("ParseVideo(%x): %v", tt.in, err)
			}
			if v.Codec != tt.want.Codec || v.Keyframe != tt.want.Keyframe || v.SeqHeader != tt.want.SeqHeader ||
				v.SeqEnd != tt.want.SeqEnd || v.CTS != tt.want.CTS || !bytes.Equal(v.Data, tt.want.Data) {
				t.Errorf("ParseVideo(%x) =\n%+v, want\n%+v", tt.in, v, tt.want)
			}
			// Data points into the input.
			if len(v.Data) > 0 && &v.Data[len(v.Data)-1] != &tt.in[len(tt.in)-1] {
				t.Errorf("Data does not alias the input")
			}
		})
	}
}

func TestParseVideoErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		wantShort bool
		wantText  string
	}{
		{name: "empty", in: nil, wantShort: true},
		{name: "legacy avc one byte", in: []byte{0x17}, wantShort: true},
		{name: "legacy avc four bytes", in: []byte{0x17, 1, 0, 0}, wantShort: true},
		{name: "legacy bad avc packet type", in: []byte{0x17, 3, 0, 0, 0}, wantText: "packet type 3"},
		{name: "sorenson h.263", in: []byte{0x22, 0, 0, 0, 0}, wantText: "codec id 2"},
		{name: "vp6", in: []byte{0x14, 0, 0, 0, 0}, wantText: "codec id 4"},
		{name: "av1 legacy id 13", in: []byte{0x1d, 1, 0, 0, 0}, wantText: "codec id 13"},
		{name: "enhanced four bytes", in: []byte{0x91, 'h', 'v', 'c'}, wantShort: true},
		{name: "enhanced coded frames without cts", in: []byte{0x91, 'h', 'v', 'c', '1', 0, 0}, wantShort: true},
		{name: "enhanced av01", in: []byte{0x91, 'a', 'v', '0', '1', 0, 0, 0}, wantText: "av01"},
		{name: "enhanced vp09", in: []byte{0x90, 'v', 'p', '0', '9'}, wantText: "vp09"},
		{name: "enhanced metadata packet", in: []byte{0x94, 'h', 'v', 'c', '1'}, wantText: "packet type 4"},
		{name: "enhanced multitrack packet", in: []byte{0x96, 'h', 'v', 'c', '1'}, wantText: "packet type 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseVideo(tt.in)
			if err == nil {
				t.Fatalf("ParseVideo(%x) = %+v, want an error", tt.in, v)
			}
			checkErr(t, err, tt.wantShort, tt.wantText)
		})
	}
}

func TestParseAudio(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want AudioBody
	}{
		{"aac sequence header", []byte{0xaf, 0, 0x12, 0x10}, AudioBody{Codec: engine.CodecAAC, SeqHeader: true, Data: []byte{0x12, 0x10}, Channels: 2}},
		{"aac raw", []byte{0xaf, 1, 0x21, 0x10}, AudioBody{Codec: engine.CodecAAC, Data: []byte{0x21, 0x10}, Channels: 2}},
		{"aac raw empty", []byte{0xaf, 1}, AudioBody{Codec: engine.CodecAAC, Data: []byte{}, Channels: 2}},
		{"aac mono flag", []byte{0xae, 1, 7}, AudioBody{Codec: engine.CodecAAC, Data: []byte{7}, Channels: 1}},
		{"pcma mono", []byte{0x72, 0xd5, 0xd5}, AudioBody{Codec: engine.CodecPCMA, Data: []byte{0xd5, 0xd5}, Channels: 1}},
		{"pcma stereo", []byte{0x73, 0xd5}, AudioBody{Codec: engine.CodecPCMA, Data: []byte{0xd5}, Channels: 2}},
		{"pcmu mono 8-bit", []byte{0x80, 0xff}, AudioBody{Codec: engine.CodecPCMU, Data: []byte{0xff}, Channels: 1}},
		{"pcmu header only", []byte{0x82}, AudioBody{Codec: engine.CodecPCMU, Data: []byte{}, Channels: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAudio(tt.in)
			if err != nil {
				t.Fatalf("ParseAudio(%x): %v", tt.in, err)
			}
			if a.Codec != tt.want.Codec || a.SeqHeader != tt.want.SeqHeader || a.Channels != tt.want.Channels || !bytes.Equal(a.Data, tt.want.Data) {
				t.Errorf("ParseAudio(%x) = %+v, want %+v", tt.in, a, tt.want)
			}
		})
	}
}

func TestParseAudioErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		wantShort bool
		wantText  string
	}{
		{name: "empty", in: nil, wantShort: true},
		{name: "aac without packet type", in: []byte{0xaf}, wantShort: true},
		{name: "mp3", in: []byte{0x2f, 0xff, 0xfb}, wantText: "sound format 2"},
		{name: "linear pcm", in: []byte{0x0f, 0, 0}, wantText: "sound format 0"},
		{name: "speex", in: []byte{0xb6, 0}, wantText: "sound format 11"},
		{name: "enhanced audio exheader", in: []byte{0x90, 'O', 'p', 'u', 's'}, wantText: "sound format 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAudio(tt.in)
			if err == nil {
				t.Fatalf("ParseAudio(%x) = %+v, want an error", tt.in, a)
			}
			checkErr(t, err, tt.wantShort, tt.wantText)
		})
	}
}

// tagHeader is a raw 11-byte tag header.
func tagHeader(typ byte, size uint32, ts uint32) []byte {
	return []byte{typ, byte(size >> 16), byte(size >> 8), byte(size), byte(ts >> 16), byte(ts >> 8), byte(ts), byte(ts >> 24), 0, 0, 0}
}

func TestReadHeaderErrors(t *testing.T) {
	good := Header(true, true)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name      string
		in        []byte
		wantText  string
		wantIsErr error
	}{
		{name: "empty", in: nil, wantIsErr: io.EOF},
		{name: "truncated signature", in: []byte("FL"), wantIsErr: io.ErrUnexpectedEOF},
		{name: "bad signature", in: mod(func(b []byte) []byte { b[2] = 'X'; return b }), wantText: "signature"},
		{name: "mp4 file", in: []byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00"), wantText: "signature"},
		{name: "header size below 9", in: mod(func(b []byte) []byte { b[8] = 5; return b }), wantText: "header size 5"},
		{name: "header size huge", in: mod(func(b []byte) []byte { b[5] = 0x7f; return b }), wantText: "bad header size"},
		{name: "header size beyond end", in: mod(func(b []byte) []byte { b[8] = 100; return b }), wantIsErr: io.EOF},
		{name: "no first PreviousTagSize", in: good[:9], wantIsErr: io.EOF},
		{name: "half first PreviousTagSize", in: good[:11], wantIsErr: io.ErrUnexpectedEOF},
		{name: "first PreviousTagSize not zero", in: mod(func(b []byte) []byte { b[12] = 11; return b }), wantText: "PreviousTagSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.in)).ReadHeader()
			if err == nil {
				t.Fatalf("ReadHeader(%x) succeeded", tt.in)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not mention %q", err, tt.wantText)
			}
			if tt.wantIsErr != nil && !errors.Is(err, tt.wantIsErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIsErr)
			}
		})
	}
}

func TestReadHeaderLongerHeader(t *testing.T) {
	// A header that says it is 13 bytes long: the extra bytes are skipped.
	b := []byte{'F', 'L', 'V', 1, 5, 0, 0, 0, 13, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0}
	b = append(b, appendTag(nil, TagScript, 7, []byte{5})...)
	r := NewReader(bytes.NewReader(b))
	h, err := r.ReadHeader()
	if err != nil {
		t.Fatalf("ReadHeader: %v", err)
	}
	if !h.Audio || !h.Video {
		t.Errorf("header = %+v", h)
	}
	tag, err := r.ReadTag()
	if err != nil || tag.Type != TagScript || tag.Timestamp != 7 || !bytes.Equal(tag.Body, []byte{5}) {
		t.Errorf("ReadTag = %+v, %v", tag, err)
	}
}

func TestReadTagErrors(t *testing.T) {
	good := PacketTag(&engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, Keyframe: true, Payload: nalus(5)})
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name      string
		in        []byte
		wantText  string
		wantIsErr error
	}{
		{name: "wrong PreviousTagSize", in: mod(func(b []byte) []byte { b[len(b)-1]++; return b }), wantText: "PreviousTagSize"},
		{name: "PreviousTagSize of the body only", in: mod(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[len(b)-4:], uint32(len(b)-15))
			return b
		}), wantText: "PreviousTagSize"},
		{name: "oversized tag", in: tagHeader(TagVideo, MaxTagSize+1, 0), wantText: "exceeds"},
		{name: "largest 24-bit size", in: tagHeader(TagVideo, 0xffffff, 0), wantText: "exceeds"},
		{name: "truncated tag header", in: good[:5], wantIsErr: io.ErrUnexpectedEOF},
		{name: "no body", in: good[:11], wantIsErr: io.ErrUnexpectedEOF},
		{name: "truncated body", in: good[:15], wantIsErr: io.ErrUnexpectedEOF},
		{name: "missing PreviousTagSize", in: good[:len(good)-4], wantIsErr: io.ErrUnexpectedEOF},
		{name: "half PreviousTagSize", in: good[:len(good)-2], wantIsErr: io.ErrUnexpectedEOF},
		{name: "unknown tag type", in: mod(func(b []byte) []byte { b[0] = 7; return b }), wantText: "unknown tag type 7"},
		{name: "tag type 0", in: mod(func(b []byte) []byte { b[0] = 0; return b }), wantText: "unknown tag type 0"},
		{name: "encrypted tag", in: mod(func(b []byte) []byte { b[0] |= 0x20; return b }), wantText: "encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(append(Header(true, false), tt.in...)))
			if _, err := r.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			tag, err := r.ReadTag()
			if err == nil {
				t.Fatalf("ReadTag succeeded: %+v", tag)
			}
			if err == io.EOF {
				t.Fatalf("ReadTag returned a clean io.EOF inside a tag")
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not mention %q", err, tt.wantText)
			}
			if tt.wantIsErr != nil && !errors.Is(err, tt.wantIsErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIsErr)
			}
		})
	}
}

// TestReadTagEveryPrefix cuts a valid stream at every byte: the reader
// returns io.EOF itself exactly at tag boundaries and an error wrapping
// io.ErrUnexpectedEOF anywhere else.
func TestReadTagEveryPrefix(t *testing.T) {
	var stream []byte
	stream = append(stream, Header(true, true)...)
	bounds := map[int]bool{len(stream): true}
	for _, tc := range roundTripCases()[:6] {
		stream = append(stream, PacketTag(tc.pkt)...)
		bounds[len(stream)] = true
	}
	for n := 13; n <= len(stream); n++ {
		r := NewReader(bytes.NewReader(stream[:n]))
		if _, err := r.ReadHeader(); err != nil {
			t.Fatal(err)
		}
		var err error
		for err == nil {
			_, err = r.ReadTag()
		}
		if bounds[n] {
			if err != io.EOF {
				t.Errorf("cut at a boundary (%d): err = %v, want io.EOF", n, err)
			}
		} else if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut inside a tag (%d): err = %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
}

// TestReadTagAllocation checks that a hostile size field costs at most the
// bounded allocation, and that an oversized one costs none.
func TestReadTagAllocation(t *testing.T) {
	measure := func(in []byte) uint64 {
		r := NewReader(bytes.NewReader(in))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := r.ReadTag()
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("ReadTag succeeded")
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	const slack = 16 << 10 // error values, MemStats bookkeeping
	if n := measure(tagHeader(TagVideo, 0xffffff, 0)); n > slack {
		t.Errorf("an oversized tag allocated %d bytes", n)
	}
	if n := measure(tagHeader(TagVideo, MaxTagSize, 0)); n > MaxTagSize+4+slack {
		t.Errorf("a maximal truncated tag allocated %d bytes, limit %d", n, MaxTagSize+4)
	}
}

func TestCTS24(t *testing.T) {
	tests := []struct {
		in   [3]byte
		want time.Duration
	}{
		{[3]byte{0, 0, 0}, 0},
		{[3]byte{0, 0, 1}, time.Millisecond},
		{[3]byte{0x7f, 0xff, 0xff}, 8388607 * time.Millisecond},
		{[3]byte{0x80, 0, 0}, -8388608 * time.Millisecond},
		{[3]byte{0xff, 0xff, 0xff}, -time.Millisecond},
		{[3]byte{0xff, 0xff, 0xd8}, -40 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := cts24(tt.in[:]); got != tt.want {
			t.Errorf("cts24(%x) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// seedStream is a realistic FLV stream for the fuzz corpora.
func seedStream() []byte {
	b := Header(true, true)
	b = append(b, appendTag(nil, TagScript, 0, []byte{2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 8, 0, 0, 0, 0, 0, 0, 9})...)
	b = append(b, SequenceTag(cfgH264, 0)...)
	b = append(b, SequenceTag(cfgAAC, 0)...)
	for _, tc := range roundTripCases() {
		b = append(b, PacketTag(tc.pkt)...)
	}
	return append(b, SequenceTag(cfgH265, time.Second)...)
}

func FuzzReader(f *testing.F) {
	s := seedStream()
	f.Add(s)
	f.Add(s[:len(s)/2])
	f.Add(Header(false, true))
	f.Add(append(Header(true, false), tagHeader(TagVideo, MaxTagSize, 0)...))
	f.Add(append(Header(true, false), tagHeader(TagVideo, MaxTagSize+1, 0)...))
	f.Add(append(Header(true, false), tagHeader(TagAudio, 1, 0)...))
	f.Add([]byte{'F', 'L', 'V', 1, 5, 0, 0, 0, 13, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0})
	f.Add([]byte("FLV"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		// the reader's 64 KiB read buffer, and at most 64 KiB of a body
		// before its bytes arrive
		testkit.MaxAlloc(t, 128<<10+testkit.InputBound(len(data)), func() {
			r := NewReader(bytes.NewReader(data))
			if _, err := r.ReadHeader(); err != nil {
				return
			}
			consumed := 13
			for {
				tag, err := r.ReadTag()
				// Never more than one bounded body (plus PreviousTagSize) per tag.
				if cap(tag.Body) > MaxTagSize+4 {
					t.Fatalf("tag body len %d cap %d exceeds the limit", len(tag.Body), cap(tag.Body))
				}
				if err != nil {
					return
				}
				if len(tag.Body) > MaxTagSize {
					t.Fatalf("accepted a tag body of %d bytes", len(tag.Body))
				}
				switch tag.Type {
				case TagAudio:
					_, _ = ParseAudio(tag.Body)
				case TagVideo:
					_, _ = ParseVideo(tag.Body)
				case TagScript:
				default:
					t.Fatalf("accepted tag type %d", tag.Type)
				}
				consumed += 15 + len(tag.Body)
				if consumed > len(data) {
					t.Fatalf("read %d bytes of tags from %d bytes of input", consumed, len(data))
				}
			}
		})
	})
}

func FuzzParseVideo(f *testing.F) {
	f.Add(VideoHeaderBody(cfgH264))
	f.Add(VideoHeaderBody(cfgH265))
	for _, tc := range roundTripCases() {
		if tc.pkt.Track == engine.TrackVideo {
			f.Add(append(BodyPrefix(tc.pkt), tc.pkt.Payload...))
		}
	}
	f.Add([]byte{0x1c, 1, 0xff, 0xff, 0xd8, 1})
	f.Add([]byte{0x93, 'h', 'v', 'c', '1', 1})
	f.Add([]byte{0x91, 'a', 'v', 'c', '1', 0, 0, 0})
	f.Add([]byte{0x92, 'h', 'v', 'c', '1'})
	f.Add([]byte{0x17, 2, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() {
			v, err := ParseVideo(b)
			if err != nil {
				return
			}
			if !v.Codec.IsVideo() {
				t.Fatalf("codec %v", v.Codec)
			}
			if len(v.Data) > len(b) || (len(v.Data) > 0 && &v.Data[len(v.Data)-1] != &b[len(b)-1]) {
				t.Fatalf("Data is not a suffix of the input")
			}
			if v.CTS < -(1<<23)*time.Millisecond || v.CTS >= (1<<23)*time.Millisecond {
				t.Fatalf("CTS %v outside 24 bits", v.CTS)
			}
			if v.SeqHeader && v.SeqEnd {
				t.Fatalf("both sequence header and end")
			}
			if v.SeqHeader || v.SeqEnd {
				return
			}
			// A coded frame survives a round trip through the muxer.
			p := &engine.Packet{Track: engine.TrackVideo, Codec: v.Codec, Keyframe: v.Keyframe,
				DTS: 10 * time.Second, PTS: 10*time.Second + v.CTS, Payload: v.Data}
			body := append(BodyPrefix(p), v.Data...)
			v2, err := ParseVideo(body)
			if err != nil {
				t.Fatalf("reparse of %x: %v", body, err)
			}
			if v2.Codec != v.Codec || v2.Keyframe != v.Keyframe || v2.CTS != v.CTS || !bytes.Equal(v2.Data, v.Data) || v2.SeqHeader || v2.SeqEnd {
				t.Fatalf("round trip: %+v became %+v", v, v2)
			}
		})
	})
}

func FuzzParseAudio(f *testing.F) {
	f.Add(AudioHeaderBody(cfgAAC))
	for _, tc := range roundTripCases() {
		if tc.pkt.Track == engine.TrackAudio {
			f.Add(append(BodyPrefix(tc.pkt), tc.pkt.Payload...))
		}
	}
	f.Add([]byte{0xaf})
	f.Add([]byte{0x2f, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() {
			a, err := ParseAudio(b)
			if err != nil {
				return
			}
			switch a.Codec {
			case engine.CodecAAC, engine.CodecPCMA, engine.CodecPCMU:
			default:
				t.Fatalf("codec %v", a.Codec)
			}
			if a.Channels != 1 && a.Channels != 2 {
				t.Fatalf("channels %d", a.Channels)
			}
			if len(a.Data) > len(b) || (len(a.Data) > 0 && &a.Data[len(a.Data)-1] != &b[len(b)-1]) {
				t.Fatalf("Data is not a suffix of the input")
			}
			if a.SeqHeader {
				return
			}
			p := &engine.Packet{Track: engine.TrackAudio, Codec: a.Codec, Payload: a.Data,
				Config: &engine.CodecConfig{Codec: a.Codec, Channels: a.Channels}}
			body := append(BodyPrefix(p), a.Data...)
			a2, err := ParseAudio(body)
			if err != nil {
				t.Fatalf("reparse of %x: %v", body, err)
			}
			if a2.Codec != a.Codec || a2.SeqHeader || !bytes.Equal(a2.Data, a.Data) {
				t.Fatalf("round trip: %+v became %+v", a, a2)
			}
			if a.Codec != engine.CodecAAC && a2.Channels != a.Channels {
				t.Fatalf("channels %d became %d", a.Channels, a2.Channels)
			}
		})
	})
}

// TestPacketFrame: a writer that sends frame[:len-4], the payload, then
// frame[len-4:] writes exactly PacketTag.
func TestPacketFrame(t *testing.T) {
	for _, tc := range roundTripCases() {
		p := tc.pkt
		frame := PacketFrame(p)
		if frame == nil {
			t.Fatalf("%s: no frame", tc.name)
		}
		n := len(frame) - 4
		got := append(append(append([]byte(nil), frame[:n]...), p.Payload...), frame[n:]...)
		if want := PacketTag(p); !bytes.Equal(got, want) {
			t.Errorf("%s: frame+payload =\n%x, PacketTag =\n%x", tc.name, got, want)
		}
		if len(frame) != 15+len(BodyPrefix(p)) {
			t.Errorf("%s: frame is %d bytes, want %d", tc.name, len(frame), 15+len(BodyPrefix(p)))
		}
	}
	if f := PacketFrame(&engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecOpus}); f != nil {
		t.Errorf("PacketFrame(opus) = %x, want nil", f)
	}
}

func TestSentNeedsHeaderOncePerConfiguration(t *testing.T) {
	v1 := &engine.CodecConfig{Codec: engine.CodecH264, Record: []byte{1, 2}}
	v1again := &engine.CodecConfig{Codec: engine.CodecH264, Record: []byte{1, 2}} // equal, other pointer
	v2 := &engine.CodecConfig{Codec: engine.CodecH264, Record: []byte{1, 3}}
	a := &engine.CodecConfig{Codec: engine.CodecAAC, Record: []byte{0x12, 0x10}}
	var s Sent
	for i, c := range []struct {
		p    *engine.Packet
		want bool
	}{
		{&engine.Packet{Track: engine.TrackVideo, Config: v1}, true},
		{&engine.Packet{Track: engine.TrackVideo, Config: v1}, false},
		{&engine.Packet{Track: engine.TrackAudio, Config: a}, true},
		{&engine.Packet{Track: engine.TrackVideo, Config: v1again}, false},
		{&engine.Packet{Track: engine.TrackAudio, Config: a}, false},
		{&engine.Packet{Track: engine.TrackVideo, Config: v2}, true},
		{&engine.Packet{Track: engine.TrackVideo, Config: v2}, false},
	} {
		if got := s.NeedsHeader(c.p); got != c.want {
			t.Errorf("packet %d: NeedsHeader = %v, want %v", i, got, c.want)
		}
	}
}

// checkErr checks that err wraps ErrShort when wantShort and mentions
// wantText when it is set.
func checkErr(t *testing.T, err error, wantShort bool, wantText string) {
	t.Helper()
	if wantShort && !errors.Is(err, ErrShort) {
		t.Errorf("error %v does not wrap ErrShort", err)
	}
	if wantText != "" && !strings.Contains(err.Error(), wantText) {
		t.Errorf("error %q does not mention %q", err, wantText)
	}
}

// FuzzDepacketizer feeds arbitrary tag bodies to the depacketizer that
// RTMP publishers and pulled streams go through: nothing may panic, and
// every packet carries a configuration of its own codec.
func FuzzDepacketizer(f *testing.F) {
	f.Add([]byte{0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 1, 0, 2, 0x68, 0xce}, []byte{0xaf, 0, 0x11, 0x90})
	f.Add([]byte{0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x41, 0x9a}, []byte{0x72, 0xd5, 0xd5})
	f.Fuzz(func(t *testing.T, video, audio []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(video)+len(audio)), func() {
			var d Depacketizer
			for i := range 3 {
				if p, _, err := d.Video(uint32(i*40), video); err == nil && p != nil && (p.Config == nil || p.Config.Codec != p.Codec) {
					t.Fatalf("video packet %+v", p)
				}
				if p, _, err := d.Audio(uint32(i*40), audio); err == nil && p != nil && (p.Config == nil || p.Config.Codec != p.Codec) {
					t.Fatalf("audio packet %+v", p)
				}
			}
		})
	})
}
