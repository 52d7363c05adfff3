package ui

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// recordControls are a card's recording button, state line and setting.
type recordControls struct {
	c      *card
	button *widget.Button
	state  *widget.Label
	auto   *widget.Check
	share  *widget.Check
	box    fyne.CanvasObject
}

func newRecordControls(c *card) *recordControls {
	r := &recordControls{c: c, state: widget.NewLabel("")}
	r.state.Wrapping = fyne.TextWrapWord
	r.button = widget.NewButtonWithIcon(lang.L("Record"), theme.MediaRecordIcon(), r.toggle)
	r.auto = widget.NewCheck(lang.L("Record whenever live"), func(on bool) {
		if r.c.last.Recording.Auto == on {
			return
		}
		name := r.c.name
		r.c.s.do("recording setting", func() error { return r.c.s.host.SetAutoRecord(name, on) })
	})
	r.share = widget.NewCheck(lang.L("Share new recordings"), func(on bool) {
		if r.c.last.Recording.ShareNew == on {
			return
		}
		name := r.c.name
		r.c.s.do("sharing setting", func() error { return r.c.s.host.SetShareNew(name, on) })
	})
	r.box = container.NewVBox(container.NewHBox(r.button, r.auto, r.share), r.state)
	return r
}

func (r *recordControls) toggle() {
	name, active := r.c.name, r.c.last.Recording.Active
	r.c.s.do("record", func() error {
		if active {
			return r.c.s.host.StopRecording(name)
		}
		return r.c.s.host.StartRecording(name)
	})
}

func (r *recordControls) update(sn snapshot) {
	rs := sn.Recording
	if rs.Active {
		r.button.SetText(lang.L("Stop recording"))
		r.button.SetIcon(theme.MediaStopIcon())
		r.button.Importance = widget.DangerImportance
		r.state.SetText(fmt.Sprintf("● %s %s · %s", lang.L("Recording"), clock(rs.Duration), size(rs.Bytes)))
	} else {
		r.button.SetText(lang.L("Record"))
		r.button.SetIcon(theme.MediaRecordIcon())
		r.button.Importance = widget.MediumImportance
		if rs.Error != "" {
			r.state.SetText(lang.L("Recording stopped") + ": " + plainText(rs.Error))
		} else {
			r.state.SetText("")
		}
	}
	r.button.Refresh()
	if rs.Active || sn.State.Active() {
		r.button.Enable()
	} else {
		r.button.Disable() // nothing to record until the stream is live
	}
	r.auto.SetChecked(rs.Auto)
	r.share.SetChecked(rs.ShareNew)
}

// clock formats a duration as h:mm:ss.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// size formats a byte count for people.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
}

// showRecordings lists the recordings with Share, Rename, Play, Delete
// and Open folder; the list is read off the UI goroutine.
func (s *Studio) showRecordings() {
	s.background(func() {
		files, folder, err := s.host.Recordings()
		fyne.Do(func() {
			if err != nil {
				s.showInfo(lang.L("Recordings"), plain(err))
				return
			}
			s.recordingsDialog(files, folder)
		})
	})
}

// recordingsView is the open Recordings window; its rows are rebuilt from
// each listing.
type recordingsView struct {
	s      *Studio
	rows   *fyne.Container
	folder *widget.Label
	dir    string
	files  []RecordingFile
	done   chan struct{} // closed with the window
}

func (s *Studio) recordingsDialog(files []RecordingFile, folder string) {
	v := &recordingsView{s: s, rows: container.NewVBox(), folder: widget.NewLabel(""), done: make(chan struct{})}
	v.set(files, folder)
	openFolder := widget.NewButtonWithIcon(lang.L("Open folder"), theme.FolderOpenIcon(), func() { s.open(v.dir) })
	scroll := container.NewVScroll(v.rows)
	scroll.SetMinSize(fyne.NewSize(560, 320))
	content := container.NewBorder(nil, container.NewBorder(nil, nil, v.folder, openFolder), nil, nil, scroll)
	d := dialog.NewCustom(lang.L("Recordings"), lang.L("Close"), content, s.win)
	d.SetOnClosed(func() { close(v.done) })
	s.every(listRefresh, v.done, v.reload)
	s.showCustom(d)
}

// listRefresh is how often open lists (recordings, viewers) are read
// again.
const listRefresh = 2 * time.Second

// set shows files; it runs on the Fyne goroutine.
func (v *recordingsView) set(files []RecordingFile, folder string) {
	v.files, v.dir = files, folder
	v.folder.SetText(folder)
	rows := []fyne.CanvasObject{}
	if len(files) == 0 {
		rows = append(rows, widget.NewLabel(lang.L("No recordings yet. Press Record on a live stream, or tick “Record whenever live”.")))
	}
	for i, f := range files {
		if i > 0 {
			rows = append(rows, widget.NewSeparator())
		}
		rows = append(rows, v.row(f))
	}
	v.rows.Objects = rows
	v.rows.Refresh()
}

