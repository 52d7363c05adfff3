package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/nginxtest"
	"chalkcast/internal/testkit"
	"chalkcast/ui"
)

// TestStudioHost: what the studio asks of the recorder and the pusher
// reaches the real ones, and what they report reaches the studio in its
// own terms. A recording of a live stream is listed while written (and
// not deleted then) and after; whenever-live is saved with the stream
// and starts recording; a push to nginx-rtmp goes live with its key
// hidden, and is removed.
func TestStudioHost(t *testing.T) {
	ng := nginxtest.Start(t)
	o := options{DataDir: t.TempDir()}
	o.HTTPAddr, o.RTMPAddr, o.RTSP.Address = "127.0.0.1:0", "127.0.0.1:0", ""
	in, err := start(o, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer in.stop()
	h := host{in}
	s, err := in.hub.Create(engine.StreamConfig{Name: "maths", Source: engine.Source{Type: "testpattern", Options: map[string]string{"preset": "480p"}}})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "live", func() bool { return s.State() == engine.StateLive })

	if err := h.StartRecording("maths"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "recording progress", func() bool {
		st := h.Recording("maths")
		return st.Active && st.Duration >= time.Second && st.Bytes > 0
	})
	files, _, err := h.Recordings()
	if err != nil || len(files) != 1 || !files[0].Recording {
		t.Fatalf("while recording: %+v, %v", files, err)
	}
	if err := h.DeleteRecording("maths", files[0].Name); !errors.Is(err, ui.ErrStillRecording) {
		t.Errorf("deleting the file being written: %v", err)
	}
	if err := h.StopRecording("maths"); err != nil {
		t.Fatal(err)
	}
	files, _, _ = h.Recordings()
	if len(files) != 1 || files[0].Recording || files[0].Duration < time.Second || files[0].Size == 0 {
		t.Fatalf("after recording: %+v", files)
	}
	if f := files[0]; f.Lesson != strings.TrimSuffix(f.Name, ".mp4") || !f.Shared || !f.Replay || !strings.HasPrefix(f.Title, "maths · ") {
		t.Errorf("the recording's lesson: %+v", f)
	}
	if err := h.ShareLesson(files[0].Lesson, false); err != nil {
		t.Fatal(err)
	}
	if err := h.RenameLesson(files[0].Lesson, "Fractions"); err != nil {
		t.Fatal(err)
	}
	if err := h.RenameLesson(files[0].Lesson, " "); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("an empty title: %v", err)
	}
	if files, _, _ = h.Recordings(); files[0].Shared || files[0].Title != "Fractions" {
		t.Errorf("after Unshare and Rename: %+v", files[0])
	}
	if !h.Recording("maths").ShareNew {
		t.Error("new recordings are not shared by default")
	}
	if err := h.SetShareNew("maths", false); err != nil || h.Recording("maths").ShareNew {
		t.Errorf("SetShareNew(false): %v, %+v", err, h.Recording("maths"))
	}

	if err := h.SetAutoRecord("maths", true); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "recording whenever live", func() bool {
		st := h.Recording("maths")
		return st.Auto && st.Active
	})

	if err := h.AddPush("maths", ng.URL("maths-secret"), "https://cdn.example.com/maths.flv"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "the push live", func() bool {
		ps := h.Pushes("maths")
		return len(ps) == 1 && ps[0].State == "live" && ps[0].Kbps > 0
	})
	p := h.Pushes("maths")[0]
	if strings.Contains(p.URL, "secret") || p.PlayURL != "https://cdn.example.com/maths.flv" {
		t.Errorf("push shown as %+v", p)
	}
	if err := h.RemovePush("maths", p.ID); err != nil {
		t.Fatal(err)
	}
	if ps := h.Pushes("maths"); len(ps) != 0 {
		t.Errorf("after removing: %+v", ps)
	}
}
