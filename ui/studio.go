// Package ui is Chalkcast's studio window (Fyne): the teacher's streams as
// cards with their state, viewers and bitrate graph, sharing (link, QR
// code, OBS server and key), adding a stream in one step, settings and
// desktop notifications. It observes the engine through snapshots taken
// off the Fyne goroutine and commands it through the engine's Go API; it
// never holds an engine lock or waits on the network on the Fyne
// goroutine. Nothing imports ui but main.
package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"chalkcast/engine"
)

// Host is what the studio needs besides the engine; main wires it from
// the sources and outputs.
type Host interface {
	// Addresses are the addresses students can reach this machine at,
	// the preferred one first.
	Addresses() []string
	// Ports are the HTTP port (share page, players) and the RTMP port.
	Ports() (http, rtmp int)
	// WHIP says whether WebRTC publishers are taken, at the HTTP port's
	// /whip with the stream key as the bearer token.
	WHIP() bool
	// Devices lists cameras, screens, microphones and presets; rescan
	// looks for devices connected since the last scan.
	Devices(rescan bool) Devices
	// Thumbnail is a small picture of what a screen shows, nil when
	// there is none.
	Thumbnail(screen string) image.Image
	// CheckSource validates a source before a stream is created with it.
	CheckSource(engine.Source) error
	// TestSource tries a source (connects to an IP camera) and reports
	// what it found or why it failed, in plain words.
	TestSource(context.Context, engine.Source) (*engine.SourceReport, error)
	// StartRecording records a live stream now; StopRecording ends it.
	StartRecording(name string) error
	StopRecording(name string) error
	// Recording is a stream's recording state; SetAutoRecord says whether
	// the stream is recorded whenever it is live.
	Recording(name string) RecordingStatus
	SetAutoRecord(name string, on bool) error
	// Recordings lists the recordings on disk, newest first, and the
	// folder they are in.
	Recordings() ([]RecordingFile, string, error)
	// DeleteRecording removes a finished recording. A file still being
	// written is refused with ErrStillRecording; one that is not there
	// any more gives an error wrapping fs.ErrNotExist.
	DeleteRecording(stream, file string) error
	// ShareLesson shares a finished recording with students (replay on
	// the share page) or stops sharing it; RenameLesson gives it the
	// title students see. SetShareNew says whether a stream's new
	// recordings start shared.
	ShareLesson(id string, shared bool) error
	RenameLesson(id, title string) error
	SetShareNew(name string, on bool) error
	// Cover is the picture the share page shows before and after the
	// class (nil when there is none) and whether the teacher picked it;
	// SetCover makes a JPEG or PNG picture the cover, RemoveCover goes
	// back to the stream's last frame.
	Cover(name string) (img image.Image, picked bool)
	SetCover(name string, picture []byte) error
	RemoveCover(name string) error
	// Pushes are the servers a stream is sent on to, with their state;
	// AddPush sends it to one more (url rtmp:// or rtmps://, playURL where
	// that server's viewers watch, optional), RemovePush stops one.
	Pushes(name string) []PushStatus
	AddPush(name, url, playURL string) error
	RemovePush(name, id string) error
	// Version is Chalkcast's version, shown in the window.
	Version() string
	// Look says the teacher looks at a stream's picture, width pixels
	// wide, until release is called: its preview is decoded meanwhile.
	Look(name string, width int) (release func())
	// Preview is the stream's newest preview picture, nil when there is
	// none. A picture is never modified once returned.
	Preview(name string) image.Image
}

// RecordingStatus is a stream's recording state.
type RecordingStatus struct {
	// Auto: the stream is recorded whenever it is live.
	Auto bool
	// ShareNew: its new recordings are shared with students.
	ShareNew bool
	Active   bool
	Duration time.Duration
	Bytes    int64
	// Error is why the last recording stopped, if it failed.
	Error string
}

// ErrStillRecording: the recording is still being written.
var ErrStillRecording = errors.New("the recording is still being written")

// RecordingFile is one recording on disk.
type RecordingFile struct {
	Stream, Name, Path string
	Start              time.Time
	Duration           time.Duration
	Size               int64
	Recording          bool // still being written
	// Lesson is the id students replay a finished recording by; Title,
	// Shared and Viewers (replaying it now) are the lesson's. Replay: it
	// plays in a browser (MP4; FLV is download-only).
	Lesson, Title  string
	Shared, Replay bool
	Viewers        int
}

// Devices are the capture devices and presets a new stream can use.
type Devices struct {
	Cameras, Screens, Microphones []Device
	Presets                       []Preset
}

// Device is a camera, screen or microphone.
type Device struct{ ID, Name string }

// Preset is an encoding preset: its name and a description in the user's
// language.
type Preset struct{ Name, Description string }

