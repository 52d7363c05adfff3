package composite

import (
	"image"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/opentype"
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
// a slate area with the label in the middle, in font (the 7×13 basic
// font, which has Latin letters only, when nil).
type placeholders struct {
	font *opentype.Font
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
	if p.font != nil {
		drawText(img, text, p.font)
	} else {
		drawBlocks(img, text)
	}
	p.made[k] = img
	return img
}

// labelWidth is how wide a label is drawn in an area w pixels wide: half
// of a large area, most of a small one.
func labelWidth(w int) int { return max(w/2, min(w*9/10, 280)) }

// drawBlocks writes text in the middle of img with the 7×13 basic font,
// each of its pixels a square block so that it reads at any size.
func drawBlocks(img *image.YCbCr, text string) {
	face := basicfont.Face7x13
	tw := font.MeasureString(face, text).Ceil()
	th := face.Metrics().Height.Ceil()
	if tw == 0 {
		return
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	scale := min(labelWidth(w)/tw, h/(th*3))
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

// drawText writes text in the middle of img in f, smoothly, at the size
// that makes it labelWidth wide (at most a sixth of the area's height).
func drawText(img *image.YCbCr, text string, f *opentype.Font) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 100, DPI: 72})
	if err != nil {
		return
	}
	at100 := font.MeasureString(face, text).Ceil()
	face.Close()
	if at100 == 0 {
		return
	}
	size := min(float64(100*labelWidth(w))/float64(at100), float64(h)/6)
	if size < 8 {
		return // too small an area to say anything legible
	}
	if face, err = opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull}); err != nil {
		return
	}
	defer face.Close()
	m := face.Metrics()
	tw, th := font.MeasureString(face, text).Ceil(), m.Height.Ceil()
	mask := image.NewAlpha(image.Rect(0, 0, min(tw, w), min(th, h)))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, m.Ascent.Ceil())}
	d.DrawString(text)
	x0, y0 := (w-mask.Rect.Dx())/2, (h-mask.Rect.Dy())/2
	for ty := range mask.Rect.Dy() {
		row := img.Y[(y0+ty)*img.YStride+x0:]
		for tx := range mask.Rect.Dx() {
			if a := int(mask.AlphaAt(tx, ty).A); a > 0 {
				row[tx] = uint8(int(slate.y) + (int(label)-int(slate.y))*a/255)
			}
		}
	}
}