// reload lists the recordings again, off the UI goroutine, and shows
// what changed while the window is open; on failure the last listing
// stays.
func (v *recordingsView) reload() {
	files, folder, err := v.s.host.Recordings()
	if err != nil {
		v.s.log.Warn("list recordings failed", "err", err)
		return
	}
	fyne.Do(func() {
		select {
		case <-v.done:
			return
		default:
		}
		if folder != v.dir || !slices.Equal(files, v.files) {
			v.set(files, folder)
		}
	})
}

// confirmDelete asks, then deletes off the UI goroutine and drops the row.
func (v *recordingsView) confirmDelete(f RecordingFile) {
	s := v.s
	s.confirm(lang.L("Delete this recording?"),
		fmt.Sprintf(lang.L("%s is removed from this computer. This cannot be undone."), f.Name),
		lang.L("Delete the recording"), lang.L("Keep it"),
		func() {
			s.background(func() {
				err := s.host.DeleteRecording(f.Stream, f.Name)
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					s.log.Warn("delete recording failed", "stream", f.Stream, "file", f.Name, "err", err)
				}
				fyne.Do(func() {
					if err != nil && !errors.Is(err, fs.ErrNotExist) { // one already gone is dropped too
						s.showInfo(lang.L("Recordings"), deleteMessage(err))
						return
					}
					v.set(slices.DeleteFunc(slices.Clone(v.files), func(o RecordingFile) bool {
						return o.Stream == f.Stream && o.Name == f.Name
					}), v.dir)
				})
			})
		})
}

// deleteMessage says in plain words why a recording was not deleted.
func deleteMessage(err error) string {
	if errors.Is(err, ErrStillRecording) {
		return lang.L("This recording is still being made. Stop recording first, then delete it.")
	}
	return fmt.Sprintf(lang.L("The recording could not be deleted: %s"), plain(err))
}

// errEmpty: a recording file with nothing in it.
var errEmpty = errors.New("empty file")

// play checks off the UI goroutine that a recording can be read, then
// hands it to the system's player; when it cannot, it says why.
func (s *Studio) play(path string) {
	s.background(func() {
		err := readable(path)
		if err != nil {
			s.log.Warn("recording cannot be played", "file", path, "err", err)
		}
		fyne.Do(func() {
			if err != nil {
				s.showInfo(lang.L("This recording cannot be played"), playMessage(err))
				return
			}
			u := &url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
			if err := s.app.OpenURL(u); err != nil {
				s.log.Warn("open recording failed", "file", path, "err", err)
				s.showInfo(lang.L("This recording cannot be played"),
					lang.L("No program on this computer plays video files. Install a video player such as VLC, or use Open folder."))
			}
		})
	})
}

// readable opens a recording and reads its first byte.
func readable(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fs.ErrNotExist
	}
	if st.Size() == 0 {
		return errEmpty
	}
	var b [1]byte
	_, err = fh.Read(b[:])
	return err
}

// playMessage says in plain words why a recording cannot be played.
func playMessage(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return lang.L("This recording is no longer on this computer: it was moved or deleted.")
	case errors.Is(err, fs.ErrPermission):
		return lang.L("Chalkcast is not allowed to read this recording. Check the permissions of the recordings folder.")
	case errors.Is(err, errEmpty):
		return lang.L("This recording is empty: nothing was recorded into it.")
	}
	return fmt.Sprintf(lang.L("This recording cannot be read (the disk may be failing): %s"), plainText(err.Error()))
}

// open hands a file or folder to the system's player or file manager.
func (s *Studio) open(path string) {
	u := &url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	if err := s.app.OpenURL(u); err != nil {
		s.showInfo(lang.L("Recordings"), fmt.Sprintf(lang.L("Cannot open %s: %v"), path, err))
	}
}

// RecordingNotice is something the recorder tells the teacher.
type RecordingNotice struct {
	Kind NoticeKind
	// Stream, and for a saved file its name, length and size.
	Stream   string
	File     string
	Duration time.Duration
	Size     int64
	// Error is why a recording stopped.
	Error string
	// Free is what is left where recordings are written.
	Free uint64
}

// NoticeKind says what a RecordingNotice tells.
type NoticeKind int

// What the recorder tells.
const (
	NoticeSaved   NoticeKind = iota // a file was saved
	NoticeFailed                    // a recording stopped on an error
	NoticeDiskLow                   // recordings are running out of space
)

// Recorded tells the teacher what the recorder said, with a desktop
// notification, and shows it at the next refresh. Main calls it from the
// recorder's goroutines; it returns at once.
func (s *Studio) Recorded(n RecordingNotice) {
	s.notify.deliver(recordingMessage(n))
	s.kickRefresh()
}

// recordingMessage is the notification for a recording notice.
func recordingMessage(n RecordingNotice) (string, string) {
	switch n.Kind {
	case NoticeSaved:
		return fmt.Sprintf(lang.L("Recording of “%s” saved"), n.Stream),
			fmt.Sprintf("%s · %s · %s", n.File, clock(n.Duration), size(n.Size))
	case NoticeFailed:
		return fmt.Sprintf(lang.L("Recording of “%s” stopped"), n.Stream), plainText(n.Error)
	case NoticeDiskLow:
		return lang.L("Disk space is low"), fmt.Sprintf(lang.L("%s left for recordings"), size(int64(n.Free)))
	}
	return "", ""
}
