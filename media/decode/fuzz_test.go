package decode

import (
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"chalkcast/engine"
	"chalkcast/engine/codec"
)

// FuzzDecode feeds hostile access units (what an RTMP pusher or a camera
// can send) to the H.264, H.265 and AAC decoders: they must answer with an
// error or nothing, never crash, and stay usable.
func FuzzDecode(f *testing.F) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	avc, err := codec.BuildAVCRecord([][]byte{sps}, [][]byte{pps})
	if err != nil {
		f.Fatal(err)
	}
	asc, err := (&mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelCount: 2}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(byte(0), []byte{0, 0, 0, 5, 0x65, 0x88, 0x84, 0x00, 0x33})
	f.Add(byte(1), []byte{0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c})
	f.Add(byte(2), []byte{0, 0, 0, 3, 0x26, 0x01, 0xaf})
	f.Fuzz(func(t *testing.T, which byte, payload []byte) {
		switch which % 3 {
		case 0, 2:
			cfg := &engine.CodecConfig{Codec: engine.CodecH264, Record: avc}
			if which%3 == 2 {
				cfg = &engine.CodecConfig{Codec: engine.CodecH265, Record: []byte{1}}
			}
			v, err := NewVideo(cfg)
			if err != nil {
				return // a record libavcodec refuses is an error too
			}
			defer v.Close()
			for range 2 {
				if ok, _ := v.Decode(payload); ok {
					if _, err := v.Picture(nil, 640); err != nil {
						t.Logf("picture: %v", err)
					}
				}
			}
		case 1:
			a, err := NewAudio(&engine.CodecConfig{Codec: engine.CodecAAC, Record: asc, SampleRate: 44100, Channels: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			_ = a.Decode(payload, func(s []float32, ch int) {
				if ch <= 0 || len(s)%ch != 0 {
					t.Fatalf("%d samples for %d channels", len(s), ch)
				}
			})
		}
	})
}
