package ui

import (
	"bytes"
	"fmt"
	"image/color"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	qrcode "github.com/skip2/go-qrcode"

	"chalkcast/engine"
)

// card is one stream in the window.
type card struct {
	s    *Studio
	name string
	root fyne.CanvasObject

	title, state, source, details, viewers *widget.Label
	dot                                    *canvas.Circle
	graph                                  *Graph
	rate                                   *widget.Label
	link                                   *widget.Label
	linkBox                                *fyne.Container // shortens link to its width
	copyLink                               *widget.Button
	url                                    string // the share link
	copies                                 int    // taps on Copy link, so only the last one's feedback ends
	qr                                     *canvas.Image
	qrURL                                  string
	rtmp                                   *fyne.Container
	server, key                            *widget.Label
	whip                                   *widget.Label // nil without WebRTC
	startStop                              *widget.Button
	record                                 *recordControls
	push                                   *pushControls
	scene                                  *sceneControls
	monitor                                *monitorView
	last                                   snapshot
}

func newCard(s *Studio, name string) *card {
	c := &card{s: s, name: name}
	c.title = widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.dot = canvas.NewCircle(color.Gray{Y: 128})
	dot := container.NewGridWrap(fyne.NewSize(12, 12), c.dot)
	c.state = widget.NewLabel("")
	c.source = widget.NewLabel("")
	c.details = widget.NewLabel("")
	c.details.Wrapping = fyne.TextWrapWord
	c.viewers = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.graph = NewGraph(60, false)
	c.rate = widget.NewLabel("")
	c.link = widget.NewLabel("")
	c.link.Truncation = fyne.TextTruncateEllipsis // for a name too long for any room
	c.linkBox = container.New(linkLayout{c}, c.link)
	c.copyLink = widget.NewButtonWithIcon(lang.L("Copy link"), theme.ContentCopyIcon(), c.copy)
	c.copyLink.Importance = widget.HighImportance
	c.qr = canvas.NewImageFromResource(nil)
	c.qr.FillMode = canvas.ImageFillContain
	c.qr.SetMinSize(fyne.NewSize(150, 150))
	qrTap := widget.NewButtonWithIcon(lang.L("Large QR code"), theme.ZoomInIcon(), c.showQR)
	coverTap := widget.NewButtonWithIcon(lang.L("Cover picture"), theme.FileImageIcon(), c.showCover)

	c.server = widget.NewLabel("")
	c.key = widget.NewLabel("")
	copyServer := widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() { c.s.app.Clipboard().SetContent(c.server.Text) })
	copyKey := widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() { c.s.app.Clipboard().SetContent(c.last.Config.Key) })
	showKey := widget.NewButtonWithIcon("", theme.VisibilityIcon(), func() {
		if c.key.Text == c.last.Config.Key {
			c.key.SetText(mask(c.last.Config.Key))
		} else {
			c.key.SetText(c.last.Config.Key)
		}
	})
	resetKey := widget.NewButtonWithIcon(lang.L("New key"), theme.ViewRefreshIcon(), c.confirmResetKey)
	c.rtmp = container.New(layoutForm(),
		widget.NewLabel(lang.L("OBS server")), container.NewBorder(nil, nil, nil, copyServer, c.server),
		widget.NewLabel(lang.L("Stream key")), container.NewBorder(nil, nil, nil, container.NewHBox(showKey, copyKey, resetKey), c.key),
	)
	if s.host.WHIP() {
		// OBS 30+ and browsers publish over WebRTC too, the key as the
		// bearer token (so that the address can be shown)
		c.whip = widget.NewLabel("")
		copyWHIP := widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() { c.s.app.Clipboard().SetContent(c.whip.Text) })
		note := widget.NewLabel(lang.L("For OBS's WHIP service: this server, with the stream key as its Bearer Token."))
		note.Wrapping = fyne.TextWrapWord
		note.SizeName = theme.SizeNameCaptionText
		c.rtmp.Add(widget.NewLabel(lang.L("WHIP server")))
		c.rtmp.Add(container.NewBorder(nil, nil, nil, copyWHIP, c.whip))
		c.rtmp.Add(widget.NewLabel(""))
		c.rtmp.Add(note)
	}

	c.startStop = widget.NewButtonWithIcon(lang.L("Stop"), theme.MediaStopIcon(), c.toggle)
	remove := widget.NewButtonWithIcon(lang.L("Remove"), theme.DeleteIcon(), c.confirmRemove)
	viewers := widget.NewButtonWithIcon(lang.L("Viewers"), theme.AccountIcon(), c.showViewers)
	bigGraph := widget.NewButtonWithIcon(lang.L("Bitrate"), theme.MediaFastForwardIcon(), c.showGraph)

	// name, state and the buttons share a row where they fit, and wrap
	// in a narrow window
	head := container.New(&reflow{toLast: true}, c.title, container.NewHBox(container.NewCenter(dot), c.state),
		container.NewBorder(nil, nil, nil, container.NewHBox(c.startStop, remove)))
	c.record = newRecordControls(c)
	c.push = newPushControls(c)
	c.scene = newSceneControls(c)
	c.monitor = newMonitorView(c, fyne.NewSize(256, 144), c.showMonitor)
	info := container.NewVBox(c.monitor.box, c.scene.box, c.source, c.details, c.viewers,
		container.NewBorder(nil, nil, nil, c.rate, c.graph),
		container.NewHBox(viewers, bigGraph), c.record.box)
	share := container.NewVBox(
		widget.NewLabelWithStyle(lang.L("Share with students"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, c.copyLink, c.linkBox),
		c.push.cdn,
		c.rtmp,
		c.push.box)
	// The share column wants room for a whole link: below that, it goes
	// under the stream's details instead of squeezing the link.
	room := canvas.NewRectangle(color.Transparent)
	room.SetMinSize(fyne.NewSize(320, 0))
	body := container.New(&reflow{}, info, container.NewBorder(nil, nil, nil, container.NewVBox(c.qr, qrTap, coverTap), container.NewStack(room, share)))
	c.root = widget.NewCard("", "", container.NewVBox(head, body))
	return c
}

