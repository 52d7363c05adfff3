package testkit

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartXvfb starts a virtual X server with one screen of size ("1024x768")
// and points DISPLAY at it for the rest of the test; it is stopped when
// the test ends.
func StartXvfb(t testing.TB, size string) string {
	t.Helper()
	NeedTools(t, "Xvfb")
	// Xvfb picks a free display and writes its number to fd 3 once it
	// listens; stopped with SIGTERM it removes its lock and socket. It keeps
	// what clients drew when the last one leaves (-noreset).
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-noreset", "-screen", "0", size+"x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	got := make(chan string, 1)
	go func() {
		b, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(b)
	}()
	var display string
	select {
	case display = <-got:
	case <-time.After(10 * time.Second):
	}
	if display == "" {
		t.Fatal("Xvfb did not start")
	}
	t.Setenv("DISPLAY", ":"+display)
	return ":" + display
}
