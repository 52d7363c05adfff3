package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// reflow lays its objects out side by side when the width allows it and
// wraps them onto new rows when it does not, so that a card works from
// half a laptop screen up: nothing is clipped and the window never has
// to grow. The objects of a row share what it leaves over equally, or
// with toLast it all goes to the row's last object (a title, its state,
// then buttons pushed to the right).
type reflow struct {
	toLast bool
	width  float32 // of the last layout, for MinSize's height
}

// rows splits objs into rows that fit width.
func (r *reflow) rows(objs []fyne.CanvasObject, width float32) [][]fyne.CanvasObject {
	pad := theme.Padding()
	var rows [][]fyne.CanvasObject
	var row []fyne.CanvasObject
	used := float32(0)
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		w := o.MinSize().Width
		if len(row) > 0 && used+pad+w > width {
			rows = append(rows, row)
			row, used = nil, 0
		}
		if len(row) > 0 {
			used += pad
		}
		row = append(row, o)
		used += w
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	return rows
}

func (r *reflow) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	r.width = size.Width
	pad := theme.Padding()
	y := float32(0)
	for _, row := range r.rows(objs, size.Width) {
		min, h := float32(0), float32(0)
		for _, o := range row {
			min += o.MinSize().Width
			h = max(h, o.MinSize().Height)
		}
		spare := max(size.Width-min-pad*float32(len(row)-1), 0)
		x := float32(0)
		for i, o := range row {
			w := o.MinSize().Width
			switch {
			case !r.toLast:
				w += spare / float32(len(row))
			case i == len(row)-1:
				w += spare
			}
			o.Move(fyne.NewPos(x, y))
			o.Resize(fyne.NewSize(w, h))
			x += w + pad
		}
		y += h + pad
	}
}

// MinSize is as narrow as the widest object, and as tall as the rows are
// at the last width laid out.
func (r *reflow) MinSize(objs []fyne.CanvasObject) fyne.Size {
	pad := theme.Padding()
	var w float32
	for _, o := range objs {
		if o.Visible() {
			w = max(w, o.MinSize().Width)
		}
	}
	width := r.width
	if width <= 0 {
		width = 1e6 // before any layout: one row
	}
	var h float32
	for i, row := range r.rows(objs, max(width, w)) {
		rh := float32(0)
		for _, o := range row {
			rh = max(rh, o.MinSize().Height)
		}
		if i > 0 {
			h += pad
		}
		h += rh
	}
	return fyne.NewSize(w, h)
}