func layoutForm() fyne.Layout { return &formLayout{} }

// formLayout puts labels and fields in two columns, like widget.Form but
// without its entry styling.
type formLayout struct{}

func (formLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	lw := float32(0)
	for i := 0; i < len(objs); i += 2 {
		lw = max(lw, objs[i].MinSize().Width)
	}
	y := float32(0)
	for i := 0; i+1 < len(objs); i += 2 {
		h := max(objs[i].MinSize().Height, objs[i+1].MinSize().Height)
		objs[i].Move(fyne.NewPos(0, y))
		objs[i].Resize(fyne.NewSize(lw, h))
		objs[i+1].Move(fyne.NewPos(lw+theme.Padding(), y))
		objs[i+1].Resize(fyne.NewSize(size.Width-lw-theme.Padding(), h))
		y += h + theme.Padding()
	}
}

func (formLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	lw, fw, h := float32(0), float32(0), float32(0)
	for i := 0; i+1 < len(objs); i += 2 {
		lw = max(lw, objs[i].MinSize().Width)
		fw = max(fw, objs[i+1].MinSize().Width)
		h += max(objs[i].MinSize().Height, objs[i+1].MinSize().Height) + theme.Padding()
	}
	return fyne.NewSize(lw+fw+theme.Padding(), h)
}

// stateText is a stream's state in plain words, and its colour.
func stateText(sn snapshot) (string, color.Color) {
	switch {
	case sn.Stopped:
		return lang.L("Stopped"), theme.Color(theme.ColorNameDisabled)
	case sn.State == engine.StateLive:
		return lang.L("Live"), theme.Color(theme.ColorNameSuccess)
	case sn.State == engine.StateReconnecting:
		return lang.L("Reconnecting…"), theme.Color(theme.ColorNameWarning)
	case sn.State == engine.StateError:
		return lang.L("Problem") + ": " + plainText(sn.LastError), theme.Color(theme.ColorNameError)
	case sn.Source.Type == engine.PushSource:
		return lang.L("Waiting for OBS or the phone to start sending"), theme.Color(theme.ColorNamePlaceHolder)
	case sn.Standby:
		return lang.L("Ready: the camera connects when a student opens the link"), theme.Color(theme.ColorNamePlaceHolder)
	}
	return lang.L("Starting…"), theme.Color(theme.ColorNamePlaceHolder)
}

// sourceText describes where the stream comes from.
func sourceText(src engine.Source) string {
	switch src.Type {
	case "testpattern":
		return lang.L("Test pattern")
	case "camera":
		if src.Options["microphone"] == "none" {
			return lang.L("Camera, no sound")
		}
		return lang.L("Camera + microphone")
	case "screen":
		if src.Options["microphone"] == "none" {
			return lang.L("Screen, no sound")
		}
		return lang.L("Screen + microphone")
	case engine.PushSource:
		return lang.L("RTMP or WHIP push (OBS, ffmpeg or a phone)")
	case "pull":
		if src.URL == "" {
			return lang.L("Another server")
		}
		return lang.L("From") + " " + src.URL // shown without credentials
	case sceneType:
		if len(src.Inputs) == 2 {
			return fmt.Sprintf(lang.L("%s + %s"), inputNoun(src.Inputs[0]), inputNoun(src.Inputs[1]))
		}
		return lang.L("Slides + camera")
	case "rtsp":
		if src.URL == "" {
			return lang.L("IP camera (RTSP)")
		}
		return lang.L("IP camera") + " " + src.URL // shown without credentials
	}
	return src.Type
}

