package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// shortenMiddle shortens s until fits accepts it by cutting the middle,
// the part before its last "/", so that the end (a link's stream name)
// always shows: "http://192.168.1.20:8080/wat…/math-class". A name too long
// for any room is shown whole after "…", for the label to cut.
func shortenMiddle(s string, fits func(string) bool) string {
	if fits(s) {
		return s
	}
	head, tail := []rune(s), ""
	if i := strings.LastIndex(s, "/"); i >= 0 {
		head, tail = []rune(s[:i]), s[i:]
	}
	short := func(n int) string { return string(head[:n]) + "…" + tail }
	// the longest start that fits: fitting only gets harder as it grows
	lo, hi := 0, len(head)-1
	if !fits(short(lo)) {
		return short(lo)
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(short(mid)) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return short(lo)
}

// linkLayout sizes a card's share link to the room it has, shortened in
// the middle so that the stream's name shows; its minimum width stays the
// label's (a few characters), so a long link never widens the window.
type linkLayout struct{ c *card }

func (l linkLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	lbl := l.c.link
	room := size.Width - 2*theme.InnerPadding()
	text := shortenMiddle(l.c.url, func(s string) bool {
		return fyne.MeasureText(s, theme.TextSize(), lbl.TextStyle).Width <= room
	})
	if lbl.Text != text {
		lbl.SetText(text)
	}
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l linkLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	return l.c.link.MinSize()
}
