package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"os"
	"os/exec"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"

	"chalkcast/assets"
	"chalkcast/engine"
	"chalkcast/engine/store"
	"chalkcast/outputs/push"
	"chalkcast/outputs/record"
	"chalkcast/outputs/web"
	"chalkcast/sources/scene"
	"chalkcast/ui"
)

// appID identifies Chalkcast to the desktop (preferences, notifications).
const appID = "app.chalkcast.studio"

// studio runs Chalkcast with its window. Flags given on the command line
// win over the saved settings.
func studio(ctx context.Context, o options, set map[string]bool, log *slog.Logger) int {
	env := os.Environ() // before the language setting changes it: what a restart starts with
	a := app.NewWithID(appID)
	settings := ui.LoadSettings(a.Preferences())
	ui.ApplyLanguage(settings.Language)
	if err := lang.AddTranslationsFS(assets.Translations, "translations"); err != nil {
		log.Warn("translations not loaded", "err", err)
	}
	font, err := ui.UseChineseFonts(a)
	if err != nil {
		log.Warn("no Chinese font: Chinese text may mix two weights", "err", err)
	}
	if font != nil { // the built-in font has Latin letters only
		o.Placeholders = scene.Labels{Text: ui.PlaceholderLabels(), Font: font}
	}
	if !set["http"] {
		o.HTTPAddr = fmt.Sprintf(":%d", settings.HTTPPort)
	}
	if !set["rtmp"] {
		o.RTMPAddr = fmt.Sprintf(":%d", settings.RTMPPort)
	}
	if !set["data"] && settings.DataDir != "" {
		o.DataDir = settings.DataDir
	}
	o.HoldCapture = true // opening the studio never switches a camera on
	in, err := start(o, log)
	if err != nil {
		// say why in a window: a teacher does not read a terminal
		log.Error("chalkcast could not start", "err", err)
		w := a.NewWindow("Chalkcast")
		w.Resize(fyne.NewSize(560, 240))
		why := lang.L("Chalkcast could not start. Is it already running? Another program may use its ports (Settings).")
		if locked := (*store.LockedError)(nil); errors.As(err, &locked) {
			why = lang.L("Chalkcast is already running with this data folder. Use the window that is open, or close it first.")
		}
		dialog.ShowError(fmt.Errorf("%s\n\n%w", why, err), w)
		w.SetOnClosed(a.Quit)
		go func() { <-ctx.Done(); fyne.Do(a.Quit) }() // a signal closes this window too
		w.ShowAndRun()
		return 1
	}
	defer in.stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	restart := false
	s := ui.New(a, in.hub, host{in}, settings, log, func(again bool) {
		restart = again
		cancel()
		a.Quit()
	})
	defer in.rec.Listen(func(e record.Event) { recorded(s, e) })()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	failed := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done(): // a signal, or the teacher quit
		case err := <-in.errc:
			log.Error("a server stopped", "err", err)
			close(failed)
		}
		fyne.Do(a.Quit)
	}()
	s.Window().ShowAndRun()
	cancel()
	<-done
	select {
	case <-failed:
		return 1
	default:
	}
	if restart {
		in.stop() // the ports and the data folder are free for the new run
		if err := relaunch(os.Args[1:], env); err != nil {
			log.Error("chalkcast could not start again", "err", err)
			return 1
		}
	}
	return 0
}

// relaunch starts Chalkcast's program again, with args and env.
func relaunch(args, env []string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding chalkcast's program: %w", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", exe, err)
	}
	return cmd.Process.Release()
}

// host gives the studio what lives outside the engine.
type host struct{ in *instance }

func (h host) Addresses() []string {
	host, _ := h.in.web.Base() // the address shared by default
	out := []string{host}
	for _, a := range web.LANAddresses() {
		if a.IP != out[0] {
			out = append(out, a.IP)
		}
	}
	if out[0] != "127.0.0.1" {
		out = append(out, "127.0.0.1") // this computer only
	}
	return out
}

func (h host) Ports() (int, int) { return port(h.in.addrs.HTTP), port(h.in.addrs.RTMP) }

func (h host) WHIP() bool { return h.in.addrs.WebRTC != 0 }

func (h host) Devices(rescan bool) ui.Devices {
	d := h.in.devices.List(rescan)
	var out ui.Devices
	for _, c := range d.Cameras {
		out.Cameras = append(out.Cameras, ui.Device{ID: c.ID, Name: c.Name})
	}
	for _, c := range d.Screens { // "Screen 1 · 1920×1080", the word translated
		out.Screens = append(out.Screens, ui.Device{ID: c.ID, Name: lang.L("Screen") + strings.TrimPrefix(c.Name, "Screen")})
	}
	for _, c := range d.Microphones {
		out.Microphones = append(out.Microphones, ui.Device{ID: c.ID, Name: c.Name})
	}
	for _, p := range d.Presets {
		out.Presets = append(out.Presets, ui.Preset{Name: p.Name, Description: p.Description})
	}
	return out
}

// Thumbnail: a screen that cannot be photographed (gone, or in use
// before its first thumbnail) shows none; the form still offers it.
func (h host) Thumbnail(screen string) image.Image {
	img, err := h.in.devices.Thumbnail(screen, 240)
	if err != nil {
		return nil
	}
	return img
}

func (h host) CheckSource(src engine.Source) error { return h.in.srcs.Check(src) }

