package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
	"chalkcast/media/encode"
)

// createSource makes a stream with a source Chalkcast runs itself.
func (s *server) createSource(t *testing.T, name, typ string, opts map[string]string) {
	t.Helper()
	code, out := s.api(t, "POST", "/api/v1/streams", map[string]any{"name": name, "source": map[string]any{"type": typ, "options": opts}})
	if code != http.StatusCreated {
		t.Fatalf("create %s: status %d: %v", name, code, out)
	}
	testkit.WaitFor(t, 10*time.Second, name+" live", func() bool { return s.stream(t, name)["state"] == "live" })
}

// checkRecording records d of url and checks the tracks ffprobe finds.
func checkRecording(t *testing.T, url string, d time.Duration, w, h int, fps float64) (string, *mediatest.Report) {
	t.Helper()
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	file, rep, got, err := mediatest.Check(context.Background(), url, t.TempDir(), d,
		mediatest.Want{Width: w, Height: h, FPS: fps, KeyEvery: encode.KeyInterval, Audio: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %dx%d at %.2f fps", url, w, h, got)
	return file, rep
}

func TestTestPatternStreams(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	s := startServer(t, options{})
	for _, c := range []struct {
		name  string
		opts  map[string]string
		w, h  int
		fps   float64
		rate  string
		chans int
	}{
		{"default", nil, 1280, 720, 30, "48000", 1},
		{"small", map[string]string{"preset": "480p", "fps": "25", "audio_rate": "44100", "audio_channels": "2"}, 854, 480, 25, "44100", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.createSource(t, c.name, "testpattern", c.opts)
			base := "http://" + s.HTTP + "/live/" + c.name
			file, rep := checkRecording(t, base+".flv", 7*time.Second, c.w, c.h, c.fps)
			if a, _, _ := rep.Track("audio"); a.SampleRate != c.rate || a.Channels != c.chans {
				t.Errorf("audio %s Hz × %d, want %s × %d", a.SampleRate, a.Channels, c.rate, c.chans)
			}
			// lip sync: the beep starts with the flash
			syncs, err := mediatest.SyncOffsets(context.Background(), file)
			if err != nil {
				t.Fatal(err)
			}
			if len(syncs) < 4 {
				t.Fatalf("found %d flash+beep pairs in 7 s, want at least 4", len(syncs))
			}
			for _, sy := range syncs {
				if sy.Offset < -40*time.Millisecond || sy.Offset > 40*time.Millisecond {
					t.Errorf("beep %v from its flash at %.3f s", sy.Offset, sy.Flash)
				}
			}
			t.Logf("A/V offsets: %v", syncs)
			// the same stream over HLS and RTSP
			checkRecording(t, base+"/index.m3u8", 5*time.Second, c.w, c.h, c.fps)
			checkRecording(t, "rtsp+tcp://"+s.RTSP+"/live/"+c.name, 4*time.Second, c.w, c.h, c.fps)
			st := s.stream(t, c.name)
			enc, ok := st["encoder"].(map[string]any)
			if !ok {
				t.Fatalf("no encoder statistics: %v", st)
			}
			t.Logf("encoder: %v", enc)
		})
	}
	// deleting the stream stops its source
	if code, _ := s.api(t, "DELETE", "/api/v1/streams/default", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := s.api(t, "GET", "/api/v1/streams/default", nil); code != http.StatusNotFound {
		t.Fatalf("deleted stream still there: %d", code)
	}
}

func TestSourceOptionsAreChecked(t *testing.T) {
	s := startServer(t, options{})
	for _, opts := range []map[string]string{
		{"preset": "4k"}, {"fps": "0"}, {"fps": "many"}, {"bitrate": "50"}, {"audio_rate": "22050"}, {"audio_channels": "6"},
	} {
		for _, typ := range []string{"testpattern", "camera", "screen"} {
			code, out := s.api(t, "POST", "/api/v1/streams", map[string]any{"name": "x", "source": map[string]any{"type": typ, "options": opts}})
			if code != http.StatusBadRequest {
				t.Errorf("%s %v: status %d (%v), want 400", typ, opts, code, out)
			} else {
				t.Logf("%s %v: %v", typ, opts, out["error"])
			}
		}
	}
	// an RTMP push into a stream with its own source is refused
	s.createSource(t, "tp", "testpattern", map[string]string{"preset": "480p"})
	// the API shows no key for it; the saved streams have one
	b, err := os.ReadFile(filepath.Join(s.Data, "streams.json"))
	if err != nil {
		t.Fatal(err)
	}
	var saved struct{ Streams []engine.StreamConfig }
	if err := json.Unmarshal(b, &saved); err != nil || len(saved.Streams) != 1 {
		t.Fatalf("streams.json: %v %s", err, b)
	}
	key := saved.Streams[0].Key
	cmd := publish(t, fmt.Sprintf("rtmp://%s/live/%s", s.RTMP, key), 3*time.Second)
	if err := cmd.Wait(); err == nil {
		t.Error("ffmpeg pushed into a test-pattern stream")
	}
}

// TestStopStartAndDevicesAPI: a stopped stream ends its viewers, keeps
// its source off and refuses RTMP; started, it is live again. Stopping
// survives a restart. /api/v1/devices lists presets.
func TestStopStartAndDevicesAPI(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, options{DataDir: dir})
	s.createSource(t, "tp", "testpattern", map[string]string{"preset": "480p"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	viewer := make(chan *flvStats, 1)
	go func() { st, _ := watchFLV(ctx, "http://"+s.HTTP+"/live/tp.flv"); viewer <- st }()
	testkit.WaitFor(t, 10*time.Second, "a viewer receiving video", func() bool {
		st := s.stream(t, "tp")
		return st["viewers"].(map[string]any)["total"] == float64(1) && st["bytes_out"].(float64) > 0
	})
	code, out := s.api(t, "POST", "/api/v1/streams/tp/stop", nil)
	if code != http.StatusOK || out["stopped"] != true || out["state"] != "idle" {
		t.Fatalf("stop: %d %v", code, out)
	}
	select {
	case st := <-viewer:
		if st == nil || st.Video == 0 || st.Err == nil {
			t.Errorf("viewer of a stopped stream: %+v", st)
		}
	case <-ctx.Done():
		t.Fatal("the viewer was not ended by stop")
	}
	time.Sleep(1500 * time.Millisecond) // the source would have restarted by now
	if st := s.stream(t, "tp"); st["state"] != "idle" {
		t.Fatalf("stopped stream is %v", st["state"])
	}
	s.stop()

	s = startServer(t, options{DataDir: dir})
	time.Sleep(1500 * time.Millisecond)
	if st := s.stream(t, "tp"); st["state"] != "idle" || st["stopped"] != true {
		t.Fatalf("after a restart: %v %v", st["state"], st["stopped"])
	}
	if code, _ := s.api(t, "POST", "/api/v1/streams/tp/start", nil); code != http.StatusOK {
		t.Fatalf("start: %d", code)
	}
	testkit.WaitFor(t, 10*time.Second, "live again", func() bool { return s.stream(t, "tp")["state"] == "live" })
	if code, _ := s.api(t, "POST", "/api/v1/streams/nobody/stop", nil); code != http.StatusNotFound {
		t.Errorf("stop unknown: %d", code)
	}

	code, out = s.api(t, "GET", "/api/v1/devices", nil)
	if code != http.StatusOK {
		t.Fatalf("devices: %d %v", code, out)
	}
	if p, ok := out["presets"].([]any); !ok || len(p) != 3 {
		t.Errorf("presets: %v", out["presets"])
	}
}
