package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"chalkcast/engine"
)

// monitorEvery is how often previews and meters are brought up to date:
// 10 times a second. Each update repaints the window, which a computer
// without a graphics card (or a virtual screen) does in software.
const monitorEvery = time.Second / 10

// monitorView is a stream's picture and sound, on its card or in the
// large monitor: the preview, the level meter, the mute button and, in
// plain words, what students hear.
type monitorView struct {
	c       *card
	pic     *canvas.Image
	note    *widget.Label // over the picture when there is none
	meter   *Meter
	sound   *canvas.Text // "Muted", "No sound: …"
	mute    *widget.Button
	box     fyne.CanvasObject
	release func() // ends the look at the preview; nil while not looking
	width   int    // the width the look asked for, in pixels
	shown   image.Image
}

// newMonitorView shows c's stream at least size large; onTap, if not
// nil, is what a tap on the picture does.
func newMonitorView(c *card, size fyne.Size, onTap func()) *monitorView {
	m := &monitorView{c: c}
	m.pic = canvas.NewImageFromImage(nil)
	m.pic.FillMode = canvas.ImageFillContain
	m.pic.ScaleMode = canvas.ImageScaleFastest // the picture comes at the size it is shown
	m.note = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
	bg := canvas.NewRectangle(color.Black)
	bg.SetMinSize(size)
	var screen fyne.CanvasObject = container.NewStack(bg, m.pic, container.NewCenter(m.note))
	if onTap != nil {
		screen = newTapArea(screen, onTap)
	}
	m.meter = NewMeter()
	m.sound = canvas.NewText("", theme.Color(theme.ColorNameError))
	m.sound.TextStyle = fyne.TextStyle{Bold: true}
	m.mute = widget.NewButtonWithIcon(lang.L("Mute"), theme.VolumeMuteIcon(), c.toggleMute)
	m.box = container.NewVBox(screen, container.NewBorder(nil, nil, nil, m.mute, m.meter), m.sound)
	return m
}

// soundText is what students hear, in plain words, and its colour; empty
// while the sound is fine.
func soundText(sn snapshot) (string, color.Color) {
	a := sn.Audio
	switch {
	case !sn.State.Active():
		return "", nil
	case a != nil && a.Muted:
		return lang.L("Muted: students hear silence"), theme.Color(theme.ColorNameError)
	case a != nil && a.Silent:
		return lang.L("No sound") + ": " + lang.L(a.SilentReason), theme.Color(theme.ColorNameWarning)
	case a == nil && sn.UptimeSec >= 3:
		return lang.L("This stream has no sound"), theme.Color(theme.ColorNamePlaceHolder)
	}
	return "", nil
}

// detailText is resolution, frame rate, codecs, uptime, dropped frames,
// and what an encoder's B-frames cost the students.
func detailText(sn snapshot) string {
	var parts []string
	if v := sn.Video; v != nil {
		parts = append(parts, fmt.Sprintf("%d×%d", v.Width, v.Height), fmt.Sprintf("%.0f fps", v.FPS), strings.ToUpper(v.Codec))
	}
	if a := sn.Audio; a != nil {
		parts = append(parts, strings.ToUpper(a.Codec))
	}
	if sn.LiveSince != nil {
		up := time.Duration(sn.UptimeSec) * time.Second
		parts = append(parts, fmt.Sprintf(lang.L("up %s"), fmt.Sprintf("%d:%02d:%02d", int(up.Hours()), int(up.Minutes())%60, int(up.Seconds())%60)))
	}
	if e := sn.Encoder; e != nil && e.DroppedFrames > 0 {
		parts = append(parts, fmt.Sprintf(lang.L("%d frames dropped (computer too slow for this quality)"), e.DroppedFrames))
	}
	if v := sn.Video; v != nil && v.BFrames {
		parts = append(parts, lang.L("B-frames: students see everything half a second later (set bframes=0 in the encoder)"))
	}
	return strings.Join(parts, " · ")
}

