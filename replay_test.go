package main

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"chalkcast/internal/testkit"
	"chalkcast/sources/testpattern"
)

// lessons lists a stream's lessons through the API.
func (s *server) lessons(t *testing.T, name string) []map[string]any {
	t.Helper()
	code, out := s.api(t, "GET", "/api/v1/streams/"+name+"/lessons", nil)
	if code != http.StatusOK {
		t.Fatalf("lessons of %s: %d %v", name, code, out)
	}
	var ls []map[string]any
	for _, l := range out["lessons"].([]any) {
		ls = append(ls, l.(map[string]any))
	}
	return ls
}

// local is u (a shared link, on the LAN address) on the test server's own
// address.
func (s *server) local(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Host = s.HTTP
	return p.String()
}

// frameAt seeks the share page's video to sec and reads the test
// pattern's frame counter off the picture shown, with the time the video
// says it shows; took is how long the seek took to show a picture.
func (b *browser) frameAt(sec float64) (frame int64, at float64, took time.Duration) {
	b.t.Helper()
	b.eval(`var v = document.getElementById("v"); v.pause(); window.__seek = {from: performance.now()};
		v.addEventListener("seeked", function once() { v.removeEventListener("seeked", once); window.__seek.took = performance.now() - window.__seek.from; });
		v.currentTime = `+strconv.FormatFloat(sec, 'f', 3, 64)+`; return true;`, nil)
	var ms float64
	testkit.WaitFor(b.t, 10*time.Second, "seeked", func() bool {
		var st struct {
			Took  float64
			Ready int
		}
		b.eval(`return {took: window.__seek.took || 0, ready: document.getElementById("v").readyState};`, &st)
		ms = st.Took
		return st.Took > 0 && st.Ready >= 2
	})
	n, at := b.frame()
	return n, at, time.Duration(ms * float64(time.Millisecond))
}

// frame reads the test pattern's frame counter off the picture the share
// page's video shows now, with the time the video says it shows.
func (b *browser) frame() (int64, float64) {
	b.t.Helper()
	var pic struct {
		PNG string
		At  float64
	}
	b.eval(`var v = document.getElementById("v"), c = document.createElement("canvas");
		c.width = v.videoWidth; c.height = v.videoHeight; c.getContext("2d").drawImage(v, 0, 0);
		return {png: c.toDataURL("image/png").split(",")[1], at: v.currentTime};`, &pic)
	raw, err := base64.StdEncoding.DecodeString(pic.PNG)
	if err != nil {
		b.t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		b.t.Fatal(err)
	}
	n, err := testpattern.ReadCounter(img)
	if err != nil {
		path := filepath.Join(b.t.TempDir(), "frame.png")
		_ = os.WriteFile(path, raw, 0o644)
		b.t.Fatalf("at %.2f s: %v (picture in %s)", pic.At, err, path)
	}
	return n, pic.At
}