func (h host) TestSource(ctx context.Context, src engine.Source) (*engine.SourceReport, error) {
	return h.in.srcs.Test(ctx, src)
}

func (h host) StartRecording(name string) error {
	_, err := h.in.rec.Start(name, nil)
	return err
}

func (h host) StopRecording(name string) error {
	_, err := h.in.rec.Stop(name)
	return err
}

func (h host) Recording(name string) ui.RecordingStatus {
	st := recordingStatus(h.in.rec.Status(name))
	if s, ok := h.in.hub.Get(name); ok {
		st.ShareNew = !record.SettingsOf(s.Config()).Unshared
	}
	return st
}

func (h host) SetAutoRecord(name string, on bool) error {
	return h.changeRecording(name, func(o *record.Settings) { o.Auto = on })
}

func (h host) SetShareNew(name string, on bool) error {
	return h.changeRecording(name, func(o *record.Settings) { o.Unshared = !on })
}

// changeRecording changes one of stream name's recording settings.
func (h host) changeRecording(name string, change func(*record.Settings)) error {
	s, ok := h.in.hub.Get(name)
	if !ok {
		return fmt.Errorf("stream %s: %w", name, engine.ErrNotFound)
	}
	o := record.SettingsOf(s.Config())
	change(&o)
	return h.in.rec.SetSettings(name, o)
}

func (h host) Cover(name string) (image.Image, bool) {
	jpg, picked, err := h.in.covers.Current(name)
	if err != nil {
		return nil, false
	}
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		return nil, false
	}
	return img, picked
}

func (h host) SetCover(name string, picture []byte) error { return h.in.covers.Set(name, picture) }

func (h host) RemoveCover(name string) error { return h.in.covers.Remove(name) }

func (h host) ShareLesson(id string, shared bool) error {
	_, err := h.in.rec.ChangeLesson(id, record.LessonChange{Shared: &shared})
	return err
}

func (h host) RenameLesson(id, title string) error {
	_, err := h.in.rec.ChangeLesson(id, record.LessonChange{Title: &title})
	return err
}

func (h host) AddPush(name, url, playURL string) error {
	_, err := h.in.push.Add(name, push.Target{URL: url, PlayURL: playURL})
	return err
}

func (h host) RemovePush(name, id string) error { return h.in.push.Remove(name, id) }

func (h host) Version() string { return version }

func (h host) Look(name string, width int) func() { return h.in.mon.Look(name, width) }

func (h host) Preview(name string) image.Image {
	if p := h.in.mon.Picture(name); p != nil {
		return p.Image
	}
	return nil
}

func (h host) Pushes(name string) []ui.PushStatus {
	var out []ui.PushStatus
	for _, st := range h.in.push.Status(name) {
		out = append(out, ui.PushStatus{ID: st.ID, URL: st.URL, PlayURL: st.PlayURL, State: st.State, Kbps: st.BitrateKbps, LastError: st.LastError})
	}
	return out
}

func (h host) Recordings() ([]ui.RecordingFile, string, error) {
	return recordingFiles(h.in.rec)
}

func (h host) DeleteRecording(stream, file string) error {
	err := h.in.rec.Delete(stream, file)
	if errors.Is(err, record.ErrWriting) {
		return fmt.Errorf("%w: %w", ui.ErrStillRecording, err)
	}
	return err
}

// recorded tells the studio what the recorder said.
func recorded(s *ui.Studio, e record.Event) {
	switch e.Kind {
	case record.EventSaved:
		s.Recorded(ui.RecordingNotice{Kind: ui.NoticeSaved, Stream: e.Stream, File: e.File.Name, Duration: e.File.Duration, Size: e.File.Size})
	case record.EventFailed:
		s.Recorded(ui.RecordingNotice{Kind: ui.NoticeFailed, Stream: e.Stream, Error: e.Err.Error()})
	case record.EventDiskLow:
		s.Recorded(ui.RecordingNotice{Kind: ui.NoticeDiskLow, Free: e.Free})
	}
}

// recordingStatus and recordingFiles give the studio the recorder's view
// in its own types.
func recordingStatus(st record.Status) ui.RecordingStatus {
	return ui.RecordingStatus{Auto: st.Auto, Active: st.Active, Duration: st.Duration, Bytes: st.Bytes, Error: st.Error}
}

// A finished recording's row shows its lesson.
func recordingFiles(rec *record.Recorder) ([]ui.RecordingFile, string, error) {
	files, err := rec.List()
	lessons := map[string]record.Lesson{} // by stream/file
	for _, f := range files {
		if _, ok := lessons[f.Stream]; ok {
			continue
		}
		lessons[f.Stream] = record.Lesson{} // its lessons are listed
		ls, lerr := rec.Lessons(f.Stream, true)
		if err == nil {
			err = lerr
		}
		for _, l := range ls {
			lessons[f.Stream+"/"+l.File] = l
		}
	}
	out := make([]ui.RecordingFile, 0, len(files))
	for _, f := range files {
		l := lessons[f.Stream+"/"+f.Name]
		out = append(out, ui.RecordingFile{Stream: f.Stream, Name: f.Name, Path: f.Path, Start: f.Start,
			Duration: f.Duration, Size: f.Size, Recording: f.Recording,
			Lesson: l.ID, Title: l.Title, Shared: l.Shared, Replay: l.Replay, Viewers: l.Viewers})
	}
	return out, rec.Dir(), err
}
