// Package composite lays two pictures out into one: a scene's inputs
// (the slides and the teacher's face) composed into the frame that is
// encoded. It holds the layouts, the newest frame of each input and the
// calm placeholder of an input that is down. It is part of the media
// stage: it must not import a source, an output, a protocol or the GUI.
package composite

import (
	"fmt"
	"image"
	"strconv"
	"strings"

	"chalkcast/engine"
)

// Layout says which inputs show and where.
type Layout string

// The layouts of a scene.
const (
	PiP        Layout = "pip"          // the second input in a corner of the first
	SideBySide Layout = "side-by-side" // the two side by side
	Main       Layout = "main"         // the first input only
	Overlay    Layout = "overlay"      // the second input only
)

// Layouts are the layouts in the order the studio offers them.
var Layouts = []Layout{PiP, SideBySide, Main, Overlay}

// Corner is where the small picture of PiP sits.
type Corner string

// The corners.
const (
	TopLeft     Corner = "top-left"
	TopRight    Corner = "top-right"
	BottomLeft  Corner = "bottom-left"
	BottomRight Corner = "bottom-right"
)

// Corners are the corners in the order the API lists them.
var Corners = []Corner{TopLeft, TopRight, BottomLeft, BottomRight}

// Options are a scene's layout: the layout, and for PiP the corner and
// the small picture's width in percent of the frame's.
type Options struct {
	Layout Layout
	Corner Corner
	Size   int
}

// Defaults: the face bottom-right, a quarter of the width.
const (
	DefaultLayout = PiP
	DefaultCorner = BottomRight
	DefaultSize   = 25
)

// Option names in a source's options.
const (
	OptLayout = "layout"
	OptCorner = "corner"
	OptSize   = "size"
)

// ParseOptions reads the layout options of a source (layout, corner,
// size; the defaults when absent). Errors wrap engine.ErrInvalid.
func ParseOptions(opts map[string]string) (Options, error) {
	o := Options{Layout: DefaultLayout, Corner: DefaultCorner, Size: DefaultSize}
	var err error
	if v := opts[OptLayout]; v != "" {
		if o.Layout, err = choose(OptLayout, v, Layouts); err != nil {
			return o, err
		}
	}
	if v := opts[OptCorner]; v != "" {
		if o.Corner, err = choose(OptCorner, v, Corners); err != nil {
			return o, err
		}
	}
	if v := opts[OptSize]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > 50 {
			return o, fmt.Errorf("%w: size %q: use a whole number of percent from 10 to 50", engine.ErrInvalid, v)
		}
		o.Size = n
	}
	return o, nil
}

// choose is the choice v names of option, or an error listing them.
func choose[T ~string](option, v string, choices []T) (T, error) {
	names := make([]string, len(choices))
	for i, c := range choices {
		if string(c) == v {
			return c, nil
		}
		names[i] = string(c)
	}
	return "", fmt.Errorf("%w: %s %q: choose %s", engine.ErrInvalid, option, v, strings.Join(names, ", "))
}

// Areas returns where each input goes in a w×h frame (both even): an
// input that does not show gets an empty rectangle. Every area has even
// bounds and the frame's shape.
func (o Options) Areas(w, h int) [2]image.Rectangle {
	full := image.Rect(0, 0, w, h)
	switch o.Layout {
	case Main:
		return [2]image.Rectangle{full, {}}
	case Overlay:
		return [2]image.Rectangle{{}, full}
	case SideBySide:
		hw := w / 2 &^ 1
		hh := hw * h / w &^ 1
		y := (h - hh) / 2 &^ 1
		return [2]image.Rectangle{image.Rect(0, y, hw, y+hh), image.Rect(w-hw, y, w, y+hh)}
	}
	sw := w * o.Size / 100 &^ 1
	sh := sw * h / w &^ 1
	margin := max(2, w/40&^1)
	x, y := margin, margin
	if o.Corner == TopRight || o.Corner == BottomRight {
		x = w - margin - sw
	}
	if o.Corner == BottomLeft || o.Corner == BottomRight {
		y = h - margin - sh
	}
	return [2]image.Rectangle{full, image.Rect(x, y, x+sw, y+sh)}
}
