package ui

import (
	"image"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// The large graph says what it shows: its scale with the unit, the zero
// line, and the time, with a tick every minute back from now.
func TestGraphAxes(t *testing.T) {
	test.NewTempApp(t)
	g := NewGraph(300, true)
	w := test.NewTempWindow(t, g)
	w.Resize(fyne.NewSize(600, 180))
	samples := make([]float64, 300)
	for i := range samples {
		samples[i] = 1800
	}
	g.SetSamples(samples)
	r := test.TempWidgetRenderer(t, g).(*graphRenderer)
	if r.top.Text != "2.0 Mbit/s" || r.zero.Text != "0" || r.span.Text != "5 min ago" || r.now.Text != "now" {
		t.Errorf("labels %q %q %q %q", r.top.Text, r.zero.Text, r.span.Text, r.now.Text)
	}
	img := r.draw(600, 180).(*image.RGBA)
	grid := toRGBA(theme.Color(theme.ColorNameSeparator))
	for minute := 1; minute < 5; minute++ {
		x := 599 - minute*60*599/299
		if img.RGBAAt(x, 176) != grid {
			t.Errorf("no tick %d min back (x %d): %v", minute, x, img.RGBAAt(x, 176))
		}
		if img.RGBAAt(x+5, 176) == grid {
			t.Errorf("a tick where none belongs (x %d)", x+5)
		}
	}
}
