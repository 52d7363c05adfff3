package ui

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// addRecording puts a (tiny, empty) FLV recording of stream into the
// studio's recordings folder, as the listing reads it.
func addRecording(t *testing.T, s *Studio, stream, file string) string {
	t.Helper()
	path := filepath.Join(s.host.(testHost).rec.Dir(), stream, file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"), 0o644); err != nil {
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
