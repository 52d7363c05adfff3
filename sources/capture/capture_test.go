package capture

import (
	"context"
	"image"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	_ "github.com/pion/mediadevices/pkg/driver/audiotest" // a microphone that plays a tone
	"github.com/pion/mediadevices/pkg/driver/screen"
	_ "github.com/pion/mediadevices/pkg/driver/videotest" // a 640×480 camera

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
	sound "chalkcast/media/audio"
	"chalkcast/media/encode"
	"chalkcast/outputs/httpflv"
)

// studio is an engine with the capture kinds and an HTTP-FLV output.
type studio struct {
	hub *engine.Hub
	url string
}

func newStudio(t *testing.T, m *Manager) *studio {
	t.Helper()
	hub, err := engine.New(engine.Config{GracePeriod: 2 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srcs := engine.NewSources(hub, m.Kinds(hub.Pool()), nil)
	flv := httpflv.New(hub, httpflv.Config{}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".flv")
		flv.Serve(w, r, name)
	}))
	t.Cleanup(func() {
		srcs.Close()
		hub.Close()
		flv.Close()
		srv.Close()
	})
	return &studio{hub: hub, url: srv.URL}
}

func (s *studio) create(t *testing.T, name, typ string, opts map[string]string) *engine.Stream {
	t.Helper()
	st, err := s.hub.Create(engine.StreamConfig{Name: name, Source: engine.Source{Type: typ, Options: opts}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func waitState(t *testing.T, st *engine.Stream, want engine.State, d time.Duration) engine.StreamStats {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := st.Stats(engine.StatsOptions{})
		if s.State == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %s (%s), want %s", st.Name(), s.State, s.LastError, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probe records d of a stream and checks its tracks with ffprobe.
func (s *studio) probe(t *testing.T, name string, d time.Duration, w, h int, fps float64, audio bool) {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffmpeg is needed (packaging/setup.sh installs it)")
	}
	_, _, got, err := mediatest.Check(context.Background(), s.url+"/"+name+".flv", t.TempDir(), d,
		mediatest.Want{Width: w, Height: h, FPS: fps, KeyEvery: encode.KeyInterval, Audio: audio})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %dx%d %.2f fps, audio %v", name, w, h, got, audio)
}

func TestDevicesAreListed(t *testing.T) {
	d := NewManager().List(false)
	if len(d.Cameras) == 0 || d.Cameras[0].ID != "VideoTest" || len(d.Cameras[0].Formats) == 0 {
		t.Errorf("cameras: %+v", d.Cameras)
	}
	found := false
	for _, m := range d.Microphones {
		found = found || m.ID == "AudioTest"
		if m.ID == "6e756c6c" {
			t.Error("the audio library's null device is listed as a microphone")
		}
	}
	if !found {
		t.Errorf("microphones: %+v", d.Microphones)
	}
	if len(d.Presets) != 3 {
		t.Errorf("presets: %+v", d.Presets)
	}
}

// TestCameraAndMicrophone: the test camera (640×480) and microphone
// through the real encoders, scaled into 480p with bars at the sides.
func TestCameraAndMicrophone(t *testing.T) {
	s := newStudio(t, NewManager())
	st := s.create(t, "cam", TypeCamera, map[string]string{"camera": "VideoTest", "microphone": "AudioTest", "preset": "480p"})
	waitState(t, st, engine.StateLive, 10*time.Second)
	s.probe(t, "cam", 5*time.Second, 854, 480, 30, true)
	stats := st.Stats(engine.StatsOptions{})
	if stats.Encoder == nil || stats.Encoder.LatencyMS <= 0 {
		t.Errorf("encoder statistics: %+v", stats.Encoder)
	}
	t.Logf("encoder: %+v", *stats.Encoder)
	// one device, one stream: a second stream on the same camera waits
	// with a clear error
	st2 := s.create(t, "cam2", TypeCamera, map[string]string{"camera": "VideoTest", "microphone": noMicrophone})
	got := waitState(t, st2, engine.StateError, 5*time.Second)
	if !strings.Contains(got.LastError, "already used by another stream") {
		t.Errorf("second stream's error: %q", got.LastError)
	}
	// when the first stream is deleted, the second gets the camera
	if err := s.hub.Delete("cam"); err != nil {
		t.Fatal(err)
	}
	waitState(t, st2, engine.StateLive, 15*time.Second)
}

// TestMissingDeviceIsAnError: a stream whose camera is not connected shows
// why, and keeps trying.
func TestMissingDeviceIsAnError(t *testing.T) {
	s := newStudio(t, NewManager())
	st := s.create(t, "gone", TypeCamera, map[string]string{"camera": "usb-Document_Camera"})
	got := waitState(t, st, engine.StateError, 5*time.Second)
	if got.LastError != `camera "usb-Document_Camera" is not connected` {
		t.Errorf("error %q", got.LastError)
	}
	st2 := s.create(t, "nomic", TypeCamera, map[string]string{"camera": "VideoTest", "microphone": "USB Mic"})
	got = waitState(t, st2, engine.StateError, 5*time.Second)
	if got.LastError != `microphone "USB Mic" is not connected` {
		t.Errorf("error %q", got.LastError)
	}
}

// TestUnpluggedCameraComesBack: the camera fails mid-stream (as when its
// cable is pulled); the stream shows the error and, once the camera works
// again, goes live by itself within the grace period, so viewers stay.
func TestUnpluggedCameraComesBack(t *testing.T) {
	cam := &flakyCamera{}
	driver.GetManager().Register(cam, driver.Info{Label: "Flaky", DeviceType: driver.Camera})
	defer func() {
		for _, d := range query(driver.Camera, "Flaky") {
			driver.GetManager().Delete(d.ID())
		}
	}()
	s := newStudio(t, NewManager())
	st := s.create(t, "flaky", TypeCamera, map[string]string{"camera": "Flaky", "microphone": noMicrophone, "preset": "480p"})
	waitState(t, st, engine.StateLive, 10*time.Second)
	v, err := st.Join(engine.ViewerInfo{Protocol: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := st.NewReader(v)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	cam.unplug()
	got := waitState(t, st, engine.StateReconnecting, 5*time.Second)
	if !strings.Contains(got.LastError, `camera "Flaky" stopped (unplugged?)`) {
		t.Errorf("error %q", got.LastError)
	}
	cam.plugIn()
	waitState(t, st, engine.StateLive, 5*time.Second)
	// the viewer that stayed gets the new frames
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var pkts []*engine.Packet
	for len(pkts) < 60 {
		batch, err := rd.Next(ctx, nil)
		if err != nil {
			t.Fatalf("viewer after the camera came back: %v (after %d packets)", err, len(pkts))
		}
		pkts = append(pkts, batch...)
	}
}

// TestScreen captures a real X server's screen (Xvfb).
func TestScreen(t *testing.T) {
	testkit.StartXvfb(t, "1024x768")
	screen.Initialize() // the driver looks for screens when asked
	defer func() {
		for _, d := range query(driver.Screen, "") {
			driver.GetManager().Delete(d.ID())
		}
	}()
	m := NewManager()
	// a server that has just said it listens may not answer the first
	// probe yet: the list asks again until it does
	var d Devices
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if d = m.List(false); (len(d.Screens) > 0 && len(d.Screens[0].Formats) > 0) || time.Now().After(deadline) {
			break
		}
	}
	if len(d.Screens) == 0 || len(d.Screens[0].Formats) == 0 || d.Screens[0].Formats[0].Width != 1024 {
		t.Fatalf("screens: %+v", d.Screens)
	}
	if d.Screens[0].Name != "Screen 1 · 1024×768" { // not the driver's "X11Screen0"
		t.Errorf("the screen is called %q", d.Screens[0].Name)
	}
	// a thumbnail tells screens apart; while a stream captures the screen,
	// the latest one stands for it
	thumb, err := m.Thumbnail(d.Screens[0].ID, 160)
	if err != nil || thumb.Bounds() != image.Rect(0, 0, 160, 120) {
		t.Fatalf("thumbnail %v, %v", thumb, err)
	}
	s := newStudio(t, m)
	st := s.create(t, "slides", TypeScreen, map[string]string{"microphone": "AudioTest"})
	waitState(t, st, engine.StateLive, 10*time.Second)
	if again, err := m.Thumbnail(d.Screens[0].ID, 160); err != nil || again != thumb {
		t.Errorf("thumbnail of a screen in use: %v", err)
	}
	// a 4:3 screen in a 16:9 stream, at the screen's 15 fps default
	s.probe(t, "slides", 5*time.Second, 1280, 720, 15, true)

	// the default microphone while another stream has it: the screen goes
	// live without sound and says why
	if err := s.hub.Delete("slides"); err != nil {
		t.Fatal(err)
	}
	cam := s.create(t, "cam", TypeCamera, map[string]string{"camera": "VideoTest", "microphone": "AudioTest", "preset": "480p"})
	waitState(t, cam, engine.StateLive, 10*time.Second)
	st = s.create(t, "slides2", TypeScreen, nil)
	waitState(t, st, engine.StateLive, 10*time.Second)
	testkit.WaitFor(t, 5*time.Second, "the reason for no sound", func() bool { return st.Silent() == sound.ReasonMicrophoneInUse })
}
