package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"chalkcast/engine/codec"
	"chalkcast/internal/rtsptest"
	"chalkcast/internal/testkit"
	"chalkcast/media/decode"
	"chalkcast/media/flv"
)

// pictures watches an HTTP-FLV stream and decodes its video: the newest
// picture, how many frames came and whether timestamps stayed monotonic.
type pictures struct {
	mu     sync.Mutex
	pic    *image.RGBA
	frames int
	err    error
	done   chan struct{}
}

func watchPictures(t *testing.T, url string) *pictures {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &pictures{done: make(chan struct{})}
	t.Cleanup(func() { cancel(); <-p.done })
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		defer resp.Body.Close()
		err := p.read(flv.NewReader(resp.Body))
		if ctx.Err() == nil {
			p.mu.Lock()
			p.err = fmt.Errorf("the FLV connection ended: %w", err)
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *pictures) read(fr *flv.Reader) error {
	if _, err := fr.ReadHeader(); err != nil {
		return err
	}
	var dec *decode.Video
	defer func() {
		if dec != nil {
			dec.Close()
		}
	}()
	var last uint32
	for {
		tag, err := fr.ReadTag()
		if err != nil {
			return err
		}
		if tag.Type != flv.TagVideo {
			continue
		}
		v, err := flv.ParseVideo(tag.Body)
		if err != nil {
			return err
		}
		if v.SeqHeader {
			cfg, err := codec.H264Config(bytes.Clone(v.Data))
			if err != nil {
				return err
			}
			if dec != nil {
				dec.Close()
			}
			if dec, err = decode.NewVideo(cfg); err != nil {
				return err
			}
			continue
		}
		if p.frames > 0 && tag.Timestamp < last {
			return fmt.Errorf("video timestamp went back: %d after %d", tag.Timestamp, last)
		}
		last = tag.Timestamp
		if dec == nil {
			return errors.New("a frame before the sequence header")
		}
		got, err := dec.Decode(v.Data)
		if err != nil {
			return fmt.Errorf("a frame did not decode: %w", err)
		}
		var pic *image.RGBA
		if got {
			if pic, err = dec.Picture(nil, 320); err != nil {
				return err
			}
		}
		p.mu.Lock()
		p.frames++
		if pic != nil {
			p.pic = pic
		}
		p.mu.Unlock()
	}
}

// state is the frames so far, and the error that ended the watch.
func (p *pictures) state() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frames, p.err
}

// colour names the colour at (fx, fy), fractions of the newest picture.
func (p *pictures) colour(fx, fy float64) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pic == nil {
		return "none"
	}
	b := p.pic.Rect
	c := p.pic.RGBAAt(b.Min.X+int(fx*float64(b.Dx())), b.Min.Y+int(fy*float64(b.Dy())))
	r, g, bl := int(c.R), int(c.G), int(c.B)
	switch {
	case r > 140 && g < 100 && bl < 100:
		return "red"
	case g > 150 && r < 100 && bl < 100:
		return "green"
	case r < 40 && g < 40 && bl < 40:
		return "black"
	case r < 90 && g < 90 && bl < 110 && bl > r:
		return "slate"
	case r > 150 && max(r, g, bl)-min(r, g, bl) < 24:
		return "light grey"
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", r, g, bl)
}

