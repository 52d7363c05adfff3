package ui

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"chalkcast/engine"
)

// addRecording puts a (tiny, empty) FLV recording of stream into the
// studio's recordings folder and the host's listing.
func addRecording(t *testing.T, s *Studio, stream, file string) string {
	t.Helper()
	start, err := time.ParseInLocation(stream+"_2006-01-02_15-04-05.flv", file, time.Local)
	if err != nil {
		t.Fatal(err)
	}
	path, err := s.host.(*fakeHost).addFile(stream, file, start, 13)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// rowOf is the Recordings window's row that lists file's stream and time.
func rowOf(o fyne.CanvasObject, label string) (*fyne.Container, bool) {
	return find(o, func(c *fyne.Container) bool {
		if len(c.Objects) != 2 { // the row's Border: the label and its buttons
			return false
		}
		l, ok := c.Objects[0].(*widget.Label)
		return ok && strings.HasPrefix(l.Text, label)
	})
}

// TestDeleteRecordingAsksFirst: Delete asks; Keep it keeps the file and
// its row, Delete the recording removes both, and the other recording
// stays.
func TestDeleteRecordingAsksFirst(t *testing.T) {
	s, _ := newTestStudio(t)
	gone := addRecording(t, s, "maths", "maths_2026-11-26_09-00-00.flv")
	kept := addRecording(t, s, "art", "art_2026-11-26_10-00-00.flv")
	test.Tap(button(t, s.win.Content(), "Recordings"))
	list := s.win.Canvas().Overlays().Top()
	row, ok := rowOf(list, "maths · ")
	if !ok {
		t.Fatal("the recording is not listed")
	}
	test.Tap(button(t, row, "Delete"))
	ask := s.win.Canvas().Overlays().Top()
	if ask == list {
		t.Fatal("Delete did not ask")
	}
	button(t, ask, "Delete the recording")
	test.Tap(button(t, ask, "Keep it"))
	if _, err := os.Stat(gone); err != nil {
		t.Fatalf("Keep it deleted the file: %v", err)
	}
	if _, ok := rowOf(list, "maths · "); !ok {
		t.Fatal("Keep it removed the row")
	}
	test.Tap(button(t, row, "Delete"))
	press(s, fyne.KeyEscape) // Esc keeps it too
	if _, err := os.Stat(gone); err != nil {
		t.Fatalf("Esc deleted the file: %v", err)
	}
	test.Tap(button(t, row, "Delete"))
	test.Tap(button(t, s.win.Canvas().Overlays().Top(), "Delete the recording"))
	if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file is still there: %v", err)
	}
	if s.win.Canvas().Overlays().Top() != list {
		t.Error("the Recordings window is not on top after deleting")
	}
	if _, ok := rowOf(list, "maths · "); ok {
		t.Error("the deleted recording is still listed")
	}
	if _, ok := rowOf(list, "art · "); !ok {
		t.Error("the other recording is no longer listed")
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("the other recording: %v", err)
	}
}

// ticks records what the studio asked to run while a list is open.
type ticks struct {
	every time.Duration
	done  <-chan struct{}
	f     func()
}

func catchTicks(s *Studio) *ticks {
	tk := &ticks{}
	s.every = func(d time.Duration, done <-chan struct{}, f func()) { tk.every, tk.done, tk.f = d, done, f }
	return tk
}

func (tk *ticks) closed() bool {
	select {
	case <-tk.done:
		return true
	default:
		return false
	}
}

