package ui

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"chalkcast/engine"
	"chalkcast/internal/rtsptest"
	"chalkcast/media/audio"
	"chalkcast/media/encode"
	"chalkcast/media/monitor"
	"chalkcast/sources/ipcam"
	"chalkcast/sources/testpattern"
)

// newTestStudio is a studio over a real engine running real test-pattern
// sources. Fyne's test driver has no UI goroutine to serialise on, so the
// tests refresh the window from their own goroutine (see eventually)
// rather than running Run beside it; the real window runs Run
// (packaging/screenshot.sh).
func newTestStudio(t *testing.T) (*Studio, *engine.Hub) {
	t.Helper()
	hub, err := engine.New(engine.Config{Silence: audio.Silence}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return studioOver(t, hub, nil), hub
}

// studioOver is a test studio over hub, whose sources are the test
// pattern, the IP camera and kinds.
func studioOver(t *testing.T, hub *engine.Hub, kinds map[string]engine.SourceKind) *Studio {
	t.Helper()
	a := test.NewTempApp(t)
	all := map[string]engine.SourceKind{
		testpattern.Type: testpattern.New(hub.Pool()),
		ipcam.Type:       ipcam.New(nil),
	}
	maps.Copy(all, kinds)
	srcs := engine.NewSources(hub, all, nil)
	mon := monitor.New(hub, slog.New(slog.DiscardHandler))
	ctx, stopMonitor := context.WithCancel(context.Background())
	go mon.Run(ctx)
	s := New(a, hub, newFakeHost(srcs, mon, t.TempDir()), LoadSettings(a.Preferences()), slog.New(slog.DiscardHandler), func(bool) {})
	s.notify.send = func(string, string) error { return errors.New("no notification service in tests") }
	s.background = func(f func()) { f() }    // the test driver has no UI goroutine to come back to
	s.later = func(time.Duration, func()) {} // for the same reason; tests that need it call it themselves
	s.every = func(time.Duration, <-chan struct{}, func()) {}
	t.Cleanup(func() {
		stopMonitor()
		srcs.Close()
		hub.Close()
	})
	s.win.Resize(fyne.NewSize(1000, 800))
	return s
}

// find returns the first object under o (dialogs included when o is a
// canvas overlay) that match accepts.
func find[T fyne.CanvasObject](o fyne.CanvasObject, match func(T) bool) (T, bool) {
	if v, ok := o.(T); ok && match(v) {
		return v, true
	}
	var children []fyne.CanvasObject
	switch c := o.(type) {
	case *fyne.Container:
		children = c.Objects
	case fyne.Widget:
		children = test.WidgetRenderer(c).Objects()
	}
	for _, ch := range children {
		if v, ok := find(ch, match); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func button(t *testing.T, root fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	b, ok := find(root, func(b *widget.Button) bool { return b.Text == text })
	if !ok {
		t.Fatalf("no %q button", text)
	}
	return b
}

// eventually refreshes s from the engine and checks cond until it holds.
func eventually(t *testing.T, s *Studio, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.refresh()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGoLiveFromTheEmptyState(t *testing.T) {
	s, hub := newTestStudio(t)
	content := s.win.Content()
	// the empty state offers the sources; the test pattern opens the
	// new-stream dialog with a default name
	if _, ok := find(content, func(l *widget.Label) bool { return l.Text == "Chalkcast 9.8.7" }); !ok {
		t.Error("the window does not show the version")
	}
	test.Tap(button(t, content, "Test pattern"))
	var overlay fyne.CanvasObject
	eventually(t, s, "the new-stream dialog", func() bool {
		overlay = s.win.Canvas().Overlays().Top()
		return overlay != nil
	})
	name, ok := find(overlay, func(e *widget.Entry) bool { return e.Text == "class-1" })
	if !ok {
		t.Fatal("no default name class-1 in the dialog")
	}
	name.SetText("maths")
	test.Tap(button(t, overlay, "Go live"))

	// the stream appears, goes live, and the card says so
	var c *card
	eventually(t, s, "a live card", func() bool {
		c = s.cards["maths"]
		return c != nil && c.state.Text == "Live"
	})
	if st, ok := hub.Get("maths"); !ok || st.Config().Source.Type != "testpattern" || st.Config().Source.Options["preset"] != "720p" {
		t.Fatalf("created stream: %+v", st.Config())
	}
	// copy the share link
	test.Tap(c.copyLink)
	if got := s.app.Clipboard().Content(); got != "http://127.0.0.1:8080/watch/maths" {
		t.Errorf("clipboard %q", got)
	}
	if c.qr.Resource == nil {
		t.Error("no QR code")
	}
	// a viewer connects: the count goes up, and the graph gains points
	st, _ := hub.Get("maths")
	v, err := st.Join(engine.ViewerInfo{Protocol: "flv", Remote: "192.0.2.10:5000"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, s, "one viewer", func() bool { return c.viewers.Text == "1 watching · peak 1" })
	n := len(c.graph.Samples())
	eventually(t, s, "graph points", func() bool { return len(c.graph.Samples()) >= n+2 })
	if slices.Max(c.graph.Samples()) <= 0 {
		t.Errorf("graph shows no bitrate: %v", c.graph.Samples())
	}
	v.Leave()
	eventually(t, s, "viewer gone, peak kept", func() bool { return c.viewers.Text == "0 watching · peak 1" })

	// stop (after confirming) and start
	test.Tap(c.startStop)
	test.Tap(button(t, s.win.Canvas().Overlays().Top(), "Stop the class"))
	eventually(t, s, "stopped", func() bool { return c.state.Text == "Stopped" && c.startStop.Text == "Start" })
	test.Tap(c.startStop)
	eventually(t, s, "live again", func() bool { return c.state.Text == "Live" })

	// remove, after confirming
	test.Tap(button(t, content, "Remove"))
	test.Tap(button(t, s.win.Canvas().Overlays().Top(), "Remove the stream"))
	eventually(t, s, "empty state again", func() bool { return len(s.cards) == 0 && s.body.Objects[0] == s.empty })
}

func TestIPCameraFromTheStudio(t *testing.T) {
	cam := rtsptest.StartCamera(t, "admin:Cl4ss-room")
	s, hub := newTestStudio(t)
	test.Tap(button(t, s.win.Content(), "IP camera (RTSP)"))
	overlay := s.win.Canvas().Overlays().Top()
	url, ok := find(overlay, func(e *widget.Entry) bool { return strings.HasPrefix(e.PlaceHolder, "rtsp://") })
	if !ok {
		t.Fatal("no camera address field")
	}
	// a wrong password first: the test says so in plain words
	url.SetText(cam.URL("admin:wrong", "/h264pcmu"))
	test.Tap(button(t, overlay, "Test connection"))
	result, ok := find(overlay, func(l *widget.Label) bool { return strings.HasPrefix(l.Text, "✗") })
	if !ok || !strings.Contains(result.Text, "refused the user name or password") {
		t.Fatalf("test with a wrong password: %v", result)
	}
	url.SetText(cam.URL("admin:Cl4ss-room", "/h264pcmu"))
	test.Tap(button(t, overlay, "Test connection"))
	if !strings.Contains(result.Text, "✓ Video: H.264 640×360") || !strings.Contains(result.Text, "converted to AAC") {
		t.Fatalf("test result %q", result.Text)
	}
	// how to connect is a detail, folded away until asked for
	details, ok := find(overlay, func(a *widget.Accordion) bool { return len(a.Items) == 1 && a.Items[0].Title == "Connection details" })
	if !ok || details.Items[0].Open {
		t.Fatal("the connection details are not folded away")
	}
	details.Open(0)
	transport, _ := find(overlay, func(r *widget.RadioGroup) bool { return slices.Contains(r.Options, "TCP") })
	transport.SetSelected("TCP")
	test.Tap(button(t, overlay, "Go live"))
	var c *card
	eventually(t, s, "a live camera card", func() bool {
		c = s.cards["class-1"]
		return c != nil && c.state.Text == "Live"
	})
	if strings.Contains(c.source.Text, "Cl4ss") || !strings.Contains(c.source.Text, "IP camera rtsp://127.0.0.1") {
		t.Errorf("card shows source %q", c.source.Text)
	}
	if st, _ := hub.Get("class-1"); st.Config().Source.URL != cam.URL("admin:Cl4ss-room", "/h264pcmu") || st.Config().Source.Options["transport"] != "tcp" {
		t.Errorf("stream source %+v", st.Config().Source)
	}
}

// liveCard makes a live 480p test-pattern stream "maths" and returns its
// card.
func liveCard(t *testing.T, s *Studio, hub *engine.Hub) *card {
	t.Helper()
	if _, err := hub.Create(engine.StreamConfig{Name: "maths", Source: engine.Source{Type: testpattern.Type, Options: map[string]string{"preset": "480p"}}}); err != nil {
		t.Fatal(err)
	}
	var c *card
	eventually(t, s, "a live card", func() bool {
		c = s.cards["maths"]
		return c != nil && c.state.Text == "Live"
	})
	return c
}

func TestRecordFromTheCard(t *testing.T) {
	s, hub := newTestStudio(t)
	c := liveCard(t, s, hub)
	h := s.host.(*fakeHost)
	test.Tap(c.record.button)
	eventually(t, s, "recording shown", func() bool {
		return h.Recording("maths").Active && c.record.button.Text == "Stop recording" && strings.HasPrefix(c.record.state.Text, "● Recording 0:00:00")
	})
	h.mu.Lock()
	h.recording["maths"] = RecordingStatus{Active: true, Duration: 83 * time.Second, Bytes: 3 << 20}
	h.mu.Unlock()
	eventually(t, s, "the recorder's progress", func() bool { return c.record.state.Text == "● Recording 0:01:23 · 3 MB" })
	test.Tap(c.record.button)
	eventually(t, s, "recording stopped", func() bool { return c.record.button.Text == "Record" && c.record.state.Text == "" })
	// the recordings dialog lists the file with a Play button
	test.Tap(button(t, s.win.Content(), "Recordings"))
	overlay := s.win.Canvas().Overlays().Top()
	if _, ok := find(overlay, func(l *widget.Label) bool {
		return strings.HasPrefix(l.Text, "maths · ") && strings.Contains(l.Text, "KB")
	}); !ok {
		t.Fatal("the recording is not listed")
	}
	button(t, overlay, "Play")
	button(t, overlay, "Open folder")
	// record whenever live: asked of the recorder, shown as it says
	test.Tap(c.record.auto)
	if !h.Recording("maths").Auto {
		t.Fatal("ticking the box did not ask to record whenever live")
	}
	h.mu.Lock()
	h.recording["maths"] = RecordingStatus{Auto: true, Error: "the disk is full"}
	h.mu.Unlock()
	eventually(t, s, "a failed recording", func() bool {
		return c.record.auto.Checked && strings.HasPrefix(c.record.state.Text, "Recording stopped: ") && strings.Contains(c.record.state.Text, "disk is full")
	})
}

func TestPushFromTheCard(t *testing.T) {
	s, hub := newTestStudio(t)
	c := liveCard(t, s, hub)
	h := s.host.(*fakeHost)
	test.Tap(button(t, s.win.Content(), "Push to a server…"))
	overlay := s.win.Canvas().Overlays().Top()
	addr, _ := find(overlay, func(e *widget.Entry) bool { return strings.HasPrefix(e.PlaceHolder, "rtmp://") })
	play, _ := find(overlay, func(e *widget.Entry) bool { return strings.HasPrefix(e.PlaceHolder, "https://") })
	addr.SetText("rtmp://live.example.com/live/maths-secret-key")
	play.SetText("https://cdn.example.com/live/maths.flv")
	test.Tap(button(t, overlay, "Add"))
	ps := h.Pushes("maths")
	if len(ps) != 1 || ps[0].URL != "rtmp://live.example.com/live/maths-secret-key" || ps[0].PlayURL != "https://cdn.example.com/live/maths.flv" {
		t.Fatalf("asked to push %+v", ps)
	}
	eventually(t, s, "the push waiting", func() bool {
		_, ok := find(c.push.list, func(l *widget.Label) bool { return strings.Contains(l.Text, "Waits until the stream is live") })
		return ok
	})
	// the pusher shows the address without its key
	h.setPush("maths", func(p *PushStatus) {
		p.URL, p.State, p.Kbps = "rtmp://live.example.com/live/••••-key", "live", 2480
	})
	eventually(t, s, "the push sending", func() bool {
		l, ok := find(c.push.list, func(l *widget.Label) bool { return strings.Contains(l.Text, "Sending") })
		return ok && strings.Contains(l.Text, "/live/••••-key") && strings.Contains(l.Text, "2.5 Mbit/s")
	})
	if !c.push.cdn.Visible() || !strings.Contains(c.push.cdn.Text, "https://cdn.example.com/live/maths.flv") {
		t.Errorf("share panel: %q", c.push.cdn.Text)
	}
	h.setPush("maths", func(p *PushStatus) { p.State, p.LastError = "retrying", "rtmp: connection refused" })
	eventually(t, s, "the push retrying", func() bool {
		_, ok := find(c.push.list, func(l *widget.Label) bool { return strings.Contains(l.Text, "Trying again") })
		return ok
	})
	rm, _ := find(c.push.list, func(b *widget.Button) bool { return b.Text == "" })
	test.Tap(rm)
	test.Tap(button(t, s.win.Canvas().Overlays().Top(), "Remove the push"))
	if len(h.Pushes("maths")) != 0 {
		t.Fatal("Remove the push did not ask to remove it")
	}
	eventually(t, s, "the push removed", func() bool { return len(c.push.list.Objects) == 0 && !c.push.cdn.Visible() })
}

func TestRTMPCardShowsServerAndKey(t *testing.T) {
	s, hub := newTestStudio(t)
	st, err := hub.Create(engine.StreamConfig{Name: "obs"})
	if err != nil {
		t.Fatal(err)
	}
	var c *card
	eventually(t, s, "card", func() bool { c = s.cards["obs"]; return c != nil })
	key := st.Config().Key
	eventually(t, s, "server and masked key", func() bool {
		return c.server.Text == "rtmp://127.0.0.1:1935/live" && strings.HasSuffix(c.key.Text, key[28:]) && !strings.Contains(c.key.Text, key[:8])
	})
	if c.state.Text != "Waiting for OBS or the phone to start sending" {
		t.Errorf("state %q", c.state.Text)
	}
	test.Tap(button(t, c.root, "New key"))
	test.Tap(button(t, s.win.Canvas().Overlays().Top(), "Make a new key"))
	eventually(t, s, "new key", func() bool { return c.last.Config.Key != key })
	if strings.HasSuffix(c.key.Text, key[28:]) {
		t.Error("the old key is still shown")
	}
}

func TestBadNameIsRefusedInPlainWords(t *testing.T) {
	s, hub := newTestStudio(t)
	if _, err := hub.Create(engine.StreamConfig{Name: "class-1", Source: engine.Source{Type: "rtmp"}}); err != nil {
		t.Fatal(err)
	}
	f := &newStreamForm{s: s, devices: s.host.Devices(false)}
	f.build("rtmp")
	if f.name.Text != "class-2" {
		t.Errorf("default name %q with class-1 taken", f.name.Text)
	}
	if f.name.Validator("bad name!") == nil {
		t.Error("a name with a space was accepted")
	}
	if got := plain(engine.ErrExists); !strings.Contains(got, "already exists") {
		t.Errorf("plain(ErrExists) = %q", got)
	}
	if got := plainText("invalid: preset \"4k\": choose 480p, 720p or 1080p"); got != "Preset \"4k\": choose 480p, 720p or 1080p" {
		t.Errorf("plainText = %q", got)
	}
}

func TestNotifications(t *testing.T) {
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	st, _ := hub.Create(engine.StreamConfig{Name: "m"})
	a := test.NewTempApp(t)
	n := newNotifier(LoadSettings(a.Preferences()).Notifications, slog.New(slog.DiscardHandler))
	var mu sync.Mutex
	var sent []string
	var bodies []string
	n.send = func(title, body string) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, title)
		bodies = append(bodies, body)
		return errors.New("no notification service")
	}
	say := func(e engine.Event) {
		n.event(hub, e)
		for n.busy.Load() { // one at a time
			time.Sleep(time.Millisecond)
		}
	}
	say(engine.Event{Kind: engine.EventStreamLive, Stream: "m"})
	say(engine.Event{Kind: engine.EventSourceError, Stream: "m", Error: "camera unplugged"})
	say(engine.Event{Kind: engine.EventSourceError, Stream: "m", Error: "camera unplugged"}) // retry: said already
	say(engine.Event{Kind: engine.EventStreamLive, Stream: "m"})
	for range 10 {
		if _, err := st.Join(engine.ViewerInfo{Protocol: "flv"}); err != nil {
			t.Fatal(err)
		}
		say(engine.Event{Kind: engine.EventViewerJoined, Stream: "m"})
	}
	sentNow := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), sent...)
	}
	tell := func(r RecordingNotice) {
		n.deliver(recordingMessage(r))
		for n.busy.Load() {
			time.Sleep(time.Millisecond)
		}
	}
	tell(RecordingNotice{Kind: NoticeSaved, Stream: "m", File: "m_2026-11-26_09-00-00.mp4", Duration: 2712400 * time.Millisecond, Size: 712 << 20})
	tell(RecordingNotice{Kind: NoticeFailed, Stream: "m", Error: "the disk is full; what was recorded so far is kept"})
	tell(RecordingNotice{Kind: NoticeDiskLow, Free: 1 << 30})
	want := []string{"“m” is live", "“m” lost its source", "“m” is back", "1 watching “m”", "10 watching “m”",
		"Recording of “m” saved", "Recording of “m” stopped", "Disk space is low"}
	if got := sentNow(); !slices.Equal(got, want) {
		t.Errorf("notifications %q, want %q", got, want)
	}
	mu.Lock()
	if b := bodies[5:]; len(b) != 3 || b[0] != "m_2026-11-26_09-00-00.mp4 · 0:45:12 · 712 MB" ||
		b[1] != "The disk is full; what was recorded so far is kept" || b[2] != "1.0 GB left for recordings" {
		t.Errorf("recording notifications say %q", b)
	}
	mu.Unlock()
	// switched off: nothing more is sent
	n.enabled.Store(false)
	say(engine.Event{Kind: engine.EventStreamLive, Stream: "other"})
	if got := sentNow(); len(got) != len(want) {
		t.Errorf("sent %q with notifications off", got[len(want):])
	}
}

