package record

import (
	"bytes"
	"image"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
	"chalkcast/media/encode"
)

// recordingSeed is two seconds of a recording as the recorder writes it in
// the container c, fragments of a second, without its end: what a crash
// leaves behind.
func recordingSeed(t testing.TB, c container) []byte {
	t.Helper()
	b, err := c.header()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		at := time.Duration(i) * time.Second / 30
		out, err := c.add(&engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, PTS: at, DTS: at,
			Keyframe: i%30 == 0, Payload: []byte{0, 0, 0, 2, 0x41, 0x9a}})
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, out...)
	}
	return b
}

// FuzzRecordingFile reads arbitrary files as the listing reads what it
// finds in the recordings folder (torn by a crash, or not a recording at
// all) and as a replay's playlist indexes it: durations are never
// negative, fragments lie inside the file, and memory grows with the file,
// not with the counts and sizes its boxes or tags declare.
func FuzzRecordingFile(f *testing.F) {
	enc, err := encode.NewH264(encode.VideoSettings{Width: 160, Height: 96, FPS: 30, Bitrate: 100_000, KeyInterval: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	_, _, video, err := enc.Encode(image.NewYCbCr(image.Rect(0, 0, 160, 96), image.YCbCrSubsampleRatio420))
	enc.Close()
	if err != nil {
		f.Fatal(err)
	}
	mp4, err := newFMP4(video, nil, 0, time.Second)
	if err != nil {
		f.Fatal(err)
	}
	m, fl := recordingSeed(f, mp4), recordingSeed(f, newFLV(video, nil, 0, time.Second))
	f.Add(m)
	f.Add(m[:len(m)-10])
	f.Add(fl)
	f.Add(fl[:len(fl)-3])
	f.Fuzz(func(t *testing.T, b []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() {
			if d, err := mp4Duration(bytes.NewReader(b), int64(len(b))); err == nil && d < 0 {
				t.Fatalf("MP4 duration %v", d)
			}
			if ix, err := readIndex(bytes.NewReader(b), int64(len(b))); err == nil {
				for _, fr := range ix.frags {
					if fr.off < ix.init || fr.size <= 0 || fr.off+fr.size > int64(len(b)) {
						t.Fatalf("fragment %+v outside the file of %d bytes", fr, len(b))
					}
				}
				_ = ix.playlist("/x.mp4")
			}
			if d, err := flvDuration(bytes.NewReader(b), int64(len(b))); err == nil && d < 0 {
				t.Fatalf("FLV duration %v", d)
			}
		})
	})
}
