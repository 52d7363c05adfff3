package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// PushStatus is one server a stream is sent on to.
type PushStatus struct {
	ID, URL, PlayURL string
	State            string // waiting, connecting, live, retrying
	Kbps             float64
	LastError        string
}

// pushControls are a card's list of servers the stream is pushed to.
type pushControls struct {
	c    *card
	list *fyne.Container
	box  fyne.CanvasObject
	// cdn shows the servers' play addresses next to the LAN link
	cdn  *widget.Label
	last []PushStatus
}

func newPushControls(c *card) *pushControls {
	p := &pushControls{c: c, list: container.NewVBox(), cdn: widget.NewLabel("")}
	p.cdn.Wrapping = fyne.TextWrapWord
	add := widget.NewButtonWithIcon(lang.L("Push to a server…"), theme.UploadIcon(), p.showAdd)
	p.box = container.NewVBox(p.list, container.NewHBox(add))
	return p
}

func pushStateText(st PushStatus) string {
	switch st.State {
	case "live":
		return fmt.Sprintf("%s · %s", lang.L("Sending"), formatKbps(st.Kbps))
	case "connecting":
		return lang.L("Connecting…")
	case "retrying":
		return lang.L("Trying again") + ": " + plainText(st.LastError)
	}
	return lang.L("Waits until the stream is live")
}

func (p *pushControls) update(sn snapshot) {
	same := len(sn.Pushes) == len(p.last)
	for i := 0; same && i < len(sn.Pushes); i++ {
		same = sn.Pushes[i] == p.last[i]
	}
	if same {
		return
	}
	p.last = sn.Pushes
	p.list.RemoveAll()
	cdn := ""
	for _, st := range sn.Pushes {
		id := st.ID
		url := st.URL
		remove := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
			p.c.s.confirm(lang.L("Stop pushing to this server?"),
				fmt.Sprintf(lang.L("Viewers watching through %s lose the stream."), url),
				lang.L("Remove the push"), lang.L("Keep it"),
				func() { p.c.s.do("remove push", func() error { return p.c.s.host.RemovePush(p.c.name, id) }) })
		})
		line := widget.NewLabel(st.URL + " — " + pushStateText(st))
		line.Wrapping = fyne.TextWrapWord
		p.list.Add(container.NewBorder(nil, nil, nil, remove, line))
		if st.PlayURL != "" {
			cdn += "\n" + st.PlayURL
		}
	}
	if cdn != "" {
		p.cdn.SetText(lang.L("Also watchable at:") + cdn)
		p.cdn.Show()
	} else {
		p.cdn.Hide()
	}
}

// showAdd asks for a server's address (and where its viewers watch).
func (p *pushControls) showAdd() {
	addr := widget.NewEntry()
	addr.SetPlaceHolder("rtmp://live.example.com/app/streamkey")
	play := widget.NewEntry()
	play.SetPlaceHolder("https://live.example.com/app/stream.flv")
	items := []*widget.FormItem{
		{Text: lang.L("Server address"), Widget: addr, HintText: lang.L("From the live service: server and stream key in one rtmp:// or rtmps:// address")},
		{Text: lang.L("Watch address"), Widget: play, HintText: lang.L("Optional: where students outside the school watch")},
	}
	d := dialog.NewForm(lang.L("Push to a server"), lang.L("Add"), lang.L("Cancel"), items, func(ok bool) {
		if !ok {
			return
		}
		url, playURL := addr.Text, play.Text
		p.c.s.do("add push", func() error { return p.c.s.host.AddPush(p.c.name, url, playURL) })
	}, p.c.s.win)
	d.Resize(fyne.NewSize(560, 300))
	p.c.s.showForm(d)
}
