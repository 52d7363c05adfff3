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
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Graph draws a stream's bitrate history: a filled line, newest on the
// right, scaled to a round maximum. With axes it labels the maximum, the
// unit and the time span. It redraws only when given new samples (once a
// second), from a small raster, so it costs little CPU.
type Graph struct {
	widget.BaseWidget
	span int  // samples shown (seconds)
	axes bool // show the scale and the time span

	mu      sync.Mutex
	samples []float64 // kbit/s, oldest first
}

// NewGraph returns a graph of the last span samples.
func NewGraph(span int, axes bool) *Graph {
	g := &Graph{span: span, axes: axes}
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
	r.span = canvas.NewText("", theme.Color(theme.ColorNamePlaceHolder))
	r.span.TextSize = theme.CaptionTextSize()
	r.objects = []fyne.CanvasObject{r.raster}
	if g.axes {
		r.objects = append(r.objects, r.top, r.span)
	}
	return r
}

type graphRenderer struct {
	g         *Graph
	raster    *canvas.Raster
	top, span *canvas.Text
	objects   []fyne.CanvasObject
	img       *image.RGBA
}

func (r *graphRenderer) Layout(size fyne.Size) {
	r.raster.Resize(size)
	r.raster.Move(fyne.NewPos(0, 0))
	if r.g.axes {
		r.top.Move(fyne.NewPos(4, 0))
		ts := r.span.MinSize()
		r.span.Move(fyne.NewPos(size.Width-ts.Width-4, size.Height-ts.Height))
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
		r.top.Text = formatKbps(scale(r.g.Samples()))
		r.span.Text = fmt.Sprintf("%d min", r.g.span/60)
		if r.g.span < 120 {
			r.span.Text = fmt.Sprintf("%d s", r.g.span)
		}
		r.top.Refresh()
		r.span.Refresh()
	}
	r.raster.Refresh()
}

func (r *graphRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *graphRenderer) Destroy()                     {}

// draw renders the plot at w×h pixels: a light fill under the line, grid
// lines at half and full scale.
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
	samples := r.g.Samples()
	if len(samples) < 2 {
		return img
	}
	top := scale(samples)
	n := r.g.span
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
	return img
}

func toRGBA(c color.Color) color.RGBA {
	r, g, b, a := c.RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}
