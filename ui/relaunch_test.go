package ui

import (
	"context"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2/test"

	"chalkcast/engine"
	"chalkcast/engine/store"
	"chalkcast/sources/testpattern"
)

// fakeCamera counts the times its camera was switched on.
type fakeCamera struct{ on atomic.Int32 }

func (*fakeCamera) Check(engine.Source) error { return nil }
func (f *fakeCamera) Run(ctx context.Context, _ *engine.Stream) error {
	f.on.Add(1)
	<-ctx.Done()
	return nil
}

// TestRelaunchDoesNotStartTheCamera: a camera stream that was live when
// the studio closed comes back stopped, with Start, and the camera stays
// off until Start is clicked; the test pattern resumes as before.
func TestRelaunchDoesNotStartTheCamera(t *testing.T) {
	dir := t.TempDir()
	open := func() *engine.Hub {
		st, err := store.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		hub, err := engine.New(engine.Config{}, st, nil)
		if err != nil {
			t.Fatal(err)
		}
		return hub
	}
	first := open()
	for _, sc := range []engine.StreamConfig{
		{Name: "camera", Source: engine.Source{Type: "camera"}},
		{Name: "pattern", Source: engine.Source{Type: testpattern.Type, Options: map[string]string{"preset": "480p"}}},
	} {
		if _, err := first.Create(sc); err != nil {
			t.Fatal(err)
		}
	}
	first.Close()

	// relaunch, as the studio starts: capture streams held before the
	// sources are supervised
	hub := open()
	if err := hub.StopTypes("camera", "screen"); err != nil {
		t.Fatal(err)
	}
	cam := &fakeCamera{}
	s := studioOver(t, hub, map[string]engine.SourceKind{"camera": cam})
	var c, pattern *card
	eventually(t, s, "the test pattern live again", func() bool {
		c, pattern = s.cards["camera"], s.cards["pattern"]
		return c != nil && pattern != nil && pattern.state.Text == "Live"
	})
	// the supervisor has been through every stream: the camera stayed off
	if n := cam.on.Load(); n != 0 {
		t.Fatalf("the camera was switched on %d times at launch", n)
	}
	if c.state.Text != "Stopped" || c.startStop.Text != "Start" {
		t.Errorf("the camera card says %q with %q", c.state.Text, c.startStop.Text)
	}
	test.Tap(c.startStop)
	eventually(t, s, "the camera on after Start", func() bool { return cam.on.Load() == 1 })
	if st, _ := hub.Get("camera"); st.Config().Stopped {
		t.Error("Start did not start the stream")
	}
}
