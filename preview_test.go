package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"chalkcast/internal/rtsptest"
	"chalkcast/internal/testkit"
)

// previewJPEG fetches a stream's preview.jpg and decodes it.
func (s *server) previewJPEG(t *testing.T, name string) (int, image.Image) {
	t.Helper()
	resp, err := http.Get("http://" + s.HTTP + "/api/v1/streams/" + name + "/preview.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	if ct := resp.Header.Get("Content-Type"); ct != "image/jpeg" {
		t.Fatalf("preview of %s: content type %q", name, ct)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("preview of %s is not a JPEG: %v", name, err)
	}
	if w := img.Bounds().Dx(); w > 640 {
		t.Errorf("preview of %s is %d wide, at most 640 allowed", name, w)
	}
	return resp.StatusCode, img
}

// rgb is a pixel in 8 bits per channel.
func rgb(img image.Image, x, y int) [3]int {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
}

// checkBars checks the seven 75 % colour bars across the top of a
// picture (the test pattern's and ffmpeg's smptebars), by which channels
// are lit in the middle of each bar.
func checkBars(t *testing.T, what string, img image.Image) {
	t.Helper()
	lit := [7][3]bool{ // white/grey, yellow, cyan, green, magenta, red, blue
		{true, true, true}, {true, true, false}, {false, true, true}, {false, true, false},
		{true, false, true}, {true, false, false}, {false, false, true},
	}
	b := img.Bounds()
	y := b.Min.Y + b.Dy()/5 // below the sync flash, above the clock
	for i, want := range lit {
		x := b.Min.X + (2*i+1)*b.Dx()/14
		px := rgb(img, x, y)
		for c, on := range want {
			if on && px[c] < 140 || !on && px[c] > 70 {
				t.Errorf("%s: bar %d at (%d,%d) is %v, want lit channels %v", what, i+1, x, y, px, want)
				break
			}
		}
	}
}

// audioOf returns the audio part of a stream's API answer.
func audioOf(t *testing.T, s *server, name string) map[string]any {
	t.Helper()
	a, _ := s.stream(t, name)["audio"].(map[string]any)
	return a
}

func num(v any) (float64, bool) { f, ok := v.(float64); return f, ok }