// TestLessonReplay: 20 s of a test-pattern stream recorded and stopped is
// a lesson within 5 s; its playlist is 20 s of H.264 and AAC to ffprobe;
// Chromium plays the replay link, and after a seek to 10 s shows the
// frame of that moment (the pattern's burned-in counter, compared with
// one read at 2 s); the share page lists it under "Earlier lessons".
func TestLessonReplay(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	s := startServer(t, options{})
	s.createSource(t, "maths", "testpattern", map[string]string{"preset": "480p"})
	if code, out := s.api(t, "POST", "/api/v1/streams/maths/recording", nil); code != http.StatusCreated {
		t.Fatalf("record: %d %v", code, out)
	}
	time.Sleep(20 * time.Second)
	if code, out := s.api(t, "DELETE", "/api/v1/streams/maths/recording", nil); code != http.StatusOK {
		t.Fatalf("stop: %d %v", code, out)
	}
	stopped := time.Now()
	var l map[string]any
	testkit.WaitFor(t, 5*time.Second, "the lesson listed", func() bool {
		if ls := s.lessons(t, "maths"); len(ls) == 1 {
			l = ls[0]
		}
		return l != nil
	})
	t.Logf("lesson listed %v after the recording stopped: %v", time.Since(stopped).Round(time.Millisecond), l)
	if l["shared"] != true || !strings.HasPrefix(l["title"].(string), "maths · ") {
		t.Errorf("lesson %v", l)
	}

	hlsURL := s.local(t, l["hls_url"].(string))
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "default=nw=1", hlsURL).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", hlsURL, err, out)
	}
	got := string(out)
	dur := -1.0
	for _, line := range strings.Split(got, "\n") {
		if v, ok := strings.CutPrefix(line, "duration="); ok {
			dur, _ = strconv.ParseFloat(v, 64)
		}
	}
	if !strings.Contains(got, "codec_name=h264") || !strings.Contains(got, "codec_name=aac") || math.Abs(dur-20) > 1 {
		t.Errorf("ffprobe of the replay (want 20±1 s of H.264 and AAC): %s", got)
	}

	b := startBrowser(t, "", "")
	opened := time.Now()
	st := b.watchPlays(s.local(t, l["replay_url"].(string)))
	if st.Path != "hls.js" {
		t.Errorf("replayed with %q: %+v", st.Path, st)
	}
	var page struct {
		Badge, Title string
		Lessons      []string
		Controls     bool
	}
	b.eval(`return {badge: document.getElementById("badge").textContent, title: document.querySelector("h1").textContent,
		lessons: window.chalkcast.lessons || [], controls: document.getElementById("v").controls};`, &page)
	if page.Badge != "REPLAY" || page.Title != l["title"] || !page.Controls || len(page.Lessons) != 1 || page.Lessons[0] != l["id"] {
		t.Errorf("the replay page: %+v", page)
	}
	if dir := os.Getenv("CHALKCAST_SCREENSHOTS"); dir != "" {
		b.screenshot(filepath.Join(dir, "replay.png"))
	}
	n2, at2, _ := b.frameAt(2)
	n10, at10, took := b.frameAt(10)
	fps := s.stream(t, "maths")["video"].(map[string]any)["fps"].(float64)
	t.Logf("first picture %.0f ms after opening the page (%v with the harness); at %.3f s frame %d, at %.3f s frame %d; the seek took %v",
		st.FirstPlaying, time.Since(opened).Round(time.Millisecond), at2, n2, at10, n10, took)
	if math.Abs(at10-10) > 0.1 {
		t.Errorf("the seek to 10 s shows %.3f s", at10)
	}
	// one frame either way: where between two frames the player lands
	if want := float64(n2) + (at10-at2)*fps; math.Abs(float64(n10)-want) > 1.01 {
		t.Errorf("at %.3f s the replay shows frame %d, want %.0f (frame %d at %.3f s, %g fps)", at10, n10, want, n2, at2, fps)
	}
	// the share page of the stream lists it
	b.open("http://" + s.HTTP + "/watch/maths")
	testkit.WaitFor(t, 10*time.Second, "the lesson on the share page", func() bool {
		var shown struct {
			Hidden bool
			Links  []string
		}
		b.eval(`return {hidden: document.getElementById("lessons").hidden,
			links: Array.prototype.map.call(document.querySelectorAll("#lessonList a"), function (a) { return a.getAttribute("href"); })};`, &shown)
		return !shown.Hidden && len(shown.Links) == 1 && shown.Links[0] == "/watch/maths/replay/"+l["id"].(string)
	})
}

// TestSharePageCover: after the class, the share page shows the cover
// (the stream's last frame) under the title and what to do next, with the
// class's recording listed to watch again; a picture the teacher puts
// there replaces the last frame.
func TestSharePageCover(t *testing.T) {
	s := startServer(t, options{})
	s.createSource(t, "maths", "testpattern", map[string]string{"preset": "480p"})
	if code, out := s.api(t, "POST", "/api/v1/streams/maths/recording", nil); code != http.StatusCreated {
		t.Fatalf("record: %d %v", code, out)
	}
	testkit.WaitFor(t, 15*time.Second, "the last frame", func() bool { return s.stream(t, "maths")["cover"] != nil })
	time.Sleep(time.Second)
	if code, out := s.api(t, "POST", "/api/v1/streams/maths/stop", nil); code != http.StatusOK {
		t.Fatalf("stop: %d %v", code, out)
	}
	b := startBrowser(t, "", "")
	b.open("http://" + s.HTTP + "/watch/maths")
	type page struct {
		Message, Cover string
		Shown          bool
		Width          int
		Lessons        int
	}
	var p page
	look := func() page {
		b.eval(`var c = document.getElementById("cover");
			return {message: document.getElementById("msg").textContent, cover: c.getAttribute("src") || "", shown: !c.hidden && c.complete,
				width: c.naturalWidth, lessons: document.querySelectorAll("#lessonList a").length};`, &p)
		return p
	}
	testkit.WaitFor(t, 10*time.Second, "the cover after the class", func() bool {
		p = look()
		return p.Shown && p.Width == 640 && p.Message == "mathsThe class has ended — watch it again below." && p.Lessons == 1
	})
	if dir := os.Getenv("CHALKCAST_SCREENSHOTS"); dir != "" {
		b.screenshot(filepath.Join(dir, "cover.png"))
	}
	var pic bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 800, 450))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	_ = png.Encode(&pic, img)
	req, _ := http.NewRequest("PUT", "http://"+s.HTTP+"/api/v1/streams/maths/cover", &pic)
	req.Header.Set("Content-Type", "image/png")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT cover: %d %q", resp.StatusCode, msg)
	}
	before := p.Cover
	testkit.WaitFor(t, 10*time.Second, "the teacher's cover", func() bool {
		p = look()
		return p.Shown && p.Width == 800 && p.Cover != before
	})
}

