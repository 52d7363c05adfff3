package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"chalkcast/engine"
)

// sourceChoice is one kind of stream the teacher can start.
type sourceChoice struct {
	typ  string
	icon fyne.Resource
	hint string
}

func sourceChoices() []sourceChoice {
	return []sourceChoice{
		{"camera", theme.MediaVideoIcon(), lang.L("A webcam or document camera, with the microphone")},
		{"screen", theme.ComputerIcon(), lang.L("Your slides or any window, with the microphone")},
		{sceneType, theme.ViewRestoreIcon(), lang.L("Your slides with your face in a corner, switched live")},
		{"rtsp", theme.VisibilityIcon(), lang.L("A classroom IP camera (Hikvision, Dahua, ONVIF) by its rtsp:// address")},
		{engine.PushSource, theme.UploadIcon(), lang.L("Send from OBS, ffmpeg or a phone app")},
		{"pull", theme.DownloadIcon(), lang.L("A stream from another server, by its rtmp:// or .flv address")},
		{"testpattern", theme.GridIcon(), lang.L("Moving colour bars and a beep: try Chalkcast without a camera")},
	}
}

// emptyState is the first thing a new user sees: one big button per kind
// of source.
func (s *Studio) emptyState() fyne.CanvasObject {
	head := widget.NewLabelWithStyle(lang.L("Go live in one click"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	sub := widget.NewLabelWithStyle(lang.L("Pick what students should see. You get a link and a QR code to paste into WeChat."), fyne.TextAlignCenter, fyne.TextStyle{})
	sub.Wrapping = fyne.TextWrapWord
	var buttons []fyne.CanvasObject
	for _, ch := range sourceChoices() {
		b := widget.NewButtonWithIcon(sourceText(engine.Source{Type: ch.typ}), ch.icon, func() { s.newStream(ch.typ) })
		b.Importance = widget.HighImportance
		hint := widget.NewLabel(ch.hint)
		hint.Wrapping = fyne.TextWrapWord
		buttons = append(buttons, container.NewVBox(b, hint))
	}
	grid := container.NewGridWithColumns(2, buttons...)
	return container.NewCenter(container.NewGridWrap(fyne.NewSize(640, 460), container.NewVBox(head, sub, grid)))
}

// defaultName is the first free "class-N".
func (s *Studio) defaultName() string {
	for i := 1; ; i++ {
		name := fmt.Sprintf("class-%d", i)
		if _, ok := s.hub.Get(name); !ok {
			return name
		}
	}
}

// newStream asks for a name and the source's settings, then creates the
// stream: it goes live at once for sources Chalkcast runs itself.
// Devices are listed off the UI goroutine (the first listing opens each
// camera to read its formats).
func (s *Studio) newStream(typ string) {
	s.background(func() {
		devices := s.host.Devices(false)
		fyne.Do(func() { s.showNewStream(typ, devices) })
	})
}

func (s *Studio) showNewStream(typ string, devices Devices) {
	if typ == "" {
		typ = "testpattern"
		if len(devices.Cameras) > 0 {
			typ = "camera"
		}
	}
	f := &newStreamForm{s: s, devices: devices}
	f.build(typ)
	cancel := widget.NewButtonWithIcon(lang.L("Cancel"), theme.CancelIcon(), nil)
	buttons := container.NewCenter(container.NewHBox(cancel, f.goLive))
	d := dialog.NewCustomWithoutButtons(lang.L("New stream"), container.NewBorder(nil, buttons, nil, nil, container.NewVScroll(f.body)), s.win)
	cancel.OnTapped = d.Hide
	f.dialog = d
	d.Resize(fyne.NewSize(560, 520))
	s.withKeys(d, f.goLive.OnTapped, d.Hide)
	d.Show()
}

// newStreamForm is the new-stream dialog's fields. It shows only those
// of the chosen source: the form is made again when the source changes
// (a hidden form item would still show its label).
type newStreamForm struct {
	s      *Studio
	dialog dialog.Dialog
	body   *fyne.Container // the form
	goLive *widget.Button
	// the form's items, given the source
	items func(typ string) []*widget.FormItem

	name    *widget.Entry
	title   *widget.Entry
	kind    *widget.Select
	device  *widget.Select // the camera or screen
	thumb   *canvas.Image  // what the chosen screen shows
	camera  *widget.Select // a scene's camera
	mic     *widget.Select
	noMic   *widget.Label // shown when the computer has no microphone
	preset  *widget.Select
	devices Devices
	types   []string

	// another server's stream
	pullURL *widget.Entry

	// IP camera
	url       *widget.Entry
	transport *widget.RadioGroup
	onDemand  *widget.Check
	testBtn   *widget.Button
	tested    *widget.Label
}

func (f *newStreamForm) build(typ string) {
	f.name = widget.NewEntry()
	f.name.SetText(f.s.defaultName())
	f.name.Validator = func(v string) error {
		if err := engine.ValidateName(v); err != nil {
			return errors.New(lang.L("Use letters, digits, - or _"))
		}
		return nil
	}
	f.title = widget.NewEntry()
	f.title.SetPlaceHolder(lang.L("Shown to students, e.g. Grade 8 Maths"))
	var labels []string
	for _, ch := range sourceChoices() {
		f.types = append(f.types, ch.typ)
		labels = append(labels, sourceText(engine.Source{Type: ch.typ}))
	}
	f.device = widget.NewSelect(nil, nil)
	f.thumb = canvas.NewImageFromImage(nil)
	f.thumb.FillMode = canvas.ImageFillContain
	f.thumb.SetMinSize(fyne.NewSize(240, 135))
	f.device.OnChanged = func(string) { f.showThumbnail() }
	f.camera = widget.NewSelect(nil, nil)
	var mics []string
	for _, m := range f.devices.Microphones {
		mics = append(mics, m.Name)
	}
	mics = append(mics, lang.L("No sound"))
	f.mic = widget.NewSelect(mics, nil)
	f.mic.SetSelectedIndex(0)
	// Without a microphone the stream is named for what it sends ("Camera,
	// no sound") and the teacher is told before going live.
	f.noMic = widget.NewLabel(lang.L("No microphone found: students will see the picture but hear nothing."))
	f.noMic.Wrapping = fyne.TextWrapWord
	f.noMic.Importance = widget.WarningImportance
	var presets []string
	for _, p := range f.devices.Presets {
		presets = append(presets, lang.L(p.Description))
	}
	f.preset = widget.NewSelect(presets, nil)
	for i, p := range f.devices.Presets {
		if p.Name == "720p" {
			f.preset.SetSelectedIndex(i)
		}
	}
	f.buildCamera()
	urlItem := widget.NewFormItem(lang.L("Camera address"), f.url)
	urlItem.HintText = lang.L("From the camera's manual or web page; the password stays on this computer")
	f.pullURL = widget.NewEntry()
	f.pullURL.SetPlaceHolder("rtmp://media.example.com/live/assembly")
	pullItem := widget.NewFormItem(lang.L("Stream address"), f.pullURL)
	pullItem.HintText = lang.L("rtmp://, rtmps:// or an http(s):// address ending in .flv")
	// how to connect is a detail most cameras never need: folded away
	details := widget.NewAccordion(widget.NewAccordionItem(lang.L("Connection details"),
		widget.NewForm(widget.NewFormItem(lang.L("Network transport"), f.transport), widget.NewFormItem("", f.onDemand))))
	cameraItems := []*widget.FormItem{
		urlItem,
		widget.NewFormItem("", container.NewVBox(f.testBtn, f.tested)),
		widget.NewFormItem("", details),
	}
	deviceItem := widget.NewFormItem(lang.L("Device"), container.NewVBox(f.device, f.thumb))
	micItem := widget.NewFormItem(lang.L("Microphone"), container.NewVBox(f.mic, f.noMic))
	presetItem := widget.NewFormItem(lang.L("Quality"), f.preset)
	f.kind = widget.NewSelect(labels, nil)
	sourceItem := widget.NewFormItem(lang.L("Source"), f.kind)
	f.items = func(t string) []*widget.FormItem {
		items := []*widget.FormItem{sourceItem}
		switch t {
		case "camera", "screen":
			items = append(items, deviceItem, micItem, presetItem)
		case sceneType:
			items = append(items, widget.NewFormItem(lang.L("Screen"), container.NewVBox(f.device, f.thumb)), widget.NewFormItem(lang.L("Camera"), f.camera), micItem, presetItem)
		case "testpattern":
			items = append(items, presetItem)
		case "pull":
			items = append(items, pullItem)
		case "rtsp":
			items = append(items, cameraItems...)
		}
		return append(items, widget.NewFormItem(lang.L("Name in the link"), f.name), widget.NewFormItem(lang.L("Title"), f.title))
	}
	f.goLive = widget.NewButtonWithIcon(lang.L("Go live"), theme.ConfirmIcon(), func() {
		if f.form().Validate() == nil {
			f.dialog.Hide()
			f.submit()
		}
	})
	f.goLive.Importance = widget.HighImportance
	f.body = container.NewStack()
	f.kind.OnChanged = func(string) { f.showFields(f.types[f.kind.SelectedIndex()]) }
	for i, t := range f.types {
		if t == typ {
			f.kind.SetSelectedIndex(i)
		}
	}
}

// showFields makes the form for source t.
func (f *newStreamForm) showFields(t string) {
	switch t {
	case "camera":
		fillDevices(f.device, f.devices.Cameras)
	case "screen":
		fillDevices(f.device, f.devices.Screens)
	case sceneType:
		fillDevices(f.device, f.devices.Screens)
		fillDevices(f.camera, f.devices.Cameras)
	}
	show(f.noMic, len(f.devices.Microphones) == 0)
	form := widget.NewForm(f.items(t)...)
	form.SetOnValidationChanged(func(err error) {
		if err != nil {
			f.goLive.Disable()
		} else {
			f.goLive.Enable()
		}
	})
	if form.Validate() != nil {
		f.goLive.Disable()
	} else {
		f.goLive.Enable()
	}
	f.body.Objects = []fyne.CanvasObject{form}
	f.body.Refresh()
}

// form is the form on show.
func (f *newStreamForm) form() *widget.Form { return f.body.Objects[0].(*widget.Form) }

// transports are the IP camera transport choices and their option values.
var transports = []struct{ label, value string }{
	{"Automatic", "auto"}, {"TCP", "tcp"}, {"UDP", "udp"},
}

func (f *newStreamForm) buildCamera() {
	f.url = widget.NewEntry()
	f.url.SetPlaceHolder("rtsp://admin:password@192.168.1.64:554/Streaming/Channels/101")
	var labels []string
	for _, t := range transports {
		labels = append(labels, lang.L(t.label))
	}
	f.transport = widget.NewRadioGroup(labels, nil)
	f.transport.Horizontal = true
	f.transport.SetSelected(labels[0])
	f.onDemand = widget.NewCheck(lang.L("Connect only while someone watches"), nil)
	f.testBtn = widget.NewButtonWithIcon(lang.L("Test connection"), theme.SearchIcon(), f.test)
	f.tested = widget.NewLabel("")
	f.tested.Wrapping = fyne.TextWrapWord
}

// test tries the camera off the UI goroutine and shows what it found; the
// button waits meanwhile, so an old answer never replaces a newer one.
func (f *newStreamForm) test() {
	src := f.source()
	f.tested.SetText(lang.L("Connecting to the camera…"))
	f.testBtn.Disable()
	f.s.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rep, err := f.s.host.TestSource(ctx, src)
		fyne.Do(func() {
			f.testBtn.Enable()
			if err != nil {
				f.tested.SetText("✗ " + plain(err))
				return
			}
			f.tested.SetText("✓ " + reportText(rep))
		})
	})
}