// update follows a new snapshot (once a second or after an event).
func (m *monitorView) update(sn snapshot) {
	text, col := soundText(sn)
	if m.sound.Text != text || (col != nil && m.sound.Color != col) {
		m.sound.Text = text
		if col != nil {
			m.sound.Color = col
		}
		m.sound.Refresh()
	}
	show(m.sound, text != "") // no empty line under the meter
	label, icon := lang.L("Mute"), theme.VolumeMuteIcon()
	if sn.Config.Muted { // the choice, live or not
		label, icon = lang.L("Unmute"), theme.VolumeUpIcon()
	}
	if m.mute.Text != label {
		m.mute.SetText(label)
		m.mute.SetIcon(icon)
	}
	note := ""
	switch {
	case sn.Stopped:
		note = lang.L("Stopped: no picture")
	case !sn.State.Active():
		note = lang.L("Not live yet")
	case sn.Video == nil && sn.UptimeSec >= 3:
		note = lang.L("This stream has no picture")
	}
	if m.note.Text != note {
		m.note.SetText(note)
	}
	if !sn.State.Active() && m.shown != nil {
		m.shown = nil
		m.pic.Image = nil
		m.pic.Refresh()
	}
}

// tick runs on the Fyne goroutine: it looks at the stream while its
// picture is on screen and shows the newest picture and level.
func (m *monitorView) tick(onScreen bool) {
	live := m.c.last.State.Active()
	width := m.shownWidth()
	if m.release != nil && (!onScreen || !live || width != m.width) {
		m.release()
		m.release = nil
	}
	if onScreen && live && m.release == nil {
		m.release, m.width = m.c.s.host.Look(m.c.name, width), width
	}
	if m.release == nil {
		return
	}
	if img := m.c.s.host.Preview(m.c.name); img != nil && img != m.shown {
		same := samePicture(img, m.shown) // a slide that stays: no repaint
		m.shown = img
		if !same {
			m.pic.Image = img
			m.pic.Refresh()
		}
	}
	if st, ok := m.c.s.hub.Get(m.c.name); ok {
		l, have := st.AudioLevel()
		m.meter.Set(l, have && m.c.last.Audio != nil)
	}
}

// samePicture reports whether two pictures have the same pixels. Each
// new picture repaints the whole window, which costs far more than this
// comparison.
func samePicture(a, b image.Image) bool {
	x, ok1 := a.(*image.RGBA)
	y, ok2 := b.(*image.RGBA)
	return ok1 && ok2 && x.Rect == y.Rect && bytes.Equal(x.Pix, y.Pix)
}

// shownWidth is how many pixels wide a 16:9 picture is shown: pictures
// are made at this width, so that nothing is scaled twice.
func (m *monitorView) shownWidth() int {
	sz := m.pic.Size()
	w := min(sz.Width, sz.Height*16/9)
	return int(math.Ceil(float64(w * m.c.s.win.Canvas().Scale())))
}

// stop ends the look (the card or the large monitor is gone).
func (m *monitorView) stop() {
	if m.release != nil {
		m.release()
		m.release = nil
	}
}

// toggleMute mutes or unmutes the stream's sound.
func (c *card) toggleMute() {
	muted := c.last.Config.Muted
	c.s.do("mute", func() error { return c.s.hub.SetMuted(c.name, !muted) })
}

// showMonitor opens a large view of the stream's picture and sound.
func (c *card) showMonitor() {
	m := newMonitorView(c, fyne.NewSize(640, 360), nil)
	d := dialog.NewCustom(fmt.Sprintf(lang.L("What students see and hear: %s"), c.name), lang.L("Close"), m.box, c.s.win)
	c.s.whileOpen(d, monitorEvery, func() {
		m.update(c.last)
		m.tick(!c.s.hidden)
	}, m.stop)
	c.s.showCustom(d)
}

// Meter shows a level in dBFS from -60 to 0: a bar for the loudness, a
// line for the peak, and the peak in numbers.
type Meter struct {
	widget.BaseWidget
	level engine.AudioLevel
	have  bool
}

// meterFloor is the bottom of the meter's scale.
const meterFloor = -60.0

// NewMeter returns a meter showing no sound.
func NewMeter() *Meter {
	m := &Meter{}
	m.ExtendBaseWidget(m)
	return m
}

// Set shows a new level; have is false for a stream without measured
// sound. The meter is repainted only when what it shows changes.
func (m *Meter) Set(l engine.AudioLevel, have bool) {
	old, oldHave := m.level, m.have
	m.level, m.have = l, have
	if m.looks(old, oldHave) != m.looks(l, have) {
		m.Refresh()
	}
}

// meterLook is what the meter shows of a level: the bar's and the peak
// line's length in pixels, the colour and the text.
type meterLook struct {
	loud, peak int
	col        color.Color
	text       string
}

