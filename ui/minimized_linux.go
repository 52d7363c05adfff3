package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// iconicState is ICCCM's WM_STATE of a window shown as an icon.
const iconicState = 3

// minimizedCheck tells whether the window manager has minimized win:
// its ICCCM WM_STATE is IconicState. It asks the X server over a
// connection of its own, opened at the first call, so that Fyne's is
// never touched; without X (Wayland, a test driver) the window counts as
// shown. Call it on the Fyne goroutine; close ends the connection.
func minimizedCheck(win fyne.Window) (minimized func() bool, close func()) {
	var conn *xgb.Conn
	var state xproto.Atom
	failed := false
	minimized = func() bool {
		var id uint32
		if nw, ok := win.(driver.NativeWindow); ok {
			nw.RunNative(func(ctx any) {
				if x, ok := ctx.(driver.X11WindowContext); ok {
					id = uint32(x.WindowHandle)
				}
			})
		}
		if id == 0 || failed {
			return false
		}
		if conn == nil {
			c, err := xgb.NewConn()
			if err != nil {
				failed = true
				return false
			}
			conn = c
		}
		if state == xproto.AtomNone { // until a window manager has made it
			a, err := xproto.InternAtom(conn, true, uint16(len("WM_STATE")), "WM_STATE").Reply()
			if err != nil || a.Atom == xproto.AtomNone {
				return false
			}
			state = a.Atom
		}
		p, err := xproto.GetProperty(conn, false, xproto.Window(id), state, xproto.GetPropertyTypeAny, 0, 1).Reply()
		if err != nil || p.Format != 32 || len(p.Value) < 4 {
			return false
		}
		return xgb.Get32(p.Value) == iconicState
	}
	close = func() {
		if conn != nil {
			conn.Close()
		}
	}
	return minimized, close
}
