package record

import (
	"image"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/media/encode"
)

// BenchmarkFMP4 measures the MP4 writer's cost per second of a 720p30
// stream at 2 Mbit/s with 48 kHz AAC (30 video frames of 8.3 KB and 47
// audio frames), without the disk.
func BenchmarkFMP4(b *testing.B) {
	video, audio := benchConfigs(b)
	vpay, apay := make([]byte, 2_000_000/8/30), make([]byte, 64000/8/47)
	f, err := newFMP4(video, audio, 0, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	var written int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ { // one second of media
		base := time.Duration(i) * time.Second
		for j := range 30 {
			at := base + time.Duration(j)*time.Second/30
			out, err := f.add(&engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, PTS: at, DTS: at,
				Keyframe: j == 0 && i%2 == 0, Payload: vpay, Config: video})
			if err != nil {
				b.Fatal(err)
			}
			written += int64(len(out))
			for k := j * 47 / 30; k < (j+1)*47/30; k++ {
				at := base + time.Duration(k)*1024*time.Second/48000
				out, err := f.add(&engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecAAC, PTS: at, DTS: at,
					Keyframe: true, Payload: apay, Config: audio})
				if err != nil {
					b.Fatal(err)
				}
				written += int64(len(out))
			}
		}
	}
	b.ReportMetric(float64(written)/float64(b.N)/1e3, "kB/s-of-media")
}

// benchConfigs are real 720p30 H.264 and 48 kHz mono AAC configurations.
func benchConfigs(b *testing.B) (video, audio *engine.CodecConfig) {
	enc, err := encode.NewH264(encode.VideoSettings{Width: 1280, Height: 720, FPS: 30, Bitrate: 2_000_000, KeyInterval: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	_, _, video, err = enc.Encode(image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420))
	enc.Close()
	if err != nil {
		b.Fatal(err)
	}
	aac, err := encode.NewAAC(48000, 1, 64000)
	if err != nil {
		b.Fatal(err)
	}
	defer aac.Close()
	return video, aac.Config()
}
