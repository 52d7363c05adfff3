package codec

import (
	"encoding/binary"
	"testing"

	"chalkcast/engine"
)

// lengthPrefixed is an access unit as packets carry it.
func lengthPrefixed(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

// TestInBandConfig: a publisher that changes resolution mid-stream sends
// the new parameter sets in its keyframe, not in a new sequence header.
func TestInBandConfig(t *testing.T) {
	avc := func(sps, pps []byte) *engine.CodecConfig {
		c, err := H264Config(mustAVC(sps, pps))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	hevc := func(vps, sps, pps []byte) *engine.CodecConfig {
		c, err := H265Config(hevcRecord([][]byte{vps}, [][]byte{sps}, [][]byte{pps}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	idr := []byte{0x65, 0x88, 0x84}
	idr265 := []byte{0x26, 0x01, 0xaf}
	h720 := avc(sps720High, pps720High)
	x720 := hevc(vps720, sps720, pps720)
	for _, c := range []struct {
		name          string
		cfg           *engine.CodecConfig
		au            []byte
		width, height int // 0: no new configuration
	}{
		{"no configuration yet", nil, lengthPrefixed(sps360Main, pps360Main, idr), 0, 0},
		{"no parameter sets", h720, lengthPrefixed(idr), 0, 0},
		{"the same parameter sets", h720, lengthPrefixed(sps720High, pps720High, idr), 0, 0},
		{"new SPS and PPS", h720, lengthPrefixed([]byte{9, 0xf0}, sps360Main, pps360Main, idr), 640, 360},
		{"new SPS only", h720, lengthPrefixed(sps480Base, idr), 854, 480},
		{"unusable SPS", h720, lengthPrefixed([]byte{0x67, 0x64}, pps720High, idr), 0, 0},
		{"truncated after the SPS", h720, append(lengthPrefixed(sps360Main, pps360Main), 0, 0, 1, 0, 0x65), 640, 360},
		{"zero length ends the walk", h720, append([]byte{0, 0, 0, 0}, lengthPrefixed(sps360Main)...), 0, 0},
		{"H.265 the same", x720, lengthPrefixed(vps720, sps720, pps720, idr265), 0, 0},
		{"H.265 new", x720, lengthPrefixed(vps1080m10, sps1080m10, pps1080m10, idr265), 1920, 1080},
		{"audio", &engine.CodecConfig{Codec: engine.CodecAAC, Record: []byte{0x12, 0x10}}, lengthPrefixed(sps360Main), 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := InBandConfig(c.cfg, c.au)
			switch {
			case c.width == 0 && got != nil:
				t.Errorf("new configuration %+v, want none", got)
			case c.width == 0:
			case got == nil:
				t.Errorf("no new configuration, want %dx%d", c.width, c.height)
			case got.Width != c.width || got.Height != c.height || got.Codec != c.cfg.Codec || got.Equal(c.cfg):
				t.Errorf("new configuration %+v, want %v %dx%d", got, c.cfg.Codec, c.width, c.height)
			}
		})
	}
}

// FuzzInBandConfig: any access unit gives no configuration or a valid one
// of the same codec.
func FuzzInBandConfig(f *testing.F) {
	f.Add(lengthPrefixed(sps360Main, pps360Main, []byte{0x65, 0x88}), false)
	f.Add(lengthPrefixed(vps1080m10, sps1080m10, pps1080m10), true)
	f.Fuzz(func(t *testing.T, au []byte, h265 bool) {
		cfg, err := H264Config(mustAVC(sps720High, pps720High))
		if h265 {
			cfg, err = H265Config(hevcRecord([][]byte{vps720}, [][]byte{sps720}, [][]byte{pps720}))
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := InBandConfig(cfg, au); got != nil && (got.Codec != cfg.Codec || got.Width <= 0 || got.Height <= 0) {
			t.Fatalf("configuration %+v from % x", got, au)
		}
	})
}

func mustAVC(sps, pps []byte) []byte {
	rec, err := BuildAVCRecord([][]byte{sps}, [][]byte{pps})
	if err != nil {
		panic(err)
	}
	return rec
}
