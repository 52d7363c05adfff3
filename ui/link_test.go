package ui

import (
	"strings"
	"testing"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"chalkcast/engine"
	"chalkcast/sources/testpattern"
)

func TestShortenMiddle(t *testing.T) {
	const link = "http://192.168.1.20:8080/watch/math-class"
	for _, tc := range []struct {
		s    string
		max  int // characters that fit
		want string
	}{
		{link, 41, link},
		{link, 100, link},
		{link, 40, "http://192.168.1.20:8080/wat…/math-class"},
		{link, 20, "http://1…/math-class"},
		{link, 13, "h…/math-class"},
		{link, 12, "…/math-class"},
		{link, 5, "…/math-class"}, // the name stays whole; the label cuts it
		{"no-slash-at-all", 8, "no-slas…"},
		{"", 0, ""},
		{"http://[2001:db8::1]:8080/watch/数学课", 20, "http://[2001:db…/数学课"},
	} {
		fits := func(s string) bool { return utf8.RuneCountInString(s) <= tc.max }
		if got := shortenMiddle(tc.s, fits); got != tc.want {
			t.Errorf("shortenMiddle(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}
}

// TestShareLinkShowsTheName: in a narrow window the card's link is cut in
// the middle and ends with the stream's name; in a wide one it is whole.
func TestShareLinkShowsTheName(t *testing.T) {
	s, hub := newTestStudio(t)
	if _, err := hub.Create(engine.StreamConfig{Name: "maths-year-7", Source: engine.Source{Type: testpattern.Type, Options: map[string]string{"preset": "480p"}}}); err != nil {
		t.Fatal(err)
	}
	var c *card
	eventually(t, s, "a card", func() bool { c = s.cards["maths-year-7"]; return c != nil })
	const full = "http://127.0.0.1:8080/watch/maths-year-7"
	// at 640 px the share column goes under the details, with room for
	// the whole link; narrower still, the link is cut in the middle
	s.win.Resize(fyne.NewSize(640, 800))
	eventually(t, s, "the whole link at 640 px", func() bool { return c.link.Text == full })
	s.win.Resize(fyne.NewSize(420, 800))
	eventually(t, s, "a shortened link", func() bool { return strings.Contains(c.link.Text, "…") })
	if !strings.HasSuffix(c.link.Text, "…/maths-year-7") || !strings.HasPrefix(c.link.Text, "http") {
		t.Errorf("at 420 px the link reads %q", c.link.Text)
	}
	if w := fyne.MeasureText(c.link.Text, theme.TextSize(), c.link.TextStyle).Width; w > c.link.Size().Width {
		t.Errorf("the link %q (%.0f px) is wider than its label (%.0f px)", c.link.Text, w, c.link.Size().Width)
	}
	if got := s.win.Canvas().Size().Width; got > 420 {
		t.Errorf("the window grew to %.0f px", got)
	}
	test.Tap(c.copyLink)
	if got := s.app.Clipboard().Content(); got != full {
		t.Errorf("copied %q, want the whole link", got)
	}
	s.win.Resize(fyne.NewSize(1600, 800))
	eventually(t, s, "the whole link", func() bool { return c.link.Text == full })
}
