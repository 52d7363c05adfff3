package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"chalkcast/internal/mediatest"
	"chalkcast/internal/rtsptest"
	"chalkcast/internal/testkit"
)

// TestMain lets a test run this test binary as a Chalkcast server in its
// own process (CHALKCAST_TEST_SERVE=1), to kill it like a crash would.
func TestMain(m *testing.M) {
	if os.Getenv("CHALKCAST_TEST_SERVE") == "1" {
		os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// checkPlays checks a recording with ffprobe (H.264 + AAC) and ffmpeg
// (every frame decodes) and returns its duration.
func checkPlays(t *testing.T, path string) float64 {
	t.Helper()
	rep, err := mediatest.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := rep.Track("video")
	a, _, _ := rep.Track("audio")
	if v.Codec != "h264" || a.Codec != "aac" {
		t.Errorf("%s: video %q audio %q", path, v.Codec, a.Codec)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	dur, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("duration %q", out)
	}
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(b) > 0 {
		t.Errorf("%s does not decode cleanly: %v %s", path, err, b)
	}
	return dur
}

func TestRecordingOverTheAPI(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	s := startServer(t, options{})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 40*time.Second)
	testkit.WaitFor(t, 10*time.Second, "live", func() bool { return s.stream(t, "math")["state"] == "live" })

	if code, out := s.api(t, "POST", "/api/v1/streams/math/recording", nil); code != http.StatusCreated || out["active"] != true {
		t.Fatalf("start: %d %v", code, out)
	}
	if code, _ := s.api(t, "POST", "/api/v1/streams/math/recording", nil); code != http.StatusConflict {
		t.Errorf("second start: %d", code)
	}
	time.Sleep(10 * time.Second)
	if rs, _ := s.stream(t, "math")["recording_status"].(map[string]any); rs["active"] != true || rs["bytes"].(float64) == 0 {
		t.Errorf("recording status %v", rs)
	}
	code, out := s.api(t, "DELETE", "/api/v1/streams/math/recording", nil)
	if code != http.StatusOK {
		t.Fatalf("stop: %d %v", code, out)
	}
	name, _ := out["file"].(string)
	reported, _ := out["duration_s"].(float64)
	// recording starts at the newest keyframe (at most a second before)
	if !strings.HasPrefix(name, "math_") || !strings.HasSuffix(name, ".mp4") || reported < 9.5 || reported > 11.5 {
		t.Fatalf("stopped recording %v", out)
	}

	// the list has it, and an admin downloads it
	_, list := s.api(t, "GET", "/api/v1/recordings", nil)
	if b := mustJSON(t, list); !strings.Contains(b, name) {
		t.Fatalf("list %s", b)
	}
	resp, err := http.Get("http://" + s.HTTP + "/api/v1/recordings/math/" + name)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || int64(len(b)) != int64(out["size"].(float64)) {
		t.Fatalf("download: %d, %d bytes, want %v", resp.StatusCode, len(b), out["size"])
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := checkPlays(t, file); got < reported-0.5 || got > reported+0.5 {
		t.Errorf("ffprobe says %.2f s, Chalkcast %.2f s", got, reported)
	}

	// nothing else can be fetched through the recordings endpoint
	for _, p := range []string{
		"/api/v1/recordings/math/..%2F..%2Fstreams.json",
		"/api/v1/recordings/math/..%2Fmath%2F" + name,
		"/api/v1/recordings/..%2F/streams.json",
		"/api/v1/recordings/math/%2Fetc%2Fpasswd",
		"/api/v1/recordings/math/../../streams.json",
		"/api/v1/recordings/other/" + strings.Replace(name, "math", "other", 1),
	} {
		resp, err := http.Get("http://" + s.HTTP + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || bytes.Contains(body, []byte(`"key"`)) {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
}

// TestRecordingSurvivesKill9 kills the server mid-recording: the file
// plays, and holds all but the last second or two.
func TestRecordingSurvivesKill9(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	data := t.TempDir()
	startChild := func() (*server, *exec.Cmd, *syncBuffer) {
		s, cmd, logs := startChildServer(t, data)
		testkit.WaitFor(t, 15*time.Second, "the server", s.answers)
		return s, cmd, logs
	}
	s, cmd, logs := startChild()
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 40*time.Second)
	testkit.WaitFor(t, 10*time.Second, "live", func() bool { return s.stream(t, "math")["state"] == "live" })
	if code, out := s.api(t, "POST", "/api/v1/streams/math/recording", nil); code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, out)
	}
	time.Sleep(7 * time.Second)
	rs, _ := s.stream(t, "math")["recording_status"].(map[string]any)
	recorded, _ := rs["duration_s"].(float64)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: nothing is finished
		t.Fatal(err)
	}
	_ = cmd.Wait()

	files, _ := filepath.Glob(filepath.Join(data, "recordings", "math", "math_*.mp4"))
	if len(files) != 1 {
		t.Fatalf("files %v; server log:\n%s", files, logs)
	}
	got := checkPlays(t, files[0])
	t.Logf("recorded %.2f s before kill -9; the file plays %.2f s", recorded, got)
	if got < recorded-2 || got > recorded+1 || recorded < 6 {
		t.Errorf("the file plays %.2f s of the %.2f s recorded", got, recorded)
	}

	// back up: the recording is listed with its length
	s, _, _ = startChild()
	_, list := s.api(t, "GET", "/api/v1/recordings", nil)
	recs, _ := list["recordings"].([]any)
	if len(recs) != 1 {
		t.Fatalf("list after restart: %v", list)
	}
	if d := recs[0].(map[string]any)["duration_s"].(float64); d < got-0.5 || d > got+0.5 {
		t.Errorf("listed %.2f s, ffprobe %.2f s", d, got)
	}
}

// TestRecordingDiskErrors fills a tiny filesystem and makes it read-only:
// the recording stops with a clear error, the stream and its viewers carry
// on, and what was written plays. (It mounts a tmpfs, so it needs root;
// outputs/record covers the same with an injected write error.)
func TestRecordingDiskErrors(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	data := t.TempDir()
	dir := filepath.Join(data, "recordings")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=768k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small filesystem here (%v: %s)", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	s := startServer(t, options{DataDir: data})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 60*time.Second)
	testkit.WaitFor(t, 10*time.Second, "live", func() bool { return s.stream(t, "math")["state"] == "live" })
	if code, out := s.api(t, "POST", "/api/v1/streams/math/recording", nil); code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, out)
	}
	recErr := func() string {
		rs, _ := s.stream(t, "math")["recording_status"].(map[string]any)
		e, _ := rs["error"].(string)
		return e
	}
	testkit.WaitFor(t, 40*time.Second, "the disk to fill", func() bool { return recErr() != "" })
	if e := recErr(); !strings.Contains(e, "the disk is full") {
		t.Errorf("error %q", e)
	}
	if st := s.stream(t, "math")["state"]; st != "live" {
		t.Errorf("stream %v after the disk filled", st)
	}
	if got := ffprobe(t, "http://"+s.HTTP+"/live/math.flv"); !slices.Contains(got, "h264,640,360") {
		t.Errorf("a viewer after the disk filled: %v", got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "math", "*.mp4"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	if d := checkPlays(t, files[0]); d < 1 {
		t.Errorf("kept %.2f s", d)
	}

	// read-only: a new recording fails at once, plainly
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
	if code, out := s.api(t, "POST", "/api/v1/streams/math/recording", nil); code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, out)
	}
	testkit.WaitFor(t, 10*time.Second, "the read-only error", func() bool { return strings.Contains(recErr(), "cannot be written to") })
	if st := s.stream(t, "math")["state"]; st != "live" {
		t.Errorf("stream %v on a read-only disk", st)
	}
}