// cardSourceText is a live stream's source as the card tells it: a camera
// or screen that was to send the microphone but has been live for a few
// seconds without any sound says so, instead of promising a microphone.
func cardSourceText(sn snapshot) string {
	local := sn.Source.Type == "camera" || sn.Source.Type == "screen"
	if local && sn.Source.Options["microphone"] != "none" && sn.State == engine.StateLive && sn.Audio == nil && sn.UptimeSec >= 3 {
		if sn.Source.Type == "camera" {
			return lang.L("Camera, no microphone found: students see it without sound")
		}
		return lang.L("Screen, no microphone found: students see it without sound")
	}
	return sourceText(sn.Source)
}

func (c *card) update(sn snapshot) {
	prev := c.last
	c.last = sn
	st, col := stateText(sn)
	if c.state.Text != st {
		c.state.SetText(st)
	}
	c.dot.FillColor = col
	c.dot.Refresh()
	title := sn.Name
	if sn.Title != "" {
		title = sn.Title + " (" + sn.Name + ")"
	}
	c.title.SetText(title)
	c.source.SetText(cardSourceText(sn))
	c.details.SetText(detailText(sn))
	c.viewers.SetText(fmt.Sprintf(lang.L("%d watching · peak %d"), sn.Viewers.Total, sn.Viewers.Peak))
	kbps := make([]float64, len(sn.History))
	for i, h := range sn.History {
		kbps[i] = h.BitrateKbps
	}
	c.graph.SetSamples(kbps)
	c.rate.SetText(formatKbps(sn.BitrateKbps))
	if sn.Stopped {
		c.startStop.SetText(lang.L("Start"))
		c.startStop.SetIcon(theme.MediaPlayIcon())
	} else {
		c.startStop.SetText(lang.L("Stop"))
		c.startStop.SetIcon(theme.MediaStopIcon())
	}
	c.record.update(sn)
	c.push.update(sn)
	c.scene.update(sn)
	c.monitor.update(sn)
	url := c.s.watchURL(sn.Name)
	if url != c.url {
		c.url = url
		c.linkBox.Refresh() // lays the link out again
	}
	if url != c.qrURL {
		c.qrURL = url
		if png, err := qrcode.Encode(url, qrcode.Medium, 512); err == nil {
			c.qr.Resource = fyne.NewStaticResource(sn.Name+"-qr.png", png)
			c.qr.Refresh()
		}
	}
	if sn.Source.Type == engine.PushSource {
		c.server.SetText(c.s.rtmpServer())
		if c.whip != nil {
			c.whip.SetText(c.s.whipServer())
		}
		if prev.Config.Key != sn.Config.Key || c.key.Text == "" {
			c.key.SetText(mask(sn.Config.Key))
		}
		c.rtmp.Show()
	} else {
		c.rtmp.Hide()
	}
}

func mask(key string) string {
	if len(key) < 4 {
		return "••••"
	}
	return strings.Repeat("•", 12) + key[len(key)-4:]
}

func (s *Studio) watchURL(name string) string {
	http, _ := s.host.Ports()
	return "http://" + net.JoinHostPort(s.address, strconv.Itoa(http)) + "/watch/" + name
}

func (s *Studio) rtmpServer() string {
	_, rtmp := s.host.Ports()
	return "rtmp://" + net.JoinHostPort(s.address, strconv.Itoa(rtmp)) + "/live"
}

func (s *Studio) whipServer() string {
	http, _ := s.host.Ports()
	return "http://" + net.JoinHostPort(s.address, strconv.Itoa(http)) + "/whip"
}

// toggle starts a stopped stream, and stops a running one once the
// teacher confirms: stopping ends the class for every student.
func (c *card) toggle() {
	if c.last.Stopped {
		c.s.do("start", func() error { return c.s.hub.SetStopped(c.name, false) })
		return
	}
	c.s.confirm(lang.L("Stop the class?"),
		fmt.Sprintf(lang.L("Every student watching “%s” loses the picture and the sound until you start it again."), c.name),
		lang.L("Stop the class"), lang.L("Keep streaming"),
		func() { c.s.do("stop", func() error { return c.s.hub.SetStopped(c.name, true) }) })
}

