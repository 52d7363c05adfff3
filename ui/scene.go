package ui

import (
	"fmt"
	"maps"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"chalkcast/engine"
)

// sceneType is the source type of a scene: two inputs in one picture.
const sceneType = "scene"

// sceneLayout is one way a scene shows its inputs, as its card offers it.
type sceneLayout struct {
	layout string
	icon   fyne.Resource
	label  func(first, second string) string
}

var sceneLayouts = []sceneLayout{
	{"pip", theme.ViewRestoreIcon(), func(string, string) string { return lang.L("Face in the corner") }},
	{"side-by-side", theme.ViewFullScreenIcon(), func(string, string) string { return lang.L("Side by side") }},
	{"main", theme.ComputerIcon(), func(first, _ string) string { return fmt.Sprintf(lang.L("%s only"), first) }},
	{"overlay", theme.MediaVideoIcon(), func(_, second string) string { return fmt.Sprintf(lang.L("%s only"), second) }},
}

// PlaceholderLabels are what a scene's input says while it is down, in
// the studio's language, by kind of input (see scene.Labels).
func PlaceholderLabels() map[string]string {
	return map[string]string{
		"camera": lang.L("Camera disconnected"),
		"screen": lang.L("Screen unavailable"),
		"video":  lang.L("Video unavailable"),
	}
}

// inputNoun names a scene's input in a layout button.
func inputNoun(src engine.Source) string {
	switch src.Type {
	case "screen":
		return lang.L("Slides")
	case "camera", "rtsp":
		return lang.L("Camera")
	case "testpattern":
		return lang.L("Test pattern")
	}
	return lang.L("Video")
}

// sceneControls are a scene's layout buttons on its card: one click
// switches what students see, live.
type sceneControls struct {
	c       *card
	box     *fyne.Container
	buttons []*widget.Button
	current string // the layout shown as chosen
}

func newSceneControls(c *card) *sceneControls {
	sc := &sceneControls{c: c, box: container.NewHBox()}
	for _, l := range sceneLayouts {
		b := widget.NewButtonWithIcon("", l.icon, func() { sc.choose(l.layout) })
		sc.buttons = append(sc.buttons, b)
		sc.box.Add(b)
	}
	sc.box.Hide()
	return sc
}

func (sc *sceneControls) update(sn snapshot) {
	src := sn.Config.Source
	if src.Type != sceneType || len(src.Inputs) != 2 {
		sc.box.Hide()
		return
	}
	first, second := inputNoun(src.Inputs[0]), inputNoun(src.Inputs[1])
	layout := src.Options["layout"]
	if layout == "" {
		layout = sceneLayouts[0].layout
	}
	sc.show(layout, first, second)
	sc.box.Show()
}

// show marks layout as the chosen one.
func (sc *sceneControls) show(layout, first, second string) {
	sc.current = layout
	for i, l := range sceneLayouts {
		b := sc.buttons[i]
		b.SetText(l.label(first, second))
		imp := widget.MediumImportance
		if l.layout == layout {
			imp = widget.HighImportance
		}
		if b.Importance != imp {
			b.Importance = imp
			b.Refresh()
		}
	}
}

// choose switches the scene to layout: the button shows it at once, the
// stream a frame later.
func (sc *sceneControls) choose(layout string) {
	if layout == sc.current {
		return
	}
	c := sc.c
	src := c.last.Config.Source
	src.Options = maps.Clone(src.Options)
	if src.Options == nil {
		src.Options = map[string]string{}
	}
	src.Options["layout"] = layout
	sc.show(layout, inputNoun(src.Inputs[0]), inputNoun(src.Inputs[1]))
	c.s.do("switch layout", func() error {
		if err := c.s.host.CheckSource(src); err != nil {
			return err
		}
		return c.s.hub.SetSource(c.name, src)
	})
}

// sceneSource is the scene the new-stream form describes: the chosen
// screen with the microphone's sound, and the chosen camera in the corner.
func (f *newStreamForm) sceneSource() engine.Source {
	screen := engine.Source{Type: "screen", Options: map[string]string{"microphone": "none"}}
	if i := f.device.SelectedIndex(); i >= 0 && i < len(f.devices.Screens) {
		screen.Options["screen"] = f.devices.Screens[i].ID
	}
	if i := f.mic.SelectedIndex(); i >= 0 && i < len(f.devices.Microphones) {
		screen.Options["microphone"] = f.devices.Microphones[i].ID
	}
	cam := engine.Source{Type: "camera", Options: map[string]string{"microphone": "none"}}
	if i := f.camera.SelectedIndex(); i >= 0 && i < len(f.devices.Cameras) {
		cam.Options["camera"] = f.devices.Cameras[i].ID
	}
	opts := map[string]string{"layout": "pip"}
	if i := f.preset.SelectedIndex(); i >= 0 {
		opts["preset"] = f.devices.Presets[i].Name
	}
	return engine.Source{Type: sceneType, Options: opts, Inputs: []engine.Source{screen, cam}}
}

// fillDevices offers devices in sel, the first chosen.
func fillDevices(sel *widget.Select, devices []Device) {
	var names []string
	for _, d := range devices {
		names = append(names, d.Name)
	}
	sel.Options = names
	sel.ClearSelected()
	if len(names) > 0 {
		sel.SetSelectedIndex(0)
	} else {
		sel.PlaceHolder = lang.L("None found: plug one in, Chalkcast starts when it appears")
	}
	sel.Refresh()
}

// showThumbnail shows what the chosen screen shows, so that several
// screens are told apart by their pictures; the picture is taken off the
// UI goroutine.
func (f *newStreamForm) showThumbnail() {
	typ := f.types[f.kind.SelectedIndex()]
	i := f.device.SelectedIndex()
	if (typ != "screen" && typ != sceneType) || i < 0 || i >= len(f.devices.Screens) {
		f.thumb.Hide()
		return
	}
	id := f.devices.Screens[i].ID
	f.s.background(func() {
		img := f.s.host.Thumbnail(id)
		fyne.Do(func() {
			if f.device.SelectedIndex() != i {
				return // another screen was chosen meanwhile
			}
			f.thumb.Image = img
			f.thumb.Refresh()
			show(f.thumb, img != nil)
		})
	})
}
