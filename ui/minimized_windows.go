package ui

import (
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
)

// minimizedCheck tells whether win is minimized (IsIconic). Call it on
// the Fyne goroutine.
func minimizedCheck(win fyne.Window) (minimized func() bool, close func()) {
	isIconic := syscall.NewLazyDLL("user32.dll").NewProc("IsIconic")
	minimized = func() bool {
		var hwnd uintptr
		if nw, ok := win.(driver.NativeWindow); ok {
			nw.RunNative(func(ctx any) {
				if w, ok := ctx.(driver.WindowsWindowContext); ok {
					hwnd = w.HWND
				}
			})
		}
		if hwnd == 0 || isIconic.Find() != nil {
			return false
		}
		r, _, _ := isIconic.Call(hwnd)
		return r != 0
	}
	return minimized, func() {}
}