// TestRecordingsRefreshWhileOpen: a recording made while the window is
// open appears at the next refresh, without reopening; closing the
// window ends the refreshing.
func TestRecordingsRefreshWhileOpen(t *testing.T) {
	s, _ := newTestStudio(t)
	tk := catchTicks(s)
	test.Tap(button(t, s.win.Content(), "Recordings"))
	list := s.win.Canvas().Overlays().Top()
	if tk.f == nil || tk.every != 2*time.Second {
		t.Fatalf("the window does not refresh every 2 s (%v)", tk.every)
	}
	if _, ok := find(list, func(l *widget.Label) bool { return strings.HasPrefix(l.Text, "No recordings yet") }); !ok {
		t.Fatal("no empty state")
	}
	addRecording(t, s, "maths", "maths_2026-11-26_09-00-00.flv")
	tk.f()
	if _, ok := rowOf(list, "maths · "); !ok {
		t.Fatal("the new recording did not appear")
	}
	if _, ok := find(list, func(l *widget.Label) bool { return strings.HasPrefix(l.Text, "No recordings yet") }); ok {
		t.Error("the empty state stayed")
	}
	if tk.closed() {
		t.Fatal("refreshing ended while the window is open")
	}
	press(s, fyne.KeyEscape)
	if !tk.closed() {
		t.Error("closing the window did not end the refreshing")
	}
}