// copyFeedback is how long Copy link says "Link copied".
const copyFeedback = 2 * time.Second

// copy puts the share link on the clipboard and says so on the button for
// a moment: a clipboard gives no sign by itself.
func (c *card) copy() {
	c.s.app.Clipboard().SetContent(c.url)
	c.copyLink.SetText(lang.L("Link copied"))
	c.copyLink.SetIcon(theme.ConfirmIcon())
	c.copies++
	n := c.copies
	c.s.later(copyFeedback, func() {
		if n == c.copies {
			c.copyLink.SetText(lang.L("Copy link"))
			c.copyLink.SetIcon(theme.ContentCopyIcon())
		}
	})
}

func (c *card) confirmRemove() {
	c.s.confirm(lang.L("Remove stream?"),
		fmt.Sprintf(lang.L("Remove “%s”? Students watching it are disconnected and its link stops working."), c.name),
		lang.L("Remove the stream"), lang.L("Keep it"),
		func() { c.s.do("remove", func() error { return c.s.hub.Delete(c.name) }) })
}

func (c *card) confirmResetKey() {
	c.s.confirm(lang.L("New stream key?"),
		lang.L("Whoever uses the old key is disconnected. Paste the new key into OBS or the phone."),
		lang.L("Make a new key"), lang.L("Keep the old key"),
		func() { c.s.do("reset key", func() error { _, err := c.s.hub.ResetKey(c.name); return err }) })
}

func (c *card) showQR() {
	png, err := qrcode.Encode(c.qrURL, qrcode.Medium, 1024)
	if err != nil {
		c.s.showError(err)
		return
	}
	img := canvas.NewImageFromReader(bytes.NewReader(png), c.name+"-qr.png")
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(480, 480))
	c.s.showCustom(dialog.NewCustom(c.qrURL, lang.L("Close"), img, c.s.win))
}

func (c *card) showViewers() {
	rows := container.NewVBox()
	var shown []uint64 // viewer ids on screen; the labels are rebuilt only when they change
	update := func() {
		list := c.last.ViewerList
		ids := make([]uint64, len(list))
		for i, v := range list {
			ids[i] = v.ID
		}
		if shown != nil && slices.Equal(ids, shown) {
			return
		}
		shown = ids
		objs := []fyne.CanvasObject{}
		if len(list) == 0 {
			objs = append(objs, widget.NewLabel(lang.L("Nobody is watching yet.")))
		}
		for _, v := range list {
			objs = append(objs, widget.NewLabel(fmt.Sprintf("%s · %s · %s", v.Remote, strings.ToUpper(v.Protocol), v.Since.Local().Format("15:04:05"))))
		}
		rows.Objects = objs
		rows.Refresh()
	}
	update()
	scroll := container.NewVScroll(rows)
	scroll.SetMinSize(fyne.NewSize(420, 300))
	d := dialog.NewCustom(fmt.Sprintf(lang.L("Viewers of %s"), c.name), lang.L("Close"), scroll, c.s.win)
	// the card's snapshot is renewed every second; the list follows it
	c.s.whileOpen(d, listRefresh, update, nil)
	c.s.showCustom(d)
}

// showGraph shows the bitrate and the viewers of the last 5 minutes with
// their scales, updated while open.
func (c *card) showGraph() {
	g := NewGraph(300, true)
	viewers := NewGraph(300, true)
	viewers.Format = func(v float64) string { return fmt.Sprintf(lang.L("%.0f watching"), v) }
	update := func() {
		kbps := make([]float64, len(c.last.History))
		watching := make([]float64, len(c.last.History))
		for i, h := range c.last.History {
			kbps[i] = h.BitrateKbps
			watching[i] = float64(h.Viewers)
		}
		g.SetSamples(kbps)
		viewers.SetSamples(watching)
	}
	update()
	plot := func(g *Graph) fyne.CanvasObject { return container.NewGridWrap(fyne.NewSize(600, 180), g) }
	box := container.NewVBox(widget.NewLabel(lang.L("Bitrate")), plot(g), widget.NewLabel(lang.L("Watching")), plot(viewers))
	d := dialog.NewCustom(fmt.Sprintf(lang.L("Bitrate and viewers of %s, last 5 minutes"), c.name), lang.L("Close"), box, c.s.win)
	c.s.whileOpen(d, time.Second, update, nil)
	c.s.showCustom(d)
}