// reportText says in a line or two what a connection test found.
func reportText(rep *engine.SourceReport) string {
	parts := []string{}
	if v := rep.Video; v != nil {
		s := v.Codec
		if v.Width > 0 {
			s += fmt.Sprintf(" %d×%d", v.Width, v.Height)
		}
		if v.Profile != "" {
			s += " (" + v.Profile + ")"
		}
		parts = append(parts, lang.L("Video")+": "+s)
	}
	if a := rep.Audio; a != nil {
		parts = append(parts, fmt.Sprintf("%s: %s %d Hz", lang.L("Sound"), strings.ToUpper(a.Codec), a.SampleRate))
	}
	if rep.Transport != "" {
		parts = append(parts, lang.L("over")+" "+rep.Transport)
	}
	text := strings.Join(parts, " · ")
	for _, n := range rep.Notes {
		text += "\n" + n
	}
	return text
}

func show(o fyne.CanvasObject, on bool) {
	if on {
		o.Show()
	} else {
		o.Hide()
	}
}

// source is the engine source the form describes.
func (f *newStreamForm) source() engine.Source {
	typ := f.types[f.kind.SelectedIndex()]
	src := engine.Source{Type: typ}
	switch typ {
	case engine.PushSource:
		return src
	case sceneType:
		return f.sceneSource()
	case "pull":
		src.URL = strings.TrimSpace(f.pullURL.Text)
		return src
	case "rtsp":
		src.URL = strings.TrimSpace(f.url.Text)
		src.Options = map[string]string{}
		for i, t := range transports {
			if lang.L(t.label) == f.transport.Selected && i > 0 {
				src.Options["transport"] = t.value
			}
		}
		if f.onDemand.Checked {
			src.Options["on_demand"] = "1"
		}
		return src
	}
	src.Options = map[string]string{}
	if i := f.preset.SelectedIndex(); i >= 0 {
		src.Options["preset"] = f.devices.Presets[i].Name
	}
	var list []Device
	switch typ {
	case "camera":
		list = f.devices.Cameras
	case "screen":
		list = f.devices.Screens
	}
	if i := f.device.SelectedIndex(); i >= 0 && i < len(list) {
		src.Options[typ] = list[i].ID
	}
	if typ == "camera" || typ == "screen" {
		if i := f.mic.SelectedIndex(); i >= 0 && i < len(f.devices.Microphones) {
			src.Options["microphone"] = f.devices.Microphones[i].ID
		} else {
			src.Options["microphone"] = "none"
		}
	}
	return src
}

func (f *newStreamForm) submit() {
	cfg := engine.StreamConfig{Name: strings.TrimSpace(f.name.Text), Title: strings.TrimSpace(f.title.Text), Source: f.source()}
	f.s.do("create stream", func() error {
		if err := f.s.host.CheckSource(cfg.Source); err != nil {
			return err
		}
		if _, err := f.s.hub.Create(cfg); err != nil {
			return err
		}
		fyne.Do(func() { f.s.reveal = cfg.Name })
		return nil
	})
}

// plain turns an engine error into words for a teacher.
func plain(err error) string {
	switch {
	case errors.Is(err, engine.ErrExists):
		return lang.L("A stream with this name already exists. Choose another name.")
	case errors.Is(err, engine.ErrLimit):
		return lang.L("Chalkcast is at its limit of streams or viewers.")
	}
	return plainText(err.Error())
}

// plainText drops the technical prefixes errors carry.
func plainText(s string) string {
	s = strings.TrimPrefix(s, engine.ErrInvalid.Error()+": ")
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