// expectPicture waits up to d until every point has its colour.
func (p *pictures) expectPicture(t *testing.T, d time.Duration, what string, want map[[2]float64]string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		bad := ""
		for pt, c := range want {
			if got := p.colour(pt[0], pt[1]); got != c {
				bad += fmt.Sprintf(" (%.2f,%.2f) is %s, not %s;", pt[0], pt[1], got, c)
			}
		}
		if bad == "" {
			return
		}
		if _, err := p.state(); err != nil || time.Now().After(deadline) {
			t.Fatalf("%s:%s watch error %v", what, bad, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// paintedScreen starts an X screen painted red, before the server whose
// screen capture uses it (it must stop first: Xlib ends a program whose
// X server goes away).
func paintedScreen(t *testing.T) {
	t.Helper()
	testkit.NeedTools(t, "xsetroot")
	testkit.StartXvfb(t, "1280x720")
	if out, err := exec.Command("xsetroot", "-solid", "#d02010").CombinedOutput(); err != nil {
		t.Fatalf("xsetroot: %v: %s", err, out)
	}
}

// findScreens has the server look for screens, as the studio's Rescan.
func (s *server) findScreens(t *testing.T) {
	t.Helper()
	testkit.WaitFor(t, 5*time.Second, "the screen", func() bool {
		_, out := s.api(t, "GET", "/api/v1/devices?rescan=1", nil)
		screens, _ := out["screens"].([]any)
		return len(screens) > 0
	})
}

func TestSceneOfScreenAndCamera(t *testing.T) {
	paintedScreen(t)
	s := startServer(t, options{})
	s.findScreens(t)
	cam := rtsptest.StartCamera(t, "")
	scene := func(layout string) map[string]any {
		return map[string]any{"type": "scene", "options": map[string]string{"layout": layout, "corner": "bottom-right", "size": "25"},
			"inputs": []any{map[string]any{"type": "screen", "options": map[string]string{"microphone": "none"}},
				map[string]any{"type": "rtsp", "url": cam.URL("", "/green")}}}
	}
	code, out := s.api(t, "POST", "/api/v1/streams", map[string]any{"name": "lesson", "source": scene("pip")})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	testkit.WaitFor(t, 10*time.Second, "the scene live", func() bool { return s.stream(t, "lesson")["state"] == "live" })
	p := watchPictures(t, "http://"+s.HTTP+"/live/lesson.flv")
	pip := map[[2]float64]string{{0.1, 0.1}: "red", {0.5, 0.5}: "red", {0.86, 0.84}: "green", {0.6, 0.84}: "red"}
	p.expectPicture(t, 10*time.Second, "pip", pip)

	for _, c := range []struct {
		layout string
		want   map[[2]float64]string
	}{
		{"side-by-side", map[[2]float64]string{{0.25, 0.5}: "red", {0.75, 0.5}: "green", {0.5, 0.1}: "black", {0.5, 0.9}: "black"}},
		{"main", map[[2]float64]string{{0.1, 0.1}: "red", {0.86, 0.84}: "red", {0.5, 0.5}: "red"}},
	} {
		before, _ := p.state()
		start := time.Now()
		code, out := s.api(t, "PUT", "/api/v1/streams/lesson/source", scene(c.layout))
		if code != http.StatusOK {
			t.Fatalf("PUT %s: %d %v", c.layout, code, out)
		}
		p.expectPicture(t, 2*time.Second, c.layout, c.want)
		t.Logf("%s shows %v after the PUT", c.layout, time.Since(start).Round(10*time.Millisecond))
		if n, err := p.state(); err != nil || n <= before {
			t.Fatalf("after the switch to %s: %d frames (before %d), %v", c.layout, n, before, err)
		}
	}

	// The camera dies: the stream stays live, its corner says so calmly,
	// and the camera comes back by itself.
	if code, out := s.api(t, "PUT", "/api/v1/streams/lesson/source", scene("pip")); code != http.StatusOK {
		t.Fatalf("PUT pip: %d %v", code, out)
	}
	p.expectPicture(t, 2*time.Second, "pip again", pip)
	cam.Stop()
	p.expectPicture(t, 10*time.Second, "the placeholder", map[[2]float64]string{{0.1, 0.1}: "red", {0.86, 0.84}: "slate"})
	if st := s.stream(t, "lesson")["state"]; st != "live" {
		t.Errorf("with its camera gone the scene is %s", st)
	}
	cam.Start()
	p.expectPicture(t, 15*time.Second, "the camera back", pip)
	if _, err := p.state(); err != nil {
		t.Fatal(err)
	}
}

func TestSwitchingSourceKeepsViewers(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg")
	paintedScreen(t)
	s := startServer(t, options{})
	s.findScreens(t)
	s.createSource(t, "class", "testpattern", nil)
	base := "http://" + s.HTTP + "/live/class"
	p := watchPictures(t, base+".flv")
	p.expectPicture(t, 10*time.Second, "the test pattern", map[[2]float64]string{{0.78, 0.3}: "red", {0.1, 0.3}: "light grey"})

	// An HLS player for the whole lesson: ffmpeg decodes 14 s of it.
	hls := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-stats", "-i", base+"/index.m3u8", "-t", "14", "-f", "null", "-")
	var hlsOut bytes.Buffer
	hls.Stderr = &hlsOut
	startCmd(t, hls)
	time.Sleep(3 * time.Second)

	for _, c := range []struct {
		source map[string]any
		want   map[[2]float64]string
	}{
		{map[string]any{"type": "screen", "options": map[string]string{"microphone": "none"}},
			map[[2]float64]string{{0.1, 0.3}: "red", {0.5, 0.9}: "red"}},
		{map[string]any{"type": "testpattern", "options": map[string]string{"preset": "480p"}}, // another picture size
			map[[2]float64]string{{0.78, 0.3}: "red", {0.1, 0.3}: "light grey"}},
	} {
		before, _ := p.state()
		code, out := s.api(t, "PUT", "/api/v1/streams/class/source", c.source)
		if code != http.StatusOK {
			t.Fatalf("PUT %v: %d %v", c.source, code, out)
		}
		p.expectPicture(t, 3*time.Second, fmt.Sprint(c.source["type"]), c.want)
		time.Sleep(3 * time.Second)
		if n, err := p.state(); err != nil || n < before+30 {
			t.Fatalf("FLV after the switch to %s: %d frames (before %d), %v", c.source["type"], n, before, err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- hls.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the HLS player stopped: %v: %s", err, hlsOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the HLS player did not finish its 14 s: %s", hlsOut.String())
	}
	frames := regexp.MustCompile(`frame=\s*(\d+)`).FindAllStringSubmatch(hlsOut.String(), -1)
	if len(frames) == 0 {
		t.Fatalf("ffmpeg said nothing of frames: %s", hlsOut.String())
	}
	n, _ := strconv.Atoi(frames[len(frames)-1][1])
	if n < 14*15 {
		t.Errorf("the HLS player decoded %d frames in 14 s", n)
	}
	t.Logf("the HLS player decoded %d frames across both switches", n)
	if v := s.stream(t, "class")["viewers"].(map[string]any); v["peak"] != float64(2) {
		t.Errorf("viewers: %v (a viewer that reconnected counts twice)", v)
	}
}

// TestSceneCarriesTheCameraSound: an IP camera's AAC (48 kHz) or G.711
// (8 kHz, resampled) is the scene's sound when the scene names it.
func TestSceneCarriesTheCameraSound(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg")
	paintedScreen(t)
	s := startServer(t, options{})
	s.findScreens(t)
	cam := rtsptest.StartCamera(t, "")
	for _, path := range []string{"/h264aac", "/h264pcmu"} {
		t.Run(path[1:], func(t *testing.T) {
			name := "sound-" + path[1:]
			code, out := s.api(t, "POST", "/api/v1/streams", map[string]any{"name": name, "source": map[string]any{
				"type": "scene", "options": map[string]string{"audio": "2"},
				"inputs": []any{map[string]any{"type": "screen", "options": map[string]string{"microphone": "none"}},
					map[string]any{"type": "rtsp", "url": cam.URL("", path)}}}})
			if code != http.StatusCreated {
				t.Fatalf("create: %d %v", code, out)
			}
			defer s.api(t, "DELETE", "/api/v1/streams/"+name, nil) // the next scene needs the screen
			testkit.WaitFor(t, 10*time.Second, "the scene live", func() bool { return s.stream(t, name)["state"] == "live" })
			time.Sleep(2 * time.Second) // the camera connects
			ff := exec.Command("ffmpeg", "-nostdin", "-i", "http://"+s.HTTP+"/live/"+name+".flv", "-t", "4", "-map", "0:a", "-af", "volumedetect", "-f", "null", "-")
			b, err := ff.CombinedOutput()
			if err != nil {
				t.Fatalf("ffmpeg: %v: %s", err, b)
			}
			m := regexp.MustCompile(`Audio: aac[^\n]*48000 Hz`).Find(b)
			vol := regexp.MustCompile(`mean_volume: (-?[0-9.]+) dB`).FindSubmatch(b)
			if m == nil || vol == nil {
				t.Fatalf("no 48 kHz AAC sound measured:\n%s", b)
			}
			if v, _ := strconv.ParseFloat(string(vol[1]), 64); v < -30 {
				t.Errorf("mean volume %.1f dB: the camera's tone is not heard", v)
			}
			t.Logf("%s: mean volume %s dB", path, vol[1])
		})
	}
}
