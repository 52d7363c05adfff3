package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/png" // covers
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"chalkcast/engine"
	"chalkcast/media/encode"
	"chalkcast/media/monitor"
)

// fakeHost plays main's Host for the studio's tests: the real source
// checks, presets and monitor, and recordings and pushes as plain state
// that a test sets and reads, so that it says what the outputs report and
// checks what the studio shows and asks. How main answers from the real
// recorder and pusher is tested in the root package (host_test.go).
type fakeHost struct {
	srcs *engine.Sources
	mon  *monitor.Monitor
	dir  string // the recordings folder

	mu        sync.Mutex
	recording map[string]RecordingStatus
	files     []RecordingFile
	pushes    map[string][]PushStatus
	covers    map[string][]byte
	added     int
}

func newFakeHost(srcs *engine.Sources, mon *monitor.Monitor, dir string) *fakeHost {
	return &fakeHost{srcs: srcs, mon: mon, dir: dir, recording: map[string]RecordingStatus{}, pushes: map[string][]PushStatus{}, covers: map[string][]byte{}}
}

func (*fakeHost) Addresses() []string { return []string{"127.0.0.1"} }
func (*fakeHost) Ports() (int, int)   { return 8080, 1935 }
func (*fakeHost) WHIP() bool          { return true }
func (*fakeHost) Version() string     { return "9.8.7" }

func (*fakeHost) Devices(bool) Devices {
	d := Devices{Screens: []Device{{ID: "X11Screen0", Name: "Screen 1 · 1280×720"}}}
	for _, p := range encode.Presets() {
		d.Presets = append(d.Presets, Preset{Name: p.Name, Description: p.Description})
	}
	return d
}

// Thumbnail: the fake host's screens show grey.
func (*fakeHost) Thumbnail(string) image.Image {
	return image.NewUniform(color.Gray{Y: 128})
}

func (h *fakeHost) CheckSource(src engine.Source) error { return h.srcs.Check(src) }

func (h *fakeHost) TestSource(ctx context.Context, src engine.Source) (*engine.SourceReport, error) {
	return h.srcs.Test(ctx, src)
}

func (h *fakeHost) Look(name string, width int) func() { return h.mon.Look(name, width) }

func (h *fakeHost) Preview(name string) image.Image {
	if p := h.mon.Picture(name); p != nil {
		return p.Image
	}
	return nil
}

func (h *fakeHost) StartRecording(name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.recording[name]
	if st.Active {
		return errors.New("the stream is already being recorded")
	}
	st.Active, st.Duration, st.Bytes, st.Error = true, 0, 0, ""
	h.recording[name] = st
	return nil
}

// StopRecording ends the recording as the recorder does: its file is
// listed, 40 KB of it.
func (h *fakeHost) StopRecording(name string) error {
	h.mu.Lock()
	st := h.recording[name]
	if !st.Active {
		h.mu.Unlock()
		return errors.New("the stream is not being recorded")
	}
	st.Active = false
	h.recording[name] = st
	h.mu.Unlock()
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.Local)
	_, err := h.addFile(name, fmt.Sprintf("%s_%s.mp4", name, start.Format("2006-01-02_15-04-05")), start, 40<<10)
	return err
}

func (h *fakeHost) Recording(name string) RecordingStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.recording[name]
}

func (h *fakeHost) SetAutoRecord(name string, on bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.recording[name]
	st.Auto = on
	h.recording[name] = st
	return nil
}

func (h *fakeHost) SetShareNew(name string, on bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.recording[name]
	st.ShareNew = on
	h.recording[name] = st
	return nil
}

// Cover is the picture SetCover was given, until RemoveCover.
func (h *fakeHost) Cover(name string) (image.Image, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.covers[name]
	if !ok {
		return nil, false
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, false
	}
	return img, true
}

func (h *fakeHost) SetCover(name string, picture []byte) error {
	if _, _, err := image.DecodeConfig(bytes.NewReader(picture)); err != nil {
		return errors.New("the cover must be a JPEG or PNG picture")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.covers[name] = picture
	return nil
}

func (h *fakeHost) RemoveCover(name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.covers, name)
	return nil
}

// ShareLesson and RenameLesson change a listed lesson.
func (h *fakeHost) ShareLesson(id string, shared bool) error {
	return h.lesson(id, func(f *RecordingFile) { f.Shared = shared })
}

func (h *fakeHost) RenameLesson(id, title string) error {
	return h.lesson(id, func(f *RecordingFile) { f.Title = strings.TrimSpace(title) })
}

func (h *fakeHost) lesson(id string, change func(*RecordingFile)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(h.files, func(f RecordingFile) bool { return f.Lesson == id })
	if i < 0 {
		return fmt.Errorf("lesson %s: %w", id, os.ErrNotExist)
	}
	change(&h.files[i])
	return nil
}

// addFile writes a recording of size bytes into the folder and lists it
// as a shared lesson.
func (h *fakeHost) addFile(stream, file string, start time.Time, size int) (string, error) {
	path := filepath.Join(h.dir, stream, file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		return "", err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	id := strings.TrimSuffix(file, filepath.Ext(file))
	h.files = append([]RecordingFile{{Stream: stream, Name: file, Path: path, Start: start, Duration: time.Minute, Size: int64(size),
		Lesson: id, Title: stream + " · " + start.Format("2006-01-02 15:04"), Shared: true, Replay: filepath.Ext(file) == ".mp4"}}, h.files...)
	return path, nil
}

func (h *fakeHost) Recordings() ([]RecordingFile, string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.files), h.dir, nil
}

func (h *fakeHost) DeleteRecording(stream, file string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(h.files, func(f RecordingFile) bool { return f.Stream == stream && f.Name == file })
	switch {
	case i < 0:
		return fmt.Errorf("recording %s: %w", file, os.ErrNotExist)
	case h.files[i].Recording:
		return ErrStillRecording
	}
	if err := os.Remove(h.files[i].Path); err != nil {
		return err
	}
	h.files = slices.Delete(h.files, i, i+1)
	return nil
}

func (h *fakeHost) Pushes(name string) []PushStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.pushes[name])
}

// AddPush lists the target as waiting; a test says when it sends.
func (h *fakeHost) AddPush(name, url, playURL string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.added++
	h.pushes[name] = append(h.pushes[name], PushStatus{ID: fmt.Sprint(h.added), URL: url, PlayURL: playURL, State: "waiting"})
	return nil
}

func (h *fakeHost) RemovePush(name, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps := h.pushes[name]
	i := slices.IndexFunc(ps, func(p PushStatus) bool { return p.ID == id })
	if i < 0 {
		return fmt.Errorf("push %s: %w", id, engine.ErrNotFound)
	}
	h.pushes[name] = slices.Delete(ps, i, i+1)
	return nil
}

// setPush changes what the pusher reports of stream name's first target.
func (h *fakeHost) setPush(name string, change func(*PushStatus)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	change(&h.pushes[name][0])
}