func TestSettingsPersist(t *testing.T) {
	a := test.NewTempApp(t)
	s := LoadSettings(a.Preferences())
	if s.HTTPPort != 8080 || s.RTMPPort != 1935 || !s.Notifications || s.Language != "" {
		t.Errorf("defaults %+v", s)
	}
	s.HTTPPort, s.Language, s.Notifications, s.Address = 9000, "zh", false, "192.0.2.7"
	s.Save()
	got := LoadSettings(a.Preferences())
	if got.HTTPPort != 9000 || got.Language != "zh" || got.Notifications || got.Address != "192.0.2.7" {
		t.Errorf("loaded %+v", got)
	}
}

// TestEveryStringIsTranslated: each string the studio shows has an
// English and a Chinese entry.
func TestEveryStringIsTranslated(t *testing.T) {
	keys := map[string]bool{}
	files, _ := filepath.Glob("*.go")
	re := regexp.MustCompile(`lang\.L\("((?:[^"\\]|\\.)*)"\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			keys[string(m[1])] = true
		}
	}
	for _, p := range encode.Presets() {
		keys[p.Description] = true
	}
	keys[audio.ReasonNoMicrophone], keys[audio.ReasonMicrophoneInUse], keys[audio.ReasonQuiet] = true, true, true // shown as the stream's silent reason
	for _, language := range []string{"en", "zh_Hans"} {
		b, err := os.ReadFile(filepath.Join("..", "assets", "translations", language+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var tr map[string]string
		if err := json.Unmarshal(b, &tr); err != nil {
			t.Fatalf("%s.json: %v", language, err)
		}
		for k := range keys {
			if tr[k] == "" {
				t.Errorf("%s.json has no %q", language, k)
			}
		}
	}
}

// press types a key that no widget takes, as the window hands it on.
func press(s *Studio, key fyne.KeyName) {
	s.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: key})
}

// TestStopAsksFirst: Stop ends the class for every student, so it asks,
// with buttons that say what they do; Esc keeps streaming, Enter stops.
func TestStopAsksFirst(t *testing.T) {
	s, hub := newTestStudio(t)
	c := liveCard(t, s, hub)
	test.Tap(c.startStop)
	overlay := s.win.Canvas().Overlays().Top()
	if overlay == nil {
		t.Fatal("Stop did not ask")
	}
	button(t, overlay, "Stop the class")
	button(t, overlay, "Keep streaming")
	for _, yesNo := range []string{"Yes", "No"} {
		if _, ok := find(overlay, func(b *widget.Button) bool { return b.Text == yesNo }); ok {
			t.Errorf("the confirmation has a %q button", yesNo)
		}
	}
	press(s, fyne.KeyEscape)
	if s.win.Canvas().Overlays().Top() != nil {
		t.Fatal("Esc did not close the confirmation")
	}
	if st, _ := hub.Get("maths"); st.Config().Stopped {
		t.Fatal("Esc stopped the class")
	}
	test.Tap(c.startStop)
	press(s, fyne.KeyReturn)
	eventually(t, s, "stopped by Enter", func() bool { return c.state.Text == "Stopped" && c.startStop.Text == "Start" })
	if s.win.Canvas().Overlays().Top() != nil {
		t.Error("the confirmation stayed open")
	}
	// starting again does not ask
	test.Tap(c.startStop)
	eventually(t, s, "live again", func() bool { return c.state.Text == "Live" })
}

// TestDialogsTakeEnterAndEsc: every dialog closes with Esc, a form's Enter
// submits it, and confirmations say what they do.
func TestDialogsTakeEnterAndEsc(t *testing.T) {
	s, hub := newTestStudio(t)
	c := liveCard(t, s, hub)
	open := func(what string, tap func()) fyne.CanvasObject {
		t.Helper()
		tap()
		o := s.win.Canvas().Overlays().Top()
		if o == nil {
			t.Fatalf("%s: no dialog", what)
		}
		return o
	}
	closedBy := func(what string, key fyne.KeyName) {
		t.Helper()
		press(s, key)
		if s.win.Canvas().Overlays().Top() != nil {
			t.Errorf("%s: %s did not close the dialog", what, key)
			s.win.Canvas().Overlays().Remove(s.win.Canvas().Overlays().Top())
		}
	}
	o := open("remove", func() { test.Tap(button(t, c.root, "Remove")) })
	button(t, o, "Remove the stream")
	button(t, o, "Keep it")
	closedBy("remove", fyne.KeyEscape)
	open("viewers", func() { test.Tap(button(t, c.root, "Viewers")) })
	closedBy("viewers", fyne.KeyEscape)
	open("bitrate", func() { test.Tap(button(t, c.root, "Bitrate")) })
	closedBy("bitrate", fyne.KeyReturn)
	open("push", func() { test.Tap(button(t, c.root, "Push to a server…")) })
	closedBy("push form", fyne.KeyEscape)
	open("settings", func() { test.Tap(button(t, s.win.Content(), "Settings")) })
	closedBy("settings form", fyne.KeyReturn) // valid as it is: Enter saves
	open("quit", s.confirmQuit)
	button(t, s.win.Canvas().Overlays().Top(), "Quit and end the class")
	closedBy("quit", fyne.KeyEscape)
	if _, ok := hub.Get("maths"); !ok {
		t.Error("a dialog closed by Esc removed the stream")
	}
}

// TestCopyLinkSaysSo: the link goes to the clipboard, the button says
// "Link copied" for 2 s, and a second copy in between keeps it saying so.
func TestCopyLinkSaysSo(t *testing.T) {
	s, hub := newTestStudio(t)
	var pending []func()
	s.later = func(d time.Duration, f func()) {
		if d != 2*time.Second {
			t.Errorf("feedback for %v", d)
		}
		pending = append(pending, f)
	}
	c := liveCard(t, s, hub)
	test.Tap(c.copyLink)
	if got := s.app.Clipboard().Content(); got != "http://127.0.0.1:8080/watch/maths" {
		t.Errorf("clipboard %q", got)
	}
	if c.copyLink.Text != "Link copied" {
		t.Fatalf("after copying the button says %q", c.copyLink.Text)
	}
	test.Tap(c.copyLink)
	pending[0]() // the first copy's 2 s are over, the second's are not
	if c.copyLink.Text != "Link copied" {
		t.Errorf("the first copy's feedback ended the second's: %q", c.copyLink.Text)
	}
	pending[1]()
	if c.copyLink.Text != "Copy link" {
		t.Errorf("after 2 s the button says %q", c.copyLink.Text)
	}
}

// A camera or screen is never offered or shown as sending a microphone
// the computer does not have.
func TestNoMicrophoneIsSaidBeforeAndAfterGoLive(t *testing.T) {
	s, _ := newTestStudio(t) // the test machine has no microphone
	s.showNewStream("camera", s.host.Devices(false))
	overlay := s.win.Canvas().Overlays().Top()
	hint, ok := find(overlay, func(l *widget.Label) bool { return strings.HasPrefix(l.Text, "No microphone found") })
	if !ok || !hint.Visible() {
		t.Fatal("the new-stream form does not say that no microphone was found")
	}
	mic, _ := find(overlay, func(sel *widget.Select) bool { return sel.Selected == "No sound" })
	if mic == nil {
		t.Error("without a microphone, No sound is not what is chosen")
	}
	cam := engine.Source{Type: "camera", Options: map[string]string{"microphone": "none"}}
	if got := sourceText(cam); got != "Camera, no sound" {
		t.Errorf("a camera without sound is named %q", got)
	}
	// a camera that should send the default microphone but has been live
	// for seconds without sound says so
	sn := snapshot{StreamStats: engine.StreamStats{Source: engine.Source{Type: "screen"}, State: engine.StateLive, UptimeSec: 5}}
	if got := cardSourceText(sn); !strings.HasPrefix(got, "Screen, no microphone found") {
		t.Errorf("a screen live without its microphone shows %q", got)
	}
	sn.Audio = &engine.AudioStats{}
	if got := cardSourceText(sn); got != "Screen + microphone" {
		t.Errorf("a screen with sound shows %q", got)
	}
	// the other kinds have no microphone to speak of
	s.showNewStream("testpattern", s.host.Devices(false))
	overlay = s.win.Canvas().Overlays().Top()
	if hint, ok := find(overlay, func(l *widget.Label) bool { return strings.HasPrefix(l.Text, "No microphone found") }); ok && hint.Visible() {
		t.Error("the test pattern's form talks about a microphone")
	}
}

// Settings show the ports this run really listens on beside the saved ones.
func TestSettingsShowThePortsInUse(t *testing.T) {
	s, _ := newTestStudio(t) // the test host listens on 8080 and 1935
	s.settings.HTTPPort = 9000
	s.showSettings()
	overlay := s.win.Canvas().Overlays().Top()
	if _, ok := find(overlay, func(l *widget.Label) bool { return l.Text == "In use now: web port 8080, RTMP port 1935" }); !ok {
		t.Error("the settings do not show the ports in use")
	}
}

// A stream created in the studio is scrolled into view below the others.
func TestNewStreamIsScrolledIntoView(t *testing.T) {
	s, hub := newTestStudio(t)
	s.win.Resize(fyne.NewSize(800, 500))
	for _, name := range []string{"a1", "a2", "a3", "a4"} {
		if _, err := hub.Create(engine.StreamConfig{Name: name, Source: engine.Source{Type: "rtmp"}}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, s, "four cards", func() bool { return len(s.cards) == 4 })
	s.showNewStream("rtmp", s.host.Devices(false))
	overlay := s.win.Canvas().Overlays().Top()
	name, _ := find(overlay, func(e *widget.Entry) bool { return e.Text == "class-1" })
	name.SetText("zz-last")
	test.Tap(button(t, overlay, "Go live"))
	eventually(t, s, "the new card in view", func() bool {
		c := s.cards["zz-last"]
		return c != nil && s.scroll.Offset.Y > 0 && s.scroll.Offset.Y+s.scroll.Size().Height >= c.root.Position().Y+min(c.root.Size().Height, s.scroll.Size().Height)-1
	})
}

// At 640 px, half a laptop screen, nothing of a card lies outside the
// window: the card reflows instead of clipping.
func TestCardsFitIn640Pixels(t *testing.T) {
	s, hub := newTestStudio(t)
	for _, cfg := range []engine.StreamConfig{
		{Name: "obs-with-a-long-name", Title: "Grade 8 Maths, Tuesday", Source: engine.Source{Type: "rtmp"}},
		{Name: "bars", Source: engine.Source{Type: testpattern.Type, Options: map[string]string{"preset": "480p"}}},
	} {
		if _, err := hub.Create(cfg); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, s, "two cards", func() bool { return len(s.cards) == 2 })
	s.win.Resize(fyne.NewSize(640, 900))
	width := s.win.Canvas().Size().Width
	if width > 640 {
		t.Fatalf("the window grew to %.0f px", width)
	}
	d := fyne.CurrentApp().Driver()
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if !o.Visible() {
			return
		}
		if right := d.AbsolutePositionForObject(o).X + o.Size().Width; right > width+1 {
			t.Errorf("%T reaches %.0f px, past the window's %.0f", o, right, width)
			return
		}
		switch c := o.(type) {
		case *fyne.Container:
			for _, child := range c.Objects {
				walk(child)
			}
		case fyne.Widget:
			for _, child := range test.WidgetRenderer(c).Objects() {
				walk(child)
			}
		}
	}
	for _, c := range s.cards {
		walk(c.root)
	}
}

// A language change offers to start Chalkcast again at once; Later keeps
// it running.
func TestLanguageChangeOffersRestart(t *testing.T) {
	s, _ := newTestStudio(t)
	var restarts []bool
	s.quit = func(restart bool) { restarts = append(restarts, restart) }
	change := func() {
		s.showSettings()
		overlay := s.win.Canvas().Overlays().Top()
		sel, ok := find(overlay, func(w *widget.Select) bool { return slices.Contains(w.Options, "简体中文") })
		if !ok {
			t.Fatal("no language choice")
		}
		sel.SetSelected(map[string]string{"": "简体中文", "zh": "English", "en": "简体中文"}[s.settings.Language])
		test.Tap(button(t, overlay, "Save"))
	}
	change()
	overlay := s.win.Canvas().Overlays().Top()
	test.Tap(button(t, overlay, "Later"))
	if len(restarts) != 0 || s.settings.Language != "zh" {
		t.Fatalf("Later: restarts %v, language %q", restarts, s.settings.Language)
	}
	change()
	test.Tap(button(t, s.win.Canvas().Overlays().Top(), "Restart now"))
	if !slices.Equal(restarts, []bool{true}) || s.settings.Language != "en" {
		t.Errorf("Restart now: restarts %v, language %q", restarts, s.settings.Language)
	}
}

// The new-stream form shows only the fields of the chosen source, and
// changes with the choice; Go live waits for a valid name.
func TestNewStreamFormShowsOnlyItsSourcesFields(t *testing.T) {
	s, _ := newTestStudio(t)
	var shown func(o fyne.CanvasObject) []string // the texts on screen
	shown = func(o fyne.CanvasObject) (out []string) {
		if !o.Visible() {
			return nil
		}
		switch c := o.(type) {
		case *canvas.Text:
			return []string{c.Text}
		case *fyne.Container:
			for _, ch := range c.Objects {
				out = append(out, shown(ch)...)
			}
		case fyne.Widget:
			for _, ch := range test.WidgetRenderer(c).Objects() {
				out = append(out, shown(ch)...)
			}
		}
		return out
	}
	labels := func() []string { return shown(s.win.Canvas().Overlays().Top()) }
	all := []string{"Device", "Screen", "Camera", "Microphone", "Quality", "Stream address", "Camera address", "Network transport"}
	want := map[string][]string{
		"camera":      {"Device", "Microphone", "Quality"},
		"screen":      {"Device", "Microphone", "Quality"},
		"testpattern": {"Quality"},
		"rtmp":        {},
		"pull":        {"Stream address"},
		"rtsp":        {"Camera address"}, // the transport is folded away
		"scene":       {"Screen", "Camera", "Microphone", "Quality"},
	}
	s.showNewStream("testpattern", s.host.Devices(false))
	kind, _ := find(s.win.Canvas().Overlays().Top(), func(sel *widget.Select) bool { return sel.Selected == "Test pattern" })
	for _, typ := range []string{"camera", "screen", "testpattern", "rtmp", "pull", "rtsp", "scene"} {
		kind.SetSelected(sourceText(engine.Source{Type: typ}))
		got := labels()
		for _, l := range all {
			if slices.Contains(got, l) != slices.Contains(want[typ], l) {
				t.Errorf("%s: the form shows %q: %v", typ, l, got)
			}
		}
		for _, l := range []string{"Source", "Name in the link", "Title"} {
			if !slices.Contains(got, l) {
				t.Errorf("%s: no %q in the form", typ, l)
			}
		}
	}
	name, _ := find(s.win.Canvas().Overlays().Top(), func(e *widget.Entry) bool { return e.Text == "class-1" })
	goLive := button(t, s.win.Canvas().Overlays().Top(), "Go live")
	test.Type(name, " bad name")
	if !goLive.Disabled() {
		t.Error("Go live is open to a bad name")
	}
}