func TestPreviewAndMeterOfTheTestPattern(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg")
	s := startServer(t, options{})
	s.create(t, "idle")
	if code, _ := s.previewJPEG(t, "idle"); code != http.StatusNotFound {
		t.Errorf("preview of a stream that is not live: status %d, want 404", code)
	}
	if code, _ := s.previewJPEG(t, "nothing"); code != http.StatusNotFound {
		t.Errorf("preview of no stream: status %d, want 404", code)
	}

	s.createSource(t, "bars", "testpattern", nil)
	code, img := s.previewJPEG(t, "bars")
	if code != http.StatusOK {
		t.Fatalf("preview.jpg: status %d", code)
	}
	checkBars(t, "test pattern", img)

	// The meter follows the beep: half scale (-6 dBFS) during the first
	// 100 ms of each second, silence in between.
	var loud, quiet int
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); time.Sleep(25 * time.Millisecond) {
		a := audioOf(t, s, "bars")
		if p, ok := num(a["peak_dbfs"]); ok && p > -8 && p < -4 {
			loud++
		} else if ok && p < -60 {
			quiet++
		}
	}
	if loud < 2 || quiet < 20 {
		t.Errorf("over 2.5 s the meter saw the beep %d times and silence %d times", loud, quiet)
	}
	a := audioOf(t, s, "bars")
	if l, ok := num(a["level_dbfs"]); !ok || l < -7 || l > -5 {
		t.Errorf("level of the last second %v, want about -6 dBFS", a["level_dbfs"])
	}
	if a["muted"] != false || a["silent"] != false {
		t.Errorf("audio %v", a)
	}

	// Muting: silence within a second, and the FLV keeps its audio.
	if code, out := s.api(t, "POST", "/api/v1/streams/bars/audio", map[string]any{"muted": true}); code != http.StatusOK ||
		out["audio"].(map[string]any)["muted"] != true {
		t.Fatalf("mute: status %d: %v", code, out)
	}
	muted := time.Now()
	testkit.WaitFor(t, 3*time.Second, "silence after muting", func() bool {
		l, ok := num(audioOf(t, s, "bars")["level_dbfs"])
		return ok && l <= -90
	})
	took := time.Since(muted)
	t.Logf("muted: level_dbfs reached silence in %v", took)
	if took > time.Second {
		t.Errorf("muting took %v to silence the stream", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	st, _ := watchFLV(ctx, "http://"+s.HTTP+"/live/bars.flv")
	cancel()
	if st == nil || st.AudioCfg == nil || st.Audio < 20 {
		t.Errorf("muted FLV: %+v, want its audio track with silence", st)
	}
	if a := audioOf(t, s, "bars"); a["silent"] != false {
		t.Errorf("a muted stream reads as silent: %v", a)
	}
	if code, _ := s.api(t, "POST", "/api/v1/streams/bars/audio", map[string]any{"loud": true}); code != http.StatusBadRequest {
		t.Errorf("a bad body: status %d", code)
	}
	if code, _ := s.api(t, "POST", "/api/v1/streams/bars/audio", map[string]any{"muted": false}); code != http.StatusOK {
		t.Fatalf("unmute: status %d", code)
	}
	testkit.WaitFor(t, 3*time.Second, "the beep after unmuting", func() bool {
		l, ok := num(audioOf(t, s, "bars")["level_dbfs"])
		return ok && l > -8
	})
}

func TestPreviewOfAPushAndSilence(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg")
	s := startServer(t, options{})
	key := s.create(t, "obs")
	// colour bars with silent sound, as OBS with a muted microphone
	startCmd(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "smptebars=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "anullsrc=sample_rate=44100:channel_layout=stereo", "-t", "40",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", fmt.Sprintf("rtmp://%s/live/%s", s.RTMP, key)))
	testkit.WaitFor(t, 10*time.Second, "the push live", func() bool { return s.stream(t, "obs")["state"] == "live" })
	code, img := s.previewJPEG(t, "obs")
	if code != http.StatusOK {
		t.Fatalf("preview.jpg: status %d", code)
	}
	checkBars(t, "ffmpeg's smptebars over RTMP", img)

	start := time.Now()
	testkit.WaitFor(t, 20*time.Second, "the no-sound state", func() bool { return audioOf(t, s, "obs")["silent"] == true })
	t.Logf("silent after %v", time.Since(start).Round(100*time.Millisecond))
	if a := audioOf(t, s, "obs"); a["silent_reason"] == "" || a["muted"] != false {
		t.Errorf("audio %v", a)
	}
}

func TestPreviewOfAnH265Camera(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg")
	cam := rtsptest.StartCamera(t, "")
	s := startServer(t, options{})
	s.createCamera(t, "hevc", cam.URL("", "/h265"), map[string]string{"transport": "tcp"})
	testkit.WaitFor(t, 15*time.Second, "the camera live", func() bool { return s.stream(t, "hevc")["state"] == "live" })
	code, img := s.previewJPEG(t, "hevc")
	if code != http.StatusOK {
		t.Fatalf("preview.jpg: status %d", code)
	}
	// the camera shows a white ball on black
	b := img.Bounds()
	dark, bright := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			switch px := rgb(img, x, y); {
			case px[0]+px[1]+px[2] < 60:
				dark++
			case px[0]+px[1]+px[2] > 600:
				bright++
			}
		}
	}
	if dark < 1000 || bright < 10 {
		t.Errorf("H.265 preview %dx%d has %d dark and %d bright samples: not the ball on black", b.Dx(), b.Dy(), dark, bright)
	}
}
