package encode

import (
	"image"
	"image/color"
	"testing"
)

func TestFitKeepsAspectRatio(t *testing.T) {
	dst := image.NewYCbCr(image.Rect(0, 0, 160, 90), image.YCbCrSubsampleRatio420)
	// a 4:3 white RGBA picture: pillarboxed to 120x90 in the middle
	src := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for i := range src.Pix {
		src.Pix[i] = 255
	}
	if err := Fit(dst, src); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x, y int
		want uint8
	}{{0, 45, 16}, {19, 45, 16}, {20, 45, 235}, {80, 0, 235}, {139, 89, 235}, {140, 45, 16}, {159, 45, 16}} {
		if got := dst.Y[dst.YOffset(c.x, c.y)]; got != c.want {
			t.Errorf("Y at (%d,%d) = %d, want %d", c.x, c.y, got, c.want)
		}
	}
	// a wide YCbCr 4:2:2 frame: letterboxed, colours kept
	wide := image.NewYCbCr(image.Rect(0, 0, 320, 90), image.YCbCrSubsampleRatio422)
	r, g, b := uint8(200), uint8(30), uint8(60)
	y, cb, cr := color.RGBToYCbCr(r, g, b)
	for i := range wide.Y {
		wide.Y[i] = y
	}
	for i := range wide.Cb {
		wide.Cb[i], wide.Cr[i] = cb, cr
	}
	if err := Fit(dst, wide); err != nil {
		t.Fatal(err)
	}
	if got := dst.Y[dst.YOffset(80, 0)]; got != 16 {
		t.Errorf("letterbox top: %d", got)
	}
	mid := dst.YCbCrAt(80, 45)
	if mid.Y != y || mid.Cb != cb || mid.Cr != cr {
		t.Errorf("middle %v, want %d/%d/%d", mid, y, cb, cr)
	}
	if err := Fit(dst, image.NewGray(image.Rect(0, 0, 4, 4))); err == nil {
		t.Error("a grey image was accepted")
	}
	if err := Fit(dst, image.NewRGBA(image.Rect(0, 0, 0, 0))); err == nil {
		t.Error("an empty image was accepted")
	}
}

func BenchmarkFit1080pScreen(b *testing.B) {
	dst := image.NewYCbCr(image.Rect(0, 0, 1920, 1080), image.YCbCrSubsampleRatio420)
	src := image.NewRGBA(image.Rect(0, 0, 2560, 1600))
	for b.Loop() {
		_ = Fit(dst, src)
	}
}
