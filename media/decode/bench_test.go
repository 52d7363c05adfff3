package decode

import (
	"context"
	"testing"
	"time"

	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
)

// BenchmarkPreview720p30 is the preview's work for one frame of a 720p30
// stream at 2.5 Mbit/s: decode every frame, scale every second one (15
// pictures a second) to the width it is shown at: 256 px on a card, 640
// px in the large monitor and preview.jpg. The core% metric is what 30
// such frames a second cost.
func BenchmarkPreview720p30(b *testing.B) {
	for _, c := range []struct {
		name  string
		enc   string
		width int // 0: no pictures
	}{
		{"h264-card", "libx264", 256}, {"h264-large", "libx264", 640}, {"h264-decode-only", "libx264", 0},
		{"h265-card", "libx265", 256},
	} {
		enc, width := c.enc, c.width
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
				if width > 0 && i%2 == 0 {
					if _, err := v.Picture(nil, width); err != nil {
						b.Fatal(err)
					}
				}
			}
			per := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(float64(per)*30/float64(time.Second)*100, "core%")
		})
	}
}
