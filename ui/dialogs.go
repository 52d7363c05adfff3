package ui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
)

// dialogKeys are what Enter and Esc do in a dialog that is open.
type dialogKeys struct{ enter, esc func() }

// withKeys makes Enter call enter (if not nil) and Esc call esc while d is
// open; the newest open dialog has the keys. Fyne's dialogs take no keys
// by themselves, so the window's canvas hands them on.
func (s *Studio) withKeys(d dialog.Dialog, enter, esc func()) dialog.Dialog {
	k := &dialogKeys{enter: enter, esc: esc}
	s.keys = append(s.keys, k)
	d.SetOnClosed(func() {
		s.keys = slices.DeleteFunc(s.keys, func(o *dialogKeys) bool { return o == k })
	})
	return d
}

// typedKey is the window's key handler: keys that no widget took go to the
// open dialog.
func (s *Studio) typedKey(ev *fyne.KeyEvent) {
	if len(s.keys) == 0 {
		return
	}
	k := s.keys[len(s.keys)-1]
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if k.enter != nil {
			k.enter()
		}
	case fyne.KeyEscape:
		if k.esc != nil {
			k.esc()
		}
	}
}

// confirm asks before something students notice. Its buttons say what
// they do (never Yes/No): yes does it, no keeps things as they are. Enter
// is yes, Esc is no.
func (s *Studio) confirm(title, message, yes, no string, do func()) {
	d := dialog.NewConfirm(title, message, func(ok bool) {
		if ok {
			do()
		}
	}, s.win)
	d.SetConfirmText(yes)
	d.SetDismissText(no)
	s.withKeys(d, d.Confirm, d.Dismiss)
	d.Show()
}

// showForm shows a form dialog: Enter submits it when it is valid, Esc
// cancels.
func (s *Studio) showForm(d *dialog.FormDialog) {
	s.withKeys(d, d.Submit, d.Dismiss)
	d.Show()
}

// showCustom shows a dialog with one button that closes it, as Enter and
// Esc do.
func (s *Studio) showCustom(d *dialog.CustomDialog) {
	s.withKeys(d, d.Dismiss, d.Dismiss)
	d.Show()
}

// showInfo tells the teacher something; Enter or Esc closes it.
func (s *Studio) showInfo(title, message string) {
	d := dialog.NewInformation(title, message, s.win)
	s.withKeys(d, d.Dismiss, d.Dismiss)
	d.Show()
}

// showError says what went wrong; Enter or Esc closes it.
func (s *Studio) showError(err error) {
	d := dialog.NewError(err, s.win)
	s.withKeys(d, d.Dismiss, d.Dismiss)
	d.Show()
}
