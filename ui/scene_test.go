package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"chalkcast/engine"
	"chalkcast/sources/scene"
	"chalkcast/sources/testpattern"
)

// TestSceneFromTheEmptyState: "Slides + camera" makes a scene of the
// screen and the camera (test patterns stand in for them here) that goes
// live; its card switches the layout with one click, live.
func TestSceneFromTheEmptyState(t *testing.T) {
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]engine.SourceKind{"screen": testpattern.New(hub.Pool()), "camera": testpattern.New(hub.Pool())}
	inputs[sceneType] = scene.New(hub, inputs, scene.Labels{}, nil)
	s := studioOver(t, hub, inputs)
	test.Tap(button(t, s.win.Content(), "Slides + camera"))
	var overlay fyne.CanvasObject
	eventually(t, s, "the new-stream dialog", func() bool {
		overlay = s.win.Canvas().Overlays().Top()
		return overlay != nil
	})
	form := s.win.Canvas().Overlays().Top()
	if thumb, ok := find(form, func(i *canvas.Image) bool { return i.Image != nil }); !ok || !thumb.Visible() {
		t.Error("the form shows no thumbnail of the screen")
	}
	test.Tap(button(t, overlay, "Go live"))
	var c *card
	eventually(t, s, "a live scene", func() bool {
		c = s.cards["class-1"]
		return c != nil && c.state.Text == "Live" && c.scene.box.Visible()
	})
	st, _ := hub.Get("class-1")
	src := st.Config().Source
	if src.Type != sceneType || len(src.Inputs) != 2 || src.Inputs[0].Type != "screen" || src.Inputs[1].Type != "camera" || src.Options["layout"] != "pip" {
		t.Fatalf("the scene made: %+v", src)
	}
	if c.source.Text != "Slides + Camera" {
		t.Errorf("the card calls its source %q", c.source.Text)
	}
	pip := button(t, c.root, "Face in the corner")
	if pip.Importance != widget.HighImportance {
		t.Error("the current layout is not marked")
	}
	for _, l := range []struct{ label, layout string }{{"Side by side", "side-by-side"}, {"Slides only", "main"}, {"Camera only", "overlay"}, {"Face in the corner", "pip"}} {
		b := button(t, c.root, l.label)
		test.Tap(b)
		if b.Importance != widget.HighImportance || pip.Importance == widget.HighImportance && l.layout != "pip" {
			t.Errorf("%s: not marked as the layout chosen", l.label)
		}
		eventually(t, s, l.label+" in the stream's source", func() bool { return st.Config().Source.Options["layout"] == l.layout })
		if st.State() != engine.StateLive {
			t.Errorf("after %s the scene is %s", l.label, st.State())
		}
	}
}