// Studio is the main window.
type Studio struct {
	app      fyne.App
	win      fyne.Window
	hub      *engine.Hub
	host     Host
	settings *Settings
	log      *slog.Logger
	notify   *notifier

	cards   map[string]*card
	list    *fyne.Container // the cards
	scroll  *container.Scroll
	reveal  string          // a new stream, whose card is to be scrolled into view once it shows; Fyne goroutine only
	body    *fyne.Container // the cards, or the empty state
	empty   fyne.CanvasObject
	address string // address shown in share links

	// minimized asks whether the window is minimized (previews stop);
	// Fyne goroutine only. closeMinimized frees what it uses. hidden is
	// its answer at the last monitor tick, for the large monitor.
	minimized      func() bool
	closeMinimized func()
	hidden         bool

	kick chan struct{} // refresh now
	// background runs work that must not hold up the UI goroutine (engine
	// commands, device listing); its results come back through fyne.Do.
	background func(func())
	// later runs f on the Fyne goroutine after d (brief feedback such as
	// "Link copied").
	later func(d time.Duration, f func())
	// every calls f off the UI goroutine every d until done is closed
	// (lists that refresh while their window is open).
	every    func(d time.Duration, done <-chan struct{}, f func())
	quitOnce sync.Once
	quit     func(restart bool) // stops the engine and ends the app, and starts it again with restart
	// keys are the open dialogs' Enter and Esc, the newest last
	keys []*dialogKeys
}

