package ui

import (
	"image"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"chalkcast/engine"
	"chalkcast/media/audio"
)

// TestCardMonitor: a live test pattern's card shows its moving picture,
// made at the size it is shown, and level while on screen; Mute silences the stream and says so; a
// missing microphone is said in plain words.
func TestCardMonitor(t *testing.T) {
	s, hub := newTestStudio(t)
	if _, err := hub.Create(engine.StreamConfig{Name: "maths", Source: engine.Source{Type: "testpattern"}}); err != nil {
		t.Fatal(err)
	}
	var c *card
	eventually(t, s, "a live card", func() bool { c = s.cards["maths"]; return c != nil && c.state.Text == "Live" })
	var first image.Image
	eventually(t, s, "a preview picture", func() bool {
		c.monitor.tick(true)
		first = c.monitor.pic.Image
		return first != nil
	})
	// the picture comes at the size the card shows it
	if b, sz := first.Bounds(), c.monitor.pic.Size(); b.Dx() != 256 || b.Dy() != 144 || sz.Height != 144 {
		t.Errorf("preview %v shown at %v", b, sz)
	}
	eventually(t, s, "a new picture and a level", func() bool {
		c.monitor.tick(true)
		return c.monitor.pic.Image != first && c.monitor.meter.have
	})

	test.Tap(c.monitor.mute)
	st, _ := hub.Get("maths")
	if !st.Muted() {
		t.Fatal("Mute did not mute the stream")
	}
	eventually(t, s, "the muted state", func() bool {
		return c.monitor.mute.Text == "Unmute" && strings.HasPrefix(c.monitor.sound.Text, "Muted")
	})
	test.Tap(c.monitor.mute)
	eventually(t, s, "the sound back", func() bool { return !st.Muted() && c.monitor.mute.Text == "Mute" && c.monitor.sound.Text == "" })

	st.SetSilent(audio.ReasonNoMicrophone)
	eventually(t, s, "the no-sound state", func() bool { return c.monitor.sound.Text == "No sound: no microphone was found" })

	// off screen, nobody looks: the preview stops
	c.monitor.tick(false)
	if c.monitor.release != nil {
		t.Error("a card off screen still looks at its stream")
	}
}

// A picture with the same pixels as the one shown (a slide that stays)
// does not repaint the window; any other does.
func TestSamePicture(t *testing.T) {
	a := image.NewRGBA(image.Rect(0, 0, 16, 9))
	b := image.NewRGBA(image.Rect(0, 0, 16, 9))
	if !samePicture(a, b) {
		t.Error("two black pictures differ")
	}
	b.Pix[100] = 1
	if samePicture(a, b) {
		t.Error("a changed pixel is the same picture")
	}
	if samePicture(a, image.NewRGBA(image.Rect(0, 0, 32, 18))) || samePicture(a, nil) {
		t.Error("pictures of other sizes, or none, are the same")
	}
}
