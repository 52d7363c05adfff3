// Command icon draws Chalkcast's icon: a chalkboard-green rounded square
// with a white broadcast mark (a dot and two waves on each side), bold
// enough to read at 16 px. It writes assets/icon.png (1024 px), which
// FyneApp.toml and the packages use.
//
//	go run ./packaging/icon assets/icon.png
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

const (
	size = 1024
	ss   = 4 // supersampling per axis
)

var (
	board = color.NRGBA{0x1f, 0x6b, 0x4f, 0xff} // chalkboard green
	frame = color.NRGBA{0x16, 0x4d, 0x39, 0xff}
	chalk = color.NRGBA{0xfa, 0xfa, 0xf5, 0xff}
)

// shade says what colour point (x, y) in [0,1]² is, or transparent.
func shade(x, y float64) color.NRGBA {
	// rounded square with a darker rim
	r := 0.2
	dx, dy := math.Max(math.Abs(x-0.5)-(0.5-r), 0), math.Max(math.Abs(y-0.5)-(0.5-r), 0)
	d := math.Hypot(dx, dy)
	if d > r {
		return color.NRGBA{}
	}
	base := board
	if d > r-0.035 {
		base = frame
	}
	// broadcast mark: a dot, and two arcs each side, opening left and right
	cx, cy := x-0.5, y-0.5
	rr := math.Hypot(cx, cy)
	if rr < 0.1 {
		return chalk
	}
	angle := math.Abs(math.Atan2(cy, math.Abs(cx))) // 0 along the horizontal
	for _, ring := range []float64{0.215, 0.345} {
		if math.Abs(rr-ring) < 0.05 && angle < math.Pi/4 {
			return chalk
		}
	}
	return base
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: icon OUT.png")
		os.Exit(2)
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for py := range size {
		for px := range size {
			var r, g, b, a float64
			for sy := range ss {
				for sx := range ss {
					c := shade((float64(px)+(float64(sx)+0.5)/ss)/size, (float64(py)+(float64(sy)+0.5)/ss)/size)
					w := float64(c.A) / 255
					r, g, b, a = r+float64(c.R)*w, g+float64(c.G)*w, b+float64(c.B)*w, a+w
				}
			}
			if a > 0 {
				img.SetNRGBA(px, py, color.NRGBA{uint8(r / a), uint8(g / a), uint8(b / a), uint8(255 * a / ss / ss)})
			}
		}
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := png.Encode(f, img); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
