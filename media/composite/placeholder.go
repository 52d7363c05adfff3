package composite

import (
	"image"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"chalkcast/media/encode"
)

type yuv struct{ y, cb, cr uint8 }

var (
	black = yuv{16, 128, 128}
	slate = yuv{52, 136, 124} // a calm dark blue-grey
	label = uint8(190)        // light grey text
)

// placeholders draws and keeps the placeholder of each size and label:
// a slate area with the label in the middle.
type placeholders struct {
	mu   sync.Mutex
	made map[placeholderKey]*image.YCbCr
}

type placeholderKey struct {
	size  image.Point
	label string
}

func (p *placeholders) get(size image.Point, text string) *image.YCbCr {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := placeholderKey{size, text}
	if img, ok := p.made[k]; ok {
		return img
	}
	if p.made == nil || len(p.made) >= 8 { // layouts come and go: keep a few
		p.made = map[placeholderKey]*image.YCbCr{}
	}
	img := image.NewYCbCr(image.Rectangle{Max: size}, image.YCbCrSubsampleRatio420)
	encode.Fill(img, slate.y, slate.cb, slate.cr)
	drawLabel(img, text)
	p.made[k] = img
	return img
}

// drawLabel writes text in the middle of img with the 7×13 basic font,
// each of its pixels a square block so that it reads at any size.
func drawLabel(img *image.YCbCr, text string) {
	face := basicfont.Face7x13
	tw := font.MeasureString(face, text).Ceil()
	th := face.Metrics().Height.Ceil()
	if tw == 0 {
		return
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	// half the width of a large area, most of a small one's
	scale := min(max(w/2, min(w*9/10, 280))/tw, h/(th*3))
	if scale < 1 {
		return // too small an area to say anything legible
	}
	mask := image.NewAlpha(image.Rect(0, 0, tw, th))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Metrics().Ascent.Ceil())}
	d.DrawString(text)
	x0, y0 := (w-tw*scale)/2, (h-th*scale)/2
	for ty := range th {
		for tx := range tw {
			if mask.AlphaAt(tx, ty).A < 128 {
				continue
			}
			for dy := range scale {
				row := img.Y[(y0+ty*scale+dy)*img.YStride+x0+tx*scale:]
				for dx := range scale {
					row[dx] = label
				}
			}
		}
	}
}