func (m *Meter) looks(l engine.AudioLevel, have bool) meterLook {
	if !have {
		return meterLook{text: "—"}
	}
	w := m.Size().Width
	col := theme.Color(theme.ColorNameSuccess)
	switch {
	case l.Peak >= -1:
		col = theme.Color(theme.ColorNameError) // clipping
	case l.Peak >= -6:
		col = theme.Color(theme.ColorNameWarning)
	}
	text := fmt.Sprintf("%.0f dB", math.Max(l.Peak, -99))
	if l.Peak <= engine.SilenceFloor {
		text = lang.L("silence")
	}
	return meterLook{int(w * fraction(l.Loudness)), int(w * fraction(l.Peak)), col, text}
}

// fraction is where a level sits on the scale.
func fraction(dbfs float64) float32 {
	return float32(math.Max(0, math.Min(1, (dbfs-meterFloor)/-meterFloor)))
}

// CreateRenderer builds the meter.
func (m *Meter) CreateRenderer() fyne.WidgetRenderer {
	r := &meterRenderer{m: m,
		track: canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground)),
		loud:  canvas.NewRectangle(theme.Color(theme.ColorNameSuccess)),
		peak:  canvas.NewRectangle(theme.Color(theme.ColorNameForeground)),
		text:  canvas.NewText("", theme.Color(theme.ColorNameForeground)),
	}
	r.text.TextSize = theme.CaptionTextSize()
	for _, db := range []float64{-40, -20, -6} {
		tick := canvas.NewRectangle(theme.Color(theme.ColorNameBackground))
		r.ticks = append(r.ticks, meterTick{tick, db})
	}
	r.refresh()
	return r
}

type meterTick struct {
	r  *canvas.Rectangle
	db float64
}

type meterRenderer struct {
	m                 *Meter
	track, loud, peak *canvas.Rectangle
	text              *canvas.Text
	ticks             []meterTick
	size              fyne.Size
	textWidth         float32
}

func (r *meterRenderer) Layout(size fyne.Size) {
	r.size = size
	r.textWidth = fyne.MeasureText("-100 dB", r.text.TextSize, r.text.TextStyle).Width
	r.refresh()
}

func (r *meterRenderer) MinSize() fyne.Size {
	th := fyne.MeasureText("-100 dB", theme.CaptionTextSize(), fyne.TextStyle{})
	return fyne.NewSize(120+th.Width, max(16, th.Height))
}

func (r *meterRenderer) Refresh() { r.refresh(); canvas.Refresh(r.m) }

func (r *meterRenderer) refresh() {
	w := max(0, r.size.Width-r.textWidth-theme.Padding())
	h := r.size.Height
	bar := h * 0.6
	y := (h - bar) / 2
	r.track.Move(fyne.NewPos(0, y))
	r.track.Resize(fyne.NewSize(w, bar))
	l, look := r.m.level, r.m.looks(r.m.level, r.m.have)
	loud, peak := float32(0), float32(0)
	if r.m.have {
		loud, peak = fraction(l.Loudness), fraction(l.Peak)
	}
	r.loud.FillColor = theme.Color(theme.ColorNameSuccess)
	if look.col != nil {
		r.loud.FillColor = look.col
	}
	r.loud.Move(fyne.NewPos(0, y))
	r.loud.Resize(fyne.NewSize(w*loud, bar))
	r.peak.Move(fyne.NewPos(max(0, w*peak-2), y))
	r.peak.Resize(fyne.NewSize(2, bar))
	if peak == 0 {
		r.peak.Hide()
	} else {
		r.peak.Show()
	}
	for _, t := range r.ticks {
		t.r.Move(fyne.NewPos(w*fraction(t.db), y))
		t.r.Resize(fyne.NewSize(1, bar))
	}
	r.text.Text = look.text
	r.text.Move(fyne.NewPos(w+theme.Padding(), (h-r.text.MinSize().Height)/2))
}

func (r *meterRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.track, r.loud}
	for _, t := range r.ticks {
		objs = append(objs, t.r)
	}
	return append(objs, r.peak, r.text)
}

func (r *meterRenderer) Destroy() {}

// tapArea makes its content tappable.
type tapArea struct {
	widget.BaseWidget
	content fyne.CanvasObject
	onTap   func()
}

func newTapArea(content fyne.CanvasObject, onTap func()) *tapArea {
	t := &tapArea{content: content, onTap: onTap}
	t.ExtendBaseWidget(t)
	return t
}

// Tapped opens what the area leads to.
func (t *tapArea) Tapped(*fyne.PointEvent) { t.onTap() }

// CreateRenderer shows the content.
func (t *tapArea) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(t.content) }
