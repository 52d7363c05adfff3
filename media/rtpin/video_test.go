package rtpin

import (
	"encoding/binary"
	"image"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/internal/testkit"
	"chalkcast/media/encode"
)

// encodeAUs encodes n frames of w×h with OpenH264 and returns them as
// access units the way a camera or a browser sends them: parameter sets and a delimiter
// before each keyframe.
func encodeAUs(t testing.TB, w, h, n int) [][][]byte {
	t.Helper()
	enc, err := encode.NewH264(encode.VideoSettings{Width: w, Height: h, FPS: 25, Bitrate: 500_000, KeyInterval: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	var out [][][]byte
	for i := range n {
		for j := range img.Y {
			img.Y[j] = byte(i*7 + j)
		}
		payload, key, cfg, err := enc.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		var au h264.AVCC
		if err := au.Unmarshal(payload); err != nil {
			t.Fatal(err)
		}
		if key {
			rec, _ := codec.ParseAVCRecord(cfg.Record)
			au = append([][]byte{{0x09, 0xf0}, rec.SPS[0], rec.PPS[0]}, au...)
		}
		out = append(out, au)
	}
	return out
}

func TestVideoParameterSets(t *testing.T) {
	small, large := encodeAUs(t, 320, 240, 12), encodeAUs(t, 640, 360, 12)
	v := NewVideo(engine.CodecH264) // the SDP had no sprop-parameter-sets
	var pts int64
	feed := func(au [][]byte) *engine.Packet {
		t.Helper()
		pts += 3600
		p, err := v.Access(au, pts)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Frames before the first keyframe cannot be decoded: skipped.
	if p := feed(small[1]); p != nil {
		t.Fatal("a frame before the first keyframe was passed on")
	}
	first := feed(small[0])
	if first == nil || !first.Keyframe || first.Config.Width != 320 || first.Config.Height != 240 {
		t.Fatalf("first keyframe %+v", first)
	}
	// The payload has no parameter sets or delimiters: outputs add them.
	var au h264.AVCC
	if err := au.Unmarshal(first.Payload); err != nil {
		t.Fatal(err)
	}
	for _, n := range au {
		if typ := h264.NALUType(n[0] & 0x1f); typ == h264.NALUTypeSPS || typ == h264.NALUTypePPS || typ == h264.NALUTypeAccessUnitDelimiter {
			t.Errorf("payload carries NAL unit type %v", typ)
		}
	}
	for _, a := range small[1:] {
		if p := feed(a); p == nil || p.Config != first.Config || p.DTS > p.PTS {
			t.Fatalf("frame %+v", p)
		}
	}
	// The camera changes its resolution: new parameter sets in-band, a
	// new configuration from the next keyframe on.
	p := feed(large[0])
	if p == nil || p.Config == first.Config || p.Config.Width != 640 || p.Config.Height != 360 {
		t.Fatalf("after the change: %+v", p)
	}
}

// fuzzInput lays access units out for FuzzVideoAccess: a codec byte, then
// per NAL unit a flag byte (0x80: last of its access unit), a 16-bit
// length and the unit.
func fuzzInput(c byte, aus [][][]byte) []byte {
	b := []byte{c}
	for _, au := range aus {
		for i, n := range au {
			flag := byte(0)
			if i == len(au)-1 {
				flag = 0x80
			}
			b = append(b, flag)
			b = binary.BigEndian.AppendUint16(b, uint16(len(n)))
			b = append(b, n...)
		}
	}
	return b
}

// FuzzVideoAccess feeds arbitrary access units to the H.264 and H.265
// tracks (a camera's or a publisher's): nothing may panic, and what comes out is well formed. The seeds
// are real OpenH264 access units, so that mutations reach the paths past
// the parameter sets.
func FuzzVideoAccess(f *testing.F) {
	f.Add(fuzzInput(0, encodeAUs(f, 160, 96, 4)))
	f.Add(fuzzInput(1, [][][]byte{{{0x40, 0x01, 0x0c}, {0x42, 0x01, 0x01}, {0x44, 0x01, 0xc1}, {0x26, 0x01, 0xaf}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() {
			if len(b) == 0 {
				return
			}
			c := engine.CodecH264
			if b[0]&1 == 1 {
				c = engine.CodecH265
			}
			v := NewVideo(c)
			var au [][]byte
			pts := int64(0)
			rest := b[1:]
			for len(rest) >= 3 {
				last := rest[0]&0x80 != 0
				n := min(int(binary.BigEndian.Uint16(rest[1:3])), len(rest)-3)
				au = append(au, rest[3:3+n])
				rest = rest[3+n:]
				if !last && len(rest) >= 3 {
					continue
				}
				pts += 3000
				p, err := v.Access(au, pts)
				if err == nil && p != nil {
					var got h264.AVCC
					if err := got.Unmarshal(p.Payload); err != nil || p.Config == nil || p.DTS > p.PTS {
						t.Fatalf("bad packet %+v: %v", p, err)
					}
				}
				au = au[:0]
			}
		})
	})
}
