package testpattern

import (
	"image"
	"testing"
	"time"
)

// What Draw burns in, ReadCounter reads back, at every size the presets
// use, scaled down as previews are, and for counters of every length.
func TestReadCounter(t *testing.T) {
	for _, size := range [][2]int{{640, 360}, {854, 480}, {1280, 720}, {1920, 1080}} {
		p := NewPattern(size[0], size[1])
		img := image.NewYCbCr(image.Rect(0, 0, size[0], size[1]), image.YCbCrSubsampleRatio420)
		for _, n := range []int64{0, 7, 42, 300, 1234, 98765, 4000000} {
			p.Draw(img, n, time.Date(2026, 12, 4, 9, 8, 7, 654e6, time.Local), time.Duration(n)*time.Second/30)
			if got, err := ReadCounter(img); err != nil || got != n {
				t.Errorf("%dx%d frame %d: read %d, %v", size[0], size[1], n, got, err)
			}
			for _, w := range []int{640, 960} {
				small := image.NewRGBA(image.Rect(0, 0, w, w*size[1]/size[0]))
				sb := small.Bounds()
				for y := range sb.Dy() {
					for x := range sb.Dx() {
						small.Set(x, y, img.At(x*size[0]/sb.Dx(), y*size[1]/sb.Dy()))
					}
				}
				if got, err := ReadCounter(small); err != nil || got != n {
					t.Errorf("%dx%d scaled to %dx%d, frame %d: read %d, %v", size[0], size[1], sb.Dx(), sb.Dy(), n, got, err)
				}
			}
		}
	}
	blank := image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420)
	if _, err := ReadCounter(blank); err == nil {
		t.Error("a blank picture read")
	}
}