// TestRecordingAcrossAReconnect: the publisher drops and comes back within
// the grace period; the recording goes on in the same file, which plays
// cleanly and lasts as long as the recording did.
func TestRecordingAcrossAReconnect(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	s := startServer(t, options{})
	key := s.create(t, "math")
	first := publish(t, "rtmp://"+s.RTMP+"/live/"+key, 5*time.Second)
	testkit.WaitFor(t, 10*time.Second, "live", func() bool { return s.stream(t, "math")["state"] == "live" })
	if code, out := s.api(t, "POST", "/api/v1/streams/math/recording", nil); code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, out)
	}
	_ = first.Wait() // the teacher's Wi-Fi drops...
	testkit.WaitFor(t, 5*time.Second, "reconnecting", func() bool { return s.stream(t, "math")["state"] == "reconnecting" })
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 30*time.Second) // ...and comes back
	testkit.WaitFor(t, 10*time.Second, "live again", func() bool { return s.stream(t, "math")["state"] == "live" })
	time.Sleep(4 * time.Second)
	code, out := s.api(t, "DELETE", "/api/v1/streams/math/recording", nil)
	if code != http.StatusOK {
		t.Fatalf("stop: %d %v", code, out)
	}
	_, list := s.api(t, "GET", "/api/v1/recordings", nil)
	if recs, _ := list["recordings"].([]any); len(recs) != 1 {
		t.Fatalf("recordings after a reconnect: %v", list)
	}
	files, _ := filepath.Glob(filepath.Join(s.Data, "recordings", "math", "*.mp4"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	got := checkPlays(t, files[0])
	if reported := out["duration_s"].(float64); got < reported-0.5 || got > reported+0.5 || reported < 7 {
		t.Errorf("ffprobe %.2f s, Chalkcast %.2f s", got, reported)
	}
}

// TestRecordingH265Camera records an H.265 IP camera to MP4 (hvc1).
func TestRecordingH265Camera(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	cam := rtsptest.StartCamera(t, "")
	s := startServer(t, options{})
	s.createCamera(t, "lab", cam.URL("", "/h265"), map[string]string{"transport": "tcp"})
	if code, out := s.api(t, "POST", "/api/v1/streams/lab/recording", nil); code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, out)
	}
	time.Sleep(3 * time.Second)
	code, out := s.api(t, "DELETE", "/api/v1/streams/lab/recording", nil)
	if code != http.StatusOK {
		t.Fatalf("stop: %d %v", code, out)
	}
	path := filepath.Join(s.Data, "recordings", "lab", out["file"].(string))
	rep, err := mediatest.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := rep.Track("video"); v.Codec != "hevc" || v.Width != 640 {
		t.Errorf("video %+v", v)
	}
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(b) > 0 {
		t.Errorf("%s does not decode cleanly: %v %s", path, err, b)
	}
}
