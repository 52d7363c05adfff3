package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLayers keeps Chalkcast's parts apart (what `go list -deps` says
// each package is built from): sources and outputs depend on the engine
// and on media/, never on each other or on the GUI; media/ (formats and
// the media stage) depends on neither sources, outputs nor the GUI; the
// GUI observes and commands the engine and builds on no source or output;
// internal/, which sources and outputs share, builds on none of them.
// No output builds on another either: main wires them together.
func TestLayers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rules := []struct {
		layer     string
		forbidden []string
	}{
		{"chalkcast/sources/", []string{"chalkcast/outputs/", "chalkcast/ui", "fyne.io/"}},
		{"chalkcast/outputs/", []string{"chalkcast/sources/", "chalkcast/ui", "fyne.io/"}},
		{"chalkcast/media/", []string{"chalkcast/sources/", "chalkcast/outputs/", "chalkcast/ui", "fyne.io/"}},
		{"chalkcast/ui", []string{"chalkcast/sources/", "chalkcast/outputs/"}},
		// what sources and outputs share must not lead around the rules
		{"chalkcast/internal/", []string{"chalkcast/sources/", "chalkcast/outputs/", "chalkcast/ui", "fyne.io/"}},
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		if own, ok := strings.CutPrefix(pkg, "chalkcast/outputs/"); ok {
			own, _, _ = strings.Cut(own, "/")
			for _, d := range strings.Fields(deps) {
				other, ok := strings.CutPrefix(d, "chalkcast/outputs/")
				if other, _, _ = strings.Cut(other, "/"); ok && other != own {
					t.Errorf("output %s depends on another output, %s", pkg, d)
				}
			}
		}
		for _, r := range rules {
			if !strings.HasPrefix(pkg, r.layer) {
				continue
			}
			checked++
			for _, d := range strings.Fields(deps) {
				for _, bad := range r.forbidden {
					if strings.HasPrefix(d, bad) {
						t.Errorf("%s depends on %s", pkg, d)
					}
				}
			}
		}
	}
	if checked < 15 {
		t.Errorf("only %d packages checked: go list said %q", checked, out)
	}
}
