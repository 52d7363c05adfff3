package decode

import (
	"context"
	"testing"
	"time"

	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
)

// BenchmarkPreview720p30 is the preview's work for one frame of a 720p30
// stream at 2.5 Mbit/s: decode every frame, scale every second one to
// 640 px (15 pictures a second). The core% metric is what 30 such frames
// a second cost.
func BenchmarkPreview720p30(b *testing.B) {
	for _, c := range []struct {
		name     string
		enc      string
		pictures bool
	}{{"h264", "libx264", true}, {"h264-decode-only", "libx264", false}, {"h265", "libx265", true}} {
		enc, pictures := c.enc, c.pictures
		b.Run(c.name, func(b *testing.B) {
			testkit.NeedTools(b, "ffmpeg")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			clip, err := mediatest.VideoClip(ctx, "testsrc2=size=1280x720:rate=30", enc, 60, "2500k")
			if err != nil {
				b.Fatal(err)
			}
			v, err := NewVideo(clip.Config)
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if _, err := v.Decode(clip.Packets[i%len(clip.Packets)].Payload); err != nil {
					b.Fatal(err)
				}
				if pictures && i%2 == 0 {
					if _, err := v.Picture(nil, 640); err != nil {
						b.Fatal(err)
					}
				}
			}
			per := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(float64(per)*30/float64(time.Second)*100, "core%")
		})
	}
}
