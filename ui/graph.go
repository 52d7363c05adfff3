package ui

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Graph draws a history of one sample a second (a stream's bitrate, its
// viewers): a filled line, newest on the right, scaled to a round maximum.
// With axes it labels the maximum with its unit, the zero line, and the
// time with a tick a minute (10 s for short spans) from "5 min ago" to
// "now". It redraws only when given new samples (once a second), from a
// small raster, so it costs little CPU.
type Graph struct {
	widget.BaseWidget
	span int  // samples shown (seconds)
	axes bool // show the scale and the time
	// Format says a value with its unit, for the scale; default kbit/s.
	Format func(float64) string

	mu      sync.Mutex
	samples []float64 // kbit/s, oldest first
}

// NewGraph returns a graph of the last span samples.
func NewGraph(span int, axes bool) *Graph {
	g := &Graph{span: span, axes: axes, Format: formatKbps}
	g.ExtendBaseWidget(g)
	return g
}

// SetSamples replaces the data (kbit/s, oldest first) and redraws. Call it
// on the Fyne goroutine.
func (g *Graph) SetSamples(kbps []float64) {
	g.mu.Lock()
	if len(kbps) > g.span {
		kbps = kbps[len(kbps)-g.span:]
	}
	g.samples = append(g.samples[:0], kbps...)
	g.mu.Unlock()
	g.Refresh()
}

// Samples returns a copy of what the graph shows.
func (g *Graph) Samples() []float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]float64(nil), g.samples...)
}

// scale is the round number (1, 2 or 5 × 10^n kbit/s) above the largest
// sample.
func scale(samples []float64) float64 {
	m := 0.0
	for _, v := range samples {
		m = math.Max(m, v)
	}
	if m <= 0 {
		return 100
	}
	p := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= m {
			return f * p
		}
	}
	return 10 * p
}

// formatKbps says a bitrate the way people read it.
func formatKbps(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.1f Mbit/s", v/1000)
	}
	return fmt.Sprintf("%.0f kbit/s", v)
}

func (g *Graph) CreateRenderer() fyne.WidgetRenderer {
	r := &graphRenderer{g: g}
	r.raster = canvas.NewRaster(r.draw)
	r.top = canvas.NewText("", theme.Color(theme.ColorNamePlaceHolder))
	r.top.TextSize = theme.CaptionTextSize()
	caption := func(text string) *canvas.Text {
		t := canvas.NewText(text, theme.Color(theme.ColorNamePlaceHolder))
		t.TextSize = theme.CaptionTextSize()
		return t
	}
	r.span = caption("")
	r.zero = caption("0")
	r.now = caption(lang.L("now"))
	r.objects = []fyne.CanvasObject{r.raster}
	if g.axes {
		r.objects = append(r.objects, r.top, r.span, r.zero, r.now)
	}
	return r
}

type graphRenderer struct {
	g                    *Graph
	raster               *canvas.Raster
	top, span, zero, now *canvas.Text
	objects              []fyne.CanvasObject
	img                  *image.RGBA
}

// tick is the spacing of the time ticks, in samples (seconds).
func (g *Graph) tick() int {
	if g.span >= 120 {
		return 60
	}
	return 10
}

func (r *graphRenderer) Layout(size fyne.Size) {
	r.raster.Resize(size)
	r.raster.Move(fyne.NewPos(0, 0))
	if r.g.axes {
		r.top.Move(fyne.NewPos(4, 0))
		zs := r.zero.MinSize()
		r.zero.Move(fyne.NewPos(4, size.Height-zs.Height-2))
		ss := r.span.MinSize()
		r.span.Move(fyne.NewPos(zs.Width+12, size.Height-ss.Height-2))
		ns := r.now.MinSize()
		r.now.Move(fyne.NewPos(size.Width-ns.Width-4, size.Height-ns.Height-2))
	}
}

func (r *graphRenderer) MinSize() fyne.Size {
	if r.g.axes {
		return fyne.NewSize(240, 120)
	}
	return fyne.NewSize(160, 48)
}

func (r *graphRenderer) Refresh() {
	if r.g.axes {
		r.top.Text = r.g.Format(scale(r.g.Samples()))
		r.span.Text = fmt.Sprintf(lang.L("%d min ago"), r.g.span/60)
		if r.g.span < 120 {
			r.span.Text = fmt.Sprintf(lang.L("%d s ago"), r.g.span)
		}
		r.top.Refresh()
		r.span.Refresh()
	}
	r.raster.Refresh()
}

func (r *graphRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *graphRenderer) Destroy()                     {}

// draw renders the plot at w×h pixels: a light fill under the line, grid
// lines at zero, half and full scale, and with axes a short tick on the
// zero line for every minute (or 10 s) back from now.
func (r *graphRenderer) draw(w, h int) image.Image {
	if w <= 0 || h <= 0 {
		return image.NewRGBA(image.Rect(0, 0, 1, 1))
	}
	if r.img == nil || r.img.Rect.Dx() != w || r.img.Rect.Dy() != h {
		r.img = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	img := r.img
	draw.Draw(img, img.Rect, image.Transparent, image.Point{}, draw.Src)
	line := toRGBA(theme.Color(theme.ColorNamePrimary))
	fill := line
	fill.A = 60
	grid := toRGBA(theme.Color(theme.ColorNameSeparator))
	for _, y := range []int{0, h / 2, h - 1} {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, grid)
		}
	}
	n := r.g.span
	samples := r.g.Samples()
	if len(samples) < 2 {
		r.ticks(img, grid)
		return img
	}
	top := scale(samples)
	px := func(i int) int { return (w - 1) - (len(samples)-1-i)*(w-1)/(n-1) }
	py := func(v float64) int { return (h - 1) - int(math.Min(v/top, 1)*float64(h-2)) }
	for i := 1; i < len(samples); i++ {
		x0, y0, x1, y1 := px(i-1), py(samples[i-1]), px(i), py(samples[i])
		prev := y0
		for x := x0; x <= x1; x++ {
			y := y0
			if x1 > x0 {
				y = y0 + (y1-y0)*(x-x0)/(x1-x0)
			}
			for yy := y + 1; yy < h; yy++ {
				img.SetRGBA(x, yy, fill)
			}
			// the line, two pixels thick, joined to the previous column
			for yy := max(min(y, prev)-1, 0); yy <= min(max(y, prev), h-1); yy++ {
				img.SetRGBA(x, yy, line)
			}
			prev = y
		}
	}
	r.ticks(img, grid)
	return img
}

// ticks marks the time on the zero line, over the plot.
func (r *graphRenderer) ticks(img *image.RGBA, c color.RGBA) {
	if !r.g.axes {
		return
	}
	w, h, n := img.Rect.Dx(), img.Rect.Dy(), r.g.span
	for back := r.g.tick(); back < n; back += r.g.tick() {
		x := (w - 1) - back*(w-1)/(n-1)
		for y := max(h-7, 0); y < h; y++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func toRGBA(c color.Color) color.RGBA {
	r, g, b, a := c.RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}
