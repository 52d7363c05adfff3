package ui

// A stream's cover picture: what students see on the share page before the
// class starts and after it ends.

import (
	"errors"
	"fmt"
	"image"
	"io"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"
)

// MaxCoverBytes is the largest picture file the studio hands on as a
// cover.
const MaxCoverBytes = 16 << 20

// showCover shows the stream's cover (read off the UI goroutine), with a
// way to pick a picture or to go back to the stream's last frame.
func (c *card) showCover() {
	name := c.name
	c.s.background(func() {
		img, picked := c.s.host.Cover(name)
		fyne.Do(func() { c.coverDialog(img, picked) })
	})
}

func (c *card) coverDialog(img image.Image, picked bool) {
	s, name := c.s, c.name
	what := lang.L("No cover yet: once the stream has been live, its last picture is shown.")
	switch {
	case picked:
		what = lang.L("Your picture is shown.")
	case img != nil:
		what = lang.L("The stream's last picture is shown.")
	}
	note := widget.NewLabel(lang.L("Students see the cover on the share page before the class starts and after it ends.") + " " + what)
	note.Wrapping = fyne.TextWrapWord
	pic := canvas.NewImageFromImage(img)
	pic.FillMode = canvas.ImageFillContain
	pic.SetMinSize(fyne.NewSize(384, 216))
	var d *dialog.CustomDialog
	choose := widget.NewButton(lang.L("Choose a picture…"), func() {
		open := dialog.NewFileOpen(func(f fyne.URIReadCloser, err error) {
			if err != nil || f == nil {
				return
			}
			d.Hide()
			s.do("set cover", func() error {
				defer f.Close()
				b, err := io.ReadAll(io.LimitReader(f, MaxCoverBytes+1))
				if err != nil {
					return fmt.Errorf("%s: %w", f.URI().Name(), err)
				}
				if len(b) > MaxCoverBytes {
					return errors.New(fmt.Sprintf(lang.L("The picture is larger than %d MB."), MaxCoverBytes>>20))
				}
				return s.host.SetCover(name, b)
			})
		}, s.win)
		open.SetFilter(storage.NewExtensionFileFilter([]string{".jpg", ".jpeg", ".png"}))
		open.Show()
	})
	choose.Importance = widget.HighImportance
	useLast := widget.NewButton(lang.L("Use the last picture"), func() {
		d.Hide()
		s.do("remove cover", func() error { return s.host.RemoveCover(name) })
	})
	if !picked {
		useLast.Disable()
	}
	content := container.NewBorder(note, container.NewHBox(choose, useLast), nil, nil, pic)
	d = dialog.NewCustom(lang.L("Cover picture"), lang.L("Close"), content, s.win)
	s.showCustom(d)
}