// TestPlaySaysWhy: a recording that cannot be opened says why.
func TestPlaySaysWhy(t *testing.T) {
	s, _ := newTestStudio(t)
	path := addRecording(t, s, "maths", "maths_2026-11-26_09-00-00.flv")
	test.Tap(button(t, s.win.Content(), "Recordings"))
	row, ok := rowOf(s.win.Canvas().Overlays().Top(), "maths · ")
	if !ok {
		t.Fatal("the recording is not listed")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	test.Tap(button(t, row, "Play"))
	if _, ok := find(s.win.Canvas().Overlays().Top(), func(l *widget.Label) bool {
		return strings.Contains(l.Text, "no longer on this computer")
	}); !ok {
		t.Error("Play of a missing recording says nothing")
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{fs.ErrPermission, "not allowed"}, {errEmpty, "empty"}, {errors.New("read: input/output error"), "Read: input/output error"},
	} {
		if got := playMessage(c.err); !strings.Contains(got, c.want) {
			t.Errorf("playMessage(%v) = %q", c.err, got)
		}
	}
}

// TestViewersRefreshWhileOpen: a viewer who joins while the list is open
// is listed at the next refresh; closing it ends the refreshing.
func TestViewersRefreshWhileOpen(t *testing.T) {
	s, hub := newTestStudio(t)
	tk := catchTicks(s)
	c := liveCard(t, s, hub)
	test.Tap(button(t, c.root, "Viewers"))
	list := s.win.Canvas().Overlays().Top()
	if tk.f == nil {
		t.Fatal("the viewers list does not refresh")
	}
	st, _ := hub.Get("maths")
	v, err := st.Join(engine.ViewerInfo{Protocol: "flv", Remote: "192.0.2.10:5000"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Leave()
	eventually(t, s, "the viewer in the snapshot", func() bool { return len(c.last.ViewerList) == 1 })
	tk.f()
	if _, ok := find(list, func(l *widget.Label) bool { return strings.HasPrefix(l.Text, "192.0.2.10:5000 · FLV") }); !ok {
		t.Error("the new viewer is not listed")
	}
	press(s, fyne.KeyEscape)
	if !tk.closed() {
		t.Error("closing the list did not end the refreshing")
	}
}

// TestShareAndRenameLesson: a recording's row says whether students can
// watch it again; Unshare and Share change that, Rename asks for the
// title students see (and refuses an empty one); an FLV recording, which
// does not replay, has nothing to share.
func TestShareAndRenameLesson(t *testing.T) {
	s, _ := newTestStudio(t)
	h := s.host.(*fakeHost)
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.Local)
	if _, err := h.addFile("maths", "maths_2026-11-26_09-00-00.mp4", start, 40<<10); err != nil {
		t.Fatal(err)
	}
	addRecording(t, s, "art", "art_2026-11-26_10-00-00.flv")
	test.Tap(button(t, s.win.Content(), "Recordings"))
	list := s.win.Canvas().Overlays().Top()
	row, ok := rowOf(list, "maths · 2026-11-26 09:00\nmaths · ")
	if !ok || !strings.Contains(row.Objects[0].(*widget.Label).Text, "Students can watch it again") {
		t.Fatalf("the shared lesson's row: %v", row)
	}
	test.Tap(button(t, row, "Unshare"))
	files, _, _ := h.Recordings()
	if files[1].Shared {
		t.Fatal("Unshare left it shared")
	}
	row, _ = rowOf(list, "maths · 2026-11-26 09:00\n")
	if !strings.Contains(row.Objects[0].(*widget.Label).Text, "Not shared") {
		t.Errorf("the unshared lesson's row: %q", row.Objects[0].(*widget.Label).Text)
	}
	test.Tap(button(t, row, "Share"))
	if files, _, _ := h.Recordings(); !files[1].Shared {
		t.Fatal("Share did not share it")
	}

	row, _ = rowOf(list, "maths · 2026-11-26 09:00\n")
	test.Tap(button(t, row, "Rename"))
	form := s.win.Canvas().Overlays().Top()
	entry, ok := find(form, func(e *widget.Entry) bool { return e.Text == "maths · 2026-11-26 09:00" })
	if !ok {
		t.Fatal("Rename does not show the title")
	}
	entry.SetText("   ")
	if entry.Validate() == nil {
		t.Error("an empty title is accepted")
	}
	entry.SetText("Fractions, part 2")
	test.Tap(button(t, form, "Rename"))
	if files, _, _ := h.Recordings(); files[1].Title != "Fractions, part 2" {
		t.Fatalf("renamed to %q", files[1].Title)
	}
	if _, ok := rowOf(list, "Fractions, part 2\nmaths · "); !ok {
		t.Error("the row does not show the new title")
	}

	flv, ok := rowOf(list, "art · ")
	if !ok {
		t.Fatal("the FLV recording is not listed")
	}
	if b := button(t, flv, "Unshare"); b.Visible() || !strings.Contains(flv.Objects[0].(*widget.Label).Text, "download only") {
		t.Errorf("the FLV recording can be shared: %q", flv.Objects[0].(*widget.Label).Text)
	}
}

// TestCoverPicture: Cover picture says what students see and lets the
// teacher pick a picture (a file dialog) or go back to the last frame.
func TestCoverPicture(t *testing.T) {
	s, hub := newTestStudio(t)
	c := liveCard(t, s, hub)
	label := func(o fyne.CanvasObject) string {
		l, _ := find(o, func(l *widget.Label) bool { return strings.HasPrefix(l.Text, "Students see the cover") })
		if l == nil {
			t.Fatal("the cover window says nothing")
		}
		return l.Text
	}
	test.Tap(button(t, c.root, "Cover picture"))
	d := s.win.Canvas().Overlays().Top()
	if !strings.Contains(label(d), "No cover yet") || !button(t, d, "Use the last picture").Disabled() {
		t.Errorf("without a cover: %q", label(d))
	}
	test.Tap(button(t, d, "Choose a picture…"))
	if top := s.win.Canvas().Overlays().Top(); top == d {
		t.Error("Choose a picture… opened no file dialog")
	}
	press(s, fyne.KeyEscape)
	var png bytes.Buffer
	_ = pngEncode(&png)
	if err := s.host.SetCover(c.name, png.Bytes()); err != nil {
		t.Fatal(err)
	}
	test.Tap(button(t, c.root, "Cover picture"))
	d = s.win.Canvas().Overlays().Top()
	if !strings.Contains(label(d), "Your picture is shown.") {
		t.Errorf("with a picked cover: %q", label(d))
	}
	test.Tap(button(t, d, "Use the last picture"))
	if img, _ := s.host.Cover(c.name); img != nil {
		t.Error("Use the last picture kept the picked one")
	}
}

// pngEncode writes a small PNG.
func pngEncode(w io.Writer) error {
	return png.Encode(w, image.NewGray(image.Rect(0, 0, 16, 9)))
}