// TestShareRewind: after a minute of a live class, a student on the share
// page slides back 45 s and sees the class of 45 s ago (the test
// pattern's counter) over HLS, then taps "Back to live" and is back on
// the best path, at the live picture.
func TestShareRewind(t *testing.T) {
	o := options{}
	o.HLS.Rewind = 10 * time.Minute
	s := startServer(t, o)
	s.createSource(t, "maths", "testpattern", map[string]string{"preset": "480p"})
	b := startBrowser(t, "", "")
	testkit.WaitFor(t, 80*time.Second, "a minute to rewind", func() bool {
		r, _ := s.stream(t, "maths")["rewind_s"].(float64)
		return r >= 60
	})
	st := b.watchPlays("http://" + s.HTTP + "/watch/maths")
	best := st.Path
	fps := s.stream(t, "maths")["video"].(map[string]any)["fps"].(float64)
	// live is the frame the source makes now, from one read on the best
	// path when it was opened (within its latency)
	n0, t0 := b.frame()
	at0 := time.Now()
	live := func() float64 { return float64(n0) + time.Since(at0).Seconds()*fps }
	var bar struct {
		Hidden bool
		Min    float64
	}
	b.eval(`var r = document.getElementById("rewind"), bar = document.getElementById("rewindBar");
		return {hidden: r.hidden, min: Number(bar.min)};`, &bar)
	if bar.Hidden || bar.Min > -60 || bar.Min < -600 {
		t.Fatalf("the rewind bar: %+v", bar)
	}
	b.eval(`var bar = document.getElementById("rewindBar"); bar.value = "-45"; bar.dispatchEvent(new Event("change")); return true;`, nil)
	var n1 int64
	testkit.WaitFor(t, 15*time.Second, "playing 45 s back", func() bool {
		st = b.player()
		if st.Path != "hls.js" || st.Paused || st.ReadyState < 3 {
			return false
		}
		n1, _ = b.frame()
		return true
	})
	behind := (live() - float64(n1)) / fps
	t.Logf("on %s at frame %d (%.3f s); rewound over %s to frame %d: %.1f s behind the source", best, n0, t0, st.Path, n1, behind)
	if behind < 42 || behind > 50 {
		t.Errorf("rewound 45 s, the picture is %.1f s behind the source", behind)
	}
	var label struct{ At, Button string }
	b.eval(`return {at: document.getElementById("rewindAt").textContent, button: document.getElementById("toLive").hidden ? "" : document.getElementById("toLive").textContent};`, &label)
	if !strings.HasPrefix(label.At, "−0:4") || label.Button != "Back to live" {
		t.Errorf("rewound, the bar says %+v", label)
	}
	if dir := os.Getenv("CHALKCAST_SCREENSHOTS"); dir != "" {
		b.call("POST", "/session/"+b.session+"/window/rect", map[string]any{"width": 390, "height": 844}, nil) // a phone
		time.Sleep(500 * time.Millisecond)
		b.screenshot(filepath.Join(dir, "rewind.png"))
	}
	b.eval(`document.getElementById("toLive").click(); return true;`, nil)
	var n2 int64
	testkit.WaitFor(t, 15*time.Second, "back to live", func() bool {
		st = b.player()
		if st.Path != best || st.State != "" || st.Paused || st.ReadyState < 2 {
			return false
		}
		n2, _ = b.frame()
		return (live()-float64(n2))/fps < 3
	})
	t.Logf("back to live on %s at frame %d, %.1f s behind the source", st.Path, n2, (live()-float64(n2))/fps)
}
