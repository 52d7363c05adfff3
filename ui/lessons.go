package ui

// The Recordings window's rows: each recording is a lesson students can
// watch again once it is shared.

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// row is one recording: its lesson's title, what it is and whether
// students see it, and its buttons below.
func (v *recordingsView) row(f RecordingFile) fyne.CanvasObject {
	title := f.Title
	if title == "" {
		title = f.Name
	}
	what := fmt.Sprintf("%s · %s · %s · %s", f.Stream, f.Start.Local().Format("2006-01-02 15:04"), clock(f.Duration), size(f.Size))
	switch {
	case f.Recording:
		what += " · " + lang.L("recording…")
	case !f.Replay:
		what += " · " + lang.L("FLV: download only, no replay for students")
	case f.Shared:
		what += " · " + lang.L("Students can watch it again")
	default:
		what += " · " + lang.L("Not shared")
	}
	if f.Viewers > 0 {
		what += " · " + fmt.Sprintf(lang.L("%d replaying"), f.Viewers)
	}
	label := widget.NewLabel(title + "\n" + what)
	label.Wrapping = fyne.TextWrapWord
	share := widget.NewButtonWithIcon(lang.L("Share"), theme.VisibilityIcon(), func() { v.share(f, true) })
	if f.Shared {
		share = widget.NewButtonWithIcon(lang.L("Unshare"), theme.VisibilityOffIcon(), func() { v.share(f, false) })
	}
	rename := widget.NewButtonWithIcon(lang.L("Rename"), theme.DocumentCreateIcon(), func() { v.rename(f) })
	play := widget.NewButtonWithIcon(lang.L("Play"), theme.MediaPlayIcon(), func() { v.s.play(f.Path) })
	del := widget.NewButtonWithIcon(lang.L("Delete"), theme.DeleteIcon(), func() { v.confirmDelete(f) })
	if f.Recording || f.Lesson == "" {
		share.Disable()
		rename.Disable()
		play.Disable()
		del.Disable() // stop recording first
	}
	if !f.Replay {
		share.Hide() // nothing students could play
	}
	return container.NewBorder(nil, container.NewHBox(layout.NewSpacer(), share, rename, play, del), nil, nil, label)
}

// share shares or unshares a lesson, then lists again.
func (v *recordingsView) share(f RecordingFile, on bool) {
	v.s.do("share lesson", func() error {
		if err := v.s.host.ShareLesson(f.Lesson, on); err != nil {
			return err
		}
		v.reload()
		return nil
	})
}

// rename asks for a lesson's new title.
func (v *recordingsView) rename(f RecordingFile) {
	s := v.s
	entry := widget.NewEntry()
	entry.SetText(f.Title)
	entry.Validator = func(t string) error {
		if strings.TrimSpace(t) == "" {
			return errors.New(lang.L("A lesson needs a title"))
		}
		return nil
	}
	items := []*widget.FormItem{{Text: lang.L("Title"), Widget: entry, HintText: lang.L("What students see in the list of lessons")}}
	d := dialog.NewForm(lang.L("Rename the lesson"), lang.L("Rename"), lang.L("Cancel"), items, func(ok bool) {
		if !ok {
			return
		}
		title := entry.Text
		s.do("rename lesson", func() error {
			if err := s.host.RenameLesson(f.Lesson, title); err != nil {
				return err
			}
			v.reload()
			return nil
		})
	}, s.win)
	d.Resize(fyne.NewSize(480, 200))
	s.showForm(d)
}