// New builds the studio window over hub; quit is called once when the
// teacher quits, with restart true when Chalkcast is to start again (for
// settings that apply when it starts).
func New(a fyne.App, hub *engine.Hub, host Host, settings *Settings, log *slog.Logger, quit func(restart bool)) *Studio {
	s := &Studio{
		app: a, hub: hub, host: host, settings: settings, log: log.With("component", "ui"),
		cards: map[string]*card{}, kick: make(chan struct{}, 1), quit: quit,
		background: func(f func()) { go f() },
		later: func(d time.Duration, f func()) {
			time.AfterFunc(d, func() { fyne.Do(f) })
		},
		every: func(d time.Duration, done <-chan struct{}, f func()) {
			go func() {
				t := time.NewTicker(d)
				defer t.Stop()
				for {
					select {
					case <-done:
						return
					case <-t.C:
						f()
					}
				}
			}()
		},
	}
	s.notify = newNotifier(settings.Notifications, s.log)
	if addrs := host.Addresses(); len(addrs) > 0 {
		s.address = addrs[0]
		if settings.Address != "" && slices.Contains(addrs, settings.Address) {
			s.address = settings.Address
		}
	}
	s.win = a.NewWindow("Chalkcast")
	s.minimized, s.closeMinimized = minimizedCheck(s.win)
	s.win.Canvas().SetOnTypedKey(s.typedKey)
	s.list = container.NewVBox()
	s.scroll = container.NewVScroll(s.list)
	s.empty = s.emptyState()
	s.body = container.NewStack(s.empty)
	add := widget.NewButtonWithIcon(lang.L("New stream"), theme.ContentAddIcon(), func() { s.newStream("") })
	add.Importance = widget.HighImportance
	settingsBtn := widget.NewButtonWithIcon(lang.L("Settings"), theme.SettingsIcon(), s.showSettings)
	recordings := widget.NewButtonWithIcon(lang.L("Recordings"), theme.FolderIcon(), s.showRecordings)
	title := widget.NewLabelWithStyle("Chalkcast "+host.Version(), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	top := container.NewBorder(nil, nil, title, container.NewHBox(add, recordings, settingsBtn))
	s.win.SetContent(container.NewBorder(container.NewPadded(top), nil, nil, nil, s.body))
	s.win.Resize(fyne.NewSize(900, 700))
	s.win.SetCloseIntercept(s.confirmQuit)
	return s
}

// Window is the studio's window.
func (s *Studio) Window() fyne.Window { return s.win }

// Run keeps the window up to date until ctx ends: a snapshot of every
// stream once a second (and at once after an engine event), taken off the
// Fyne goroutine and applied on it.
func (s *Studio) Run(ctx context.Context) {
	sub := s.hub.Subscribe(256)
	defer sub.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.C:
				if !ok {
					return
				}
				s.notify.event(s.hub, e)
				if e.Kind != engine.EventViewerJoined && e.Kind != engine.EventViewerLeft {
					s.kickRefresh() // viewers are counted by the next tick
				}
			}
		}
	}()
	s.every(monitorEvery, ctx.Done(), func() { fyne.Do(s.tickMonitors) })
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.refresh()
		// at most four refreshes a second, however many events come
		pause := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-pause.C:
		}
		pause.Stop()
		select {
		case <-ctx.Done():
			wg.Wait()
			fyne.Do(s.closeMinimized)
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// refresh takes the snapshots here and hands them to the Fyne goroutine.
func (s *Studio) refresh() {
	var snaps []snapshot
	for _, st := range s.hub.Streams() {
		snaps = append(snaps, snapshot{StreamStats: st.Stats(engine.StatsOptions{History: true, Viewers: true}),
			Config: st.Config(), Recording: s.host.Recording(st.Name()), Pushes: s.host.Pushes(st.Name())})
	}
	sort.Slice(snaps, func(i, j int) bool {
		return snaps[i].Config.Created.Before(snaps[j].Config.Created) || (snaps[i].Config.Created.Equal(snaps[j].Config.Created) && snaps[i].Name < snaps[j].Name)
	})
	fyne.Do(func() { s.apply(snaps) })
}

// snapshot is what the window shows of one stream.
type snapshot struct {
	engine.StreamStats
	Config    engine.StreamConfig
	Recording RecordingStatus
	Pushes    []PushStatus
}

// apply updates the cards; it runs on the Fyne goroutine.
func (s *Studio) apply(snaps []snapshot) {
	seen := map[string]bool{}
	changed := false
	for _, sn := range snaps {
		seen[sn.Name] = true
		c, ok := s.cards[sn.Name]
		if !ok {
			c = newCard(s, sn.Name)
			s.cards[sn.Name] = c
			changed = true
		}
		c.update(sn)
	}
	for name, c := range s.cards {
		if !seen[name] {
			c.monitor.stop()
			delete(s.cards, name)
			changed = true
		}
	}
	if !changed {
		s.revealNew()
		return
	}
	objs := make([]fyne.CanvasObject, 0, len(snaps))
	for _, sn := range snaps {
		objs = append(objs, s.cards[sn.Name].root)
	}
	s.list.Objects = objs
	s.list.Refresh()
	if len(objs) == 0 {
		s.body.Objects = []fyne.CanvasObject{s.empty}
	} else {
		s.body.Objects = []fyne.CanvasObject{s.scroll}
	}
	s.body.Refresh()
	s.revealNew()
}

// tickMonitors brings the previews and meters of the cards on screen up
// to date; cards scrolled out of view, and all of them while the window
// is minimized, stop their previews.
func (s *Studio) tickMonitors() {
	s.hidden = len(s.cards) > 0 && s.minimized() // one question to the window system a tick, none without cards
	inList := len(s.body.Objects) > 0 && s.body.Objects[0] == s.scroll && !s.hidden
	top, height := s.scroll.Offset.Y, s.scroll.Size().Height
	for _, c := range s.cards {
		y, h := c.root.Position().Y, c.root.Size().Height
		c.monitor.tick(inList && c.root.Visible() && y < top+height && y+h > top)
	}
}

// revealNew scrolls a stream the teacher just created into view, once its
// card is there.
func (s *Studio) revealNew() {
	c, ok := s.cards[s.reveal]
	if !ok {
		return
	}
	s.reveal = ""
	s.scroll.ScrollToOffset(fyne.NewPos(0, c.root.Position().Y))
}

// whileOpen calls update on the Fyne goroutine every d while dlg is
// open, and closed (if not nil) once it is closed.
func (s *Studio) whileOpen(dlg dialog.Dialog, d time.Duration, update, closed func()) {
	done := make(chan struct{})
	dlg.SetOnClosed(func() {
		close(done)
		if closed != nil {
			closed()
		}
	})
	s.every(d, done, func() {
		fyne.Do(func() {
			select {
			case <-done:
			default:
				update()
			}
		})
	})
}

// do runs a command on the engine off the Fyne goroutine and reports a
// failure in a dialog. One that takes more than a moment shows that it is
// working.
func (s *Studio) do(what string, f func() error) {
	s.background(func() {
		var mu sync.Mutex
		var d dialog.Dialog
		finished := false
		t := time.AfterFunc(300*time.Millisecond, func() {
			fyne.Do(func() {
				mu.Lock()
				defer mu.Unlock()
				if !finished {
					d = dialog.NewCustomWithoutButtons(lang.L("Working…"), widget.NewProgressBarInfinite(), s.win)
					d.Show()
				}
			})
		})
		err := f()
		if !t.Stop() {
			fyne.Do(func() {
				mu.Lock()
				defer mu.Unlock()
				finished = true
				if d != nil {
					d.Hide()
				}
			})
		}
		if err == nil {
			s.kickRefresh()
			return
		}
		s.log.Warn(what+" failed", "err", err)
		fyne.Do(func() { s.showError(errors.New(plain(err))) })
	})
}

// confirmQuit asks before closing a window while streams are live.
func (s *Studio) confirmQuit() {
	live := s.liveStreams()
	if live == 0 {
		s.doQuit()
		return
	}
	msg := lang.L("A stream is live. Quitting ends it for every student.")
	if live > 1 {
		msg = fmt.Sprintf(lang.L("%d streams are live. Quitting ends them for every student."), live)
	}
	s.confirm(lang.L("Quit Chalkcast?"), msg, lang.L("Quit and end the class"), lang.L("Keep streaming"), s.doQuit)
}

// liveStreams counts the streams students can watch now.
func (s *Studio) liveStreams() int {
	live := 0
	for _, st := range s.hub.Streams() {
		if st.State().Active() {
			live++
		}
	}
	return live
}

func (s *Studio) doQuit() { s.quitOnce.Do(func() { s.quit(false) }) }

// doRestart ends the app and starts it again.
func (s *Studio) doRestart() { s.quitOnce.Do(func() { s.quit(true) }) }
