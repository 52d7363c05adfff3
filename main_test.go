package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
)

func TestPublishAndWatch(t *testing.T) {
	s := startServer(t, options{})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 20*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })

	// Several viewers at once, each for a few seconds.
	const viewers = 4
	var wg sync.WaitGroup
	results := make([]*flvStats, viewers)
	errs := make([]error, viewers)
	for i := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			results[i], errs[i] = watchFLV(ctx, "http://"+s.HTTP+"/live/math.flv")
		}()
	}
	// While they watch, the API counts them.
	testkit.WaitFor(t, 3*time.Second, "4 FLV viewers counted", func() bool {
		v := s.stream(t, "math")["viewers"].(map[string]any)
		return v["total"] == float64(viewers) && v["by_protocol"].(map[string]any)["flv"] == float64(viewers)
	})
	wg.Wait()
	for i, st := range results {
		if errs[i] != nil {
			t.Fatalf("viewer %d: %v", i, errs[i])
		}
		if !st.Header.Video || !st.Header.Audio {
			t.Errorf("viewer %d: FLV header flags video=%v audio=%v", i, st.Header.Video, st.Header.Audio)
		}
		if st.VideoCfg == nil || st.VideoCfg.Width != 640 || st.VideoCfg.Height != 360 {
			t.Errorf("viewer %d: video config %+v", i, st.VideoCfg)
		}
		if st.AudioCfg == nil || st.AudioCfg.SampleRate != 44100 {
			t.Errorf("viewer %d: audio config %+v", i, st.AudioCfg)
		}
		if !st.FirstVideoIsKey {
			t.Errorf("viewer %d: first video frame is not a keyframe", i)
		}
		// About 3 s of 30 fps video and 43 AAC frames/s, minus start-up.
		if st.Video < 45 || st.Audio < 60 || st.Keyframes < 2 {
			t.Errorf("viewer %d: got %d video frames (%d keyframes) and %d audio frames in 3 s", i, st.Video, st.Keyframes, st.Audio)
		}
	}

	info := s.stream(t, "math")
	if info["bitrate_kbps"].(float64) <= 0 {
		t.Errorf("bitrate_kbps = %v", info["bitrate_kbps"])
	}
	video := info["video"].(map[string]any)
	if video["codec"] != "h264" || video["width"] != float64(640) || video["height"] != float64(360) {
		t.Errorf("video = %v", video)
	}
	if fps := video["fps"].(float64); fps < 25 || fps > 35 {
		t.Errorf("fps = %v", fps)
	}
	if audio := info["audio"].(map[string]any); audio["codec"] != "aac" {
		t.Errorf("audio = %v", audio)
	}
	testkit.WaitFor(t, 3*time.Second, "viewers to leave", func() bool {
		return s.stream(t, "math")["viewers"].(map[string]any)["total"] == float64(0)
	})

	// Real players read both outputs.
	for _, url := range []string{"http://" + s.HTTP + "/live/math.flv", "rtmp://" + s.RTMP + "/live/math"} {
		got := strings.Join(ffprobe(t, url), " ")
		if !strings.Contains(got, "h264,640,360") || !strings.Contains(got, "aac") {
			t.Errorf("ffprobe %s: %q", url, got)
		}
	}
}

// TestPublishCopiedFromMPEGTS: ffmpeg copying AAC from MPEG-TS sends an
// empty AAC sequence header before the real one. The publisher is kept,
// and the stream plays video and audio.
func TestPublishCopiedFromMPEGTS(t *testing.T) {
	clip := tsClip(t, "640x360", 12)
	s := startServer(t, options{})
	key := s.create(t, "math")
	publishCopy(t, "rtmp://"+s.RTMP+"/live/"+key, clip)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	if _, _, _, err := mediatest.Check(context.Background(), "http://"+s.HTTP+"/live/math.flv", t.TempDir(), 3*time.Second,
		mediatest.Want{Width: 640, Height: 360, FPS: 30, KeyEvery: time.Second, Audio: true}); err != nil {
		t.Fatal(err)
	}
	info := s.stream(t, "math")
	if audio, _ := info["audio"].(map[string]any); info["state"] != "live" || audio["codec"] != "aac" || audio["sample_rate"] != float64(44100) {
		t.Errorf("state %v, audio %v", info["state"], info["audio"])
	}
}

// TestResolutionChangeMidStream: a publisher whose picture size changes
// mid-stream (here ffmpeg copying a recording that does) sends the new
// parameter sets in a keyframe; the API reports the new size and new
// viewers get it.
func TestResolutionChangeMidStream(t *testing.T) {
	small, large := tsClip(t, "640x360", 3), tsClip(t, "1280x720", 12)
	both := filepath.Join(t.TempDir(), "both.ts")
	var b []byte
	for _, f := range []string{small, large} {
		part, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, part...) // MPEG-TS files join by concatenation
	}
	if err := os.WriteFile(both, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, options{})
	key := s.create(t, "math")
	publishCopy(t, "rtmp://"+s.RTMP+"/live/"+key, both)
	size := func() string {
		v, _ := s.stream(t, "math")["video"].(map[string]any)
		return fmt.Sprintf("%vx%v", v["width"], v["height"])
	}
	testkit.WaitFor(t, 10*time.Second, "640x360 live", func() bool { return size() == "640x360" })
	testkit.WaitFor(t, 10*time.Second, "the API to report 1280x720", func() bool { return size() == "1280x720" })
	if _, _, _, err := mediatest.Check(context.Background(), "http://"+s.HTTP+"/live/math.flv", t.TempDir(), 2*time.Second,
		mediatest.Want{Width: 1280, Height: 720, FPS: 30, KeyEvery: time.Second, Audio: true}); err != nil {
		t.Fatal(err)
	}
}

func TestWrongKeyIsRefused(t *testing.T) {
	s := startServer(t, options{})
	s.create(t, "math")
	cmd := publish(t, "rtmp://"+s.RTMP+"/live/not-the-key", 5*time.Second)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("ffmpeg published with a wrong key")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ffmpeg with a wrong key was neither refused nor ended")
	}
	if st := s.stream(t, "math")["state"]; st != "idle" {
		t.Errorf("state after a refused publish = %v", st)
	}
}

func TestRTMPPlayOfUnknownStreamFails(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	s := startServer(t, options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "rtmp://"+s.RTMP+"/live/nobody").Run(); err == nil {
		t.Fatal("ffprobe of an unknown stream succeeded")
	}
	if ctx.Err() != nil {
		t.Fatal("play of an unknown stream hung instead of failing")
	}
}

func TestStalledViewerDoesNotSlowOthers(t *testing.T) {
	s := startServer(t, options{})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 20*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })

	// A viewer that asks for the stream and never reads (a phone on bad
	// Wi-Fi), with a tiny receive buffer so its socket fills at once.
	d := net.Dialer{Control: nil}
	c, err := d.Dial("tcp", s.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "GET /live/math.flv HTTP/1.1\r\nHost: %s\r\n\r\n", s.HTTP)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := watchFLV(ctx, "http://"+s.HTTP+"/live/math.flv")
	if err != nil {
		t.Fatal(err)
	}
	// The healthy viewer gets media in real time: its frames arrive no
	// later, relative to their timestamps, than 500 ms after the first.
	if len(st.Arrivals) < 100 {
		t.Fatalf("healthy viewer got only %d video frames in 5 s", len(st.Arrivals))
	}
	first := st.Arrivals[0]
	var worst time.Duration
	for _, a := range st.Arrivals[30:] { // after the GOP-cache burst
		lag := a.at.Sub(first.at) - time.Duration(a.ts-first.ts)*time.Millisecond
		worst = max(worst, lag)
	}
	if worst > 500*time.Millisecond {
		t.Errorf("healthy viewer fell %v behind real time next to a stalled one", worst)
	}
	// The healthy viewer has gone; the stalled one is still counted.
	testkit.WaitFor(t, 3*time.Second, "only the stalled viewer counted", func() bool {
		return s.stream(t, "math")["viewers"].(map[string]any)["total"] == float64(1)
	})
}

func TestRepublishWithinGraceKeepsViewers(t *testing.T) {
	s := startServer(t, options{Engine: engine.Config{GracePeriod: 8 * time.Second}})
	key := s.create(t, "math")
	url := "rtmp://" + s.RTMP + "/live/" + key
	first := publish(t, url, 3*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })

	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	res := make(chan *flvStats, 1)
	go func() {
		st, err := watchFLV(ctx, "http://"+s.HTTP+"/live/math.flv")
		if err != nil {
			t.Error(err)
		}
		res <- st
	}()
	if err := first.Wait(); err != nil {
		t.Fatalf("first publisher: %v", err)
	}
	testkit.WaitFor(t, 5*time.Second, "reconnecting state", func() bool { return s.stream(t, "math")["state"] == "reconnecting" })
	publish(t, url, 10*time.Second)
	testkit.WaitFor(t, 5*time.Second, "live again", func() bool { return s.stream(t, "math")["state"] == "live" })
	st := <-res
	if st == nil {
		return
	}
	if !errors.Is(st.Err, context.DeadlineExceeded) {
		t.Errorf("viewer connection ended with %v, want it open until the test's deadline", st.Err)
	}
	// The same connection got both sessions: more video than one
	// three-second publish, and timestamps monotonic (checked by readFLV).
	if st.Video < 120 {
		t.Errorf("viewer got %d video frames across the republish", st.Video)
	}
	if st.LastTS[0] < 4000 {
		t.Errorf("last video timestamp %d ms: the second session did not continue the first", st.LastTS[0])
	}
}

func TestViewersEndCleanlyAfterGrace(t *testing.T) {
	s := startServer(t, options{Engine: engine.Config{GracePeriod: time.Second}})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 2*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	st, err := watchFLV(ctx, "http://"+s.HTTP+"/live/math.flv")
	if err != nil {
		t.Fatal(err)
	}
	if st.Err != io.EOF {
		t.Fatalf("viewer ended with %v, want a clean end of stream", st.Err)
	}
	if el := time.Since(start); el > 6*time.Second {
		t.Errorf("viewer ended %v after joining; grace is 1 s after a 2 s publish", el)
	}
	if s.stream(t, "math")["state"] != "idle" {
		t.Error("stream not idle after the grace period")
	}
}

func TestGracefulStopEndsViewersCleanly(t *testing.T) {
	s := startServer(t, options{})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 20*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	res := make(chan *flvStats, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := watchFLV(ctx, "http://"+s.HTTP+"/live/math.flv")
		if err != nil {
			t.Error(err)
		}
		res <- st
	}()
	testkit.WaitFor(t, 5*time.Second, "viewer", func() bool {
		return s.stream(t, "math")["viewers"].(map[string]any)["total"] == float64(1)
	})
	s.stop()
	if st := <-res; st != nil && st.Err != io.EOF {
		t.Errorf("viewer ended with %v on shutdown, want a clean end of stream", st.Err)
	}
}

func TestHTTP10ViewerGetsConnectionClose(t *testing.T) {
	s := startServer(t, options{})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 20*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	c, err := net.Dial("tcp", s.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "GET /live/math.flv HTTP/1.0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !resp.Close || len(resp.TransferEncoding) != 0 {
		t.Fatalf("HTTP/1.0 answer: status %d close=%v transfer-encoding=%v", resp.StatusCode, resp.Close, resp.TransferEncoding)
	}
	for _, h := range [][2]string{{"Cache-Control", "no-cache"}, {"Access-Control-Allow-Origin", "*"}} {
		if !strings.Contains(resp.Header.Get(h[0]), h[1]) {
			t.Errorf("%s = %q", h[0], resp.Header.Get(h[0]))
		}
	}
	head := make([]byte, 3)
	if _, err := io.ReadFull(resp.Body, head); err != nil || string(head) != "FLV" {
		t.Fatalf("body starts %q (%v)", head, err)
	}
}

func TestRefusals(t *testing.T) {
	s := startServer(t, options{Engine: engine.Config{MaxStreams: 2, MaxViewersPerStream: 2}})
	key := s.create(t, "math")

	for _, c := range []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"bad name", "POST", "/api/v1/streams", map[string]string{"name": "../etc"}, 400},
		{"empty name", "POST", "/api/v1/streams", map[string]string{"name": ""}, 400},
		{"duplicate", "POST", "/api/v1/streams", map[string]string{"name": "math"}, 409},
		{"unknown source", "POST", "/api/v1/streams", map[string]any{"name": "x", "source": map[string]string{"type": "carrier-pigeon"}}, 400},
		{"unknown field", "POST", "/api/v1/streams", map[string]any{"name": "y", "colour": "red"}, 400},
		{"unknown stream", "GET", "/api/v1/streams/nobody", nil, 404},
		{"delete unknown", "DELETE", "/api/v1/streams/nobody", nil, 404},
		{"unknown FLV", "GET", "/live/nobody.flv", nil, 404},
		{"idle FLV", "GET", "/live/math.flv", nil, 404},
		{"path trick", "GET", "/live/..%2f..%2fetc%2fpasswd.flv", nil, 404},
		{"unknown API", "GET", "/api/v1/nothing", nil, 404},
	} {
		code, out := s.api(t, c.method, c.path, c.body)
		if code != c.status {
			t.Errorf("%s: status %d, want %d (%v)", c.name, code, c.status, out)
		}
		if out["error"] == nil || out["error"] == "" {
			t.Errorf("%s: no JSON error in %v", c.name, out)
		}
	}
	s.create(t, "art")
	if code, out := s.api(t, "POST", "/api/v1/streams", map[string]string{"name": "music"}); code != 503 || out["error"] == nil {
		t.Errorf("third stream over a limit of 2: status %d %v", code, out)
	}

	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 20*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		go func() { _, _ = watchFLV(ctx, "http://"+s.HTTP+"/live/math.flv") }()
	}
	testkit.WaitFor(t, 5*time.Second, "two viewers", func() bool {
		return s.stream(t, "math")["viewers"].(map[string]any)["total"] == float64(2)
	})
	code, out := s.api(t, "GET", "/live/math.flv", nil)
	if code != 503 || !strings.Contains(fmt.Sprint(out["error"]), "limit") {
		t.Errorf("third viewer over a limit of 2: status %d %v", code, out)
	}
	// A second publisher on the same key is refused; the first goes on.
	second := publish(t, "rtmp://"+s.RTMP+"/live/"+key, 5*time.Second)
	if err := second.Wait(); err == nil {
		t.Error("a second publisher on a busy stream was accepted")
	}
	if s.stream(t, "math")["state"] != "live" {
		t.Error("the first publisher was disturbed")
	}
}

func TestStreamsSurviveRestartAndKeysReset(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, options{DataDir: dir})
	key := s.create(t, "math")
	s.stop()

	s = startServer(t, options{DataDir: dir})
	info := s.stream(t, "math")
	if got := info["publish"].(map[string]any)["key"]; got != key {
		t.Fatalf("key after restart = %v, want %v", got, key)
	}
	urls := info["urls"].(map[string]any)
	if !strings.HasSuffix(urls["flv"].(string), "/live/math.flv") || !strings.HasSuffix(urls["rtmp"].(string), "/live/math") {
		t.Errorf("urls = %v", urls)
	}
	code, out := s.api(t, "POST", "/api/v1/streams/math/key", nil)
	if code != 200 {
		t.Fatalf("reset key: %d %v", code, out)
	}
	newKey := out["publish"].(map[string]any)["key"].(string)
	if newKey == key || len(newKey) < 32 {
		t.Fatalf("new key %q", newKey)
	}
	if err := publish(t, "rtmp://"+s.RTMP+"/live/"+key, 3*time.Second).Wait(); err == nil {
		t.Error("the old key still publishes")
	}
	// The reset key is persisted too.
	s.stop()
	s = startServer(t, options{DataDir: dir})
	if got := s.stream(t, "math")["publish"].(map[string]any)["key"]; got != newKey {
		t.Errorf("key after reset and restart = %v, want %v", got, newKey)
	}
	if code, _ := s.api(t, "DELETE", "/api/v1/streams/math", nil); code != 204 {
		t.Errorf("delete: %d", code)
	}
	code, list := s.api(t, "GET", "/api/v1/streams", nil)
	if code != 200 || len(list["streams"].([]any)) != 0 {
		t.Errorf("list after delete: %d %v", code, list)
	}
}

// TestSecondInstanceOnTheSameDataFolderRefuses: a second Chalkcast on a
// data folder in use ends within a second and says why, the first one
// goes on, and the folder is free again once the first is killed.
func TestSecondInstanceOnTheSameDataFolderRefuses(t *testing.T) {
	data := t.TempDir()
	first, firstCmd, _ := startChildServer(t, data)
	testkit.WaitFor(t, 15*time.Second, "the first server", first.answers)
	first.create(t, "math")

	_, second, logs := startChildServer(t, data)
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("the second server exited with 0; log:\n%s", logs)
		}
	case <-time.After(time.Second):
		t.Fatalf("the second server on the same data folder still runs after 1 s; log:\n%s", logs)
	}
	want := fmt.Sprintf("another Chalkcast (process %d) is already using the data folder %s", firstCmd.Process.Pid, data)
	if !strings.Contains(logs.String(), want) {
		t.Errorf("the second server said %q, want %q", logs, want)
	}
	if !first.answers() || first.stream(t, "math")["name"] != "math" {
		t.Error("the first server was disturbed")
	}

	// kill -9 leaves the lock file behind, but not the lock
	if err := firstCmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = firstCmd.Wait()
	third, _, _ := startChildServer(t, data)
	testkit.WaitFor(t, 15*time.Second, "a server after the first was killed", third.answers)
	third.stream(t, "math")
}

func TestVersionAndHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cli([]string{"--version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "chalkcast ") {
		t.Errorf("--version: %d %q", code, out.String())
	}
	out.Reset()
	if code := cli([]string{"serve", "--help"}, &out, &errb); code != 0 {
		t.Errorf("serve --help exit %d", code)
	}
	for _, f := range []string{"-http", "-rtmp", "-data", "-max-viewers", "-grace", "-public-url", "-admin-token"} {
		if !strings.Contains(errb.String(), f) {
			t.Errorf("help does not document %s", f)
		}
	}
	if code := cli([]string{"serve", "--bogus"}, &out, &errb); code != 2 {
		t.Errorf("bad flag exit %d", code)
	}
}

func TestClosedViewerLeavesTheCountDuringGrace(t *testing.T) {
	s := startServer(t, options{Engine: engine.Config{GracePeriod: 20 * time.Second}})
	key := s.create(t, "math")
	pub := publish(t, "rtmp://"+s.RTMP+"/live/"+key, 2*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = watchFLV(ctx, "http://"+s.HTTP+"/live/math.flv")
	}()
	viewers := func() float64 { return s.stream(t, "math")["viewers"].(map[string]any)["total"].(float64) }
	testkit.WaitFor(t, 5*time.Second, "one viewer", func() bool { return viewers() == 1 })
	_ = pub.Wait()
	testkit.WaitFor(t, 5*time.Second, "reconnecting", func() bool { return s.stream(t, "math")["state"] == "reconnecting" })
	// Nothing is written while the publisher is away; closing the tab
	// must still drop the viewer within a few seconds.
	cancel()
	<-done
	start := time.Now()
	testkit.WaitFor(t, 4*time.Second, "the closed viewer to leave the count", func() bool { return viewers() == 0 })
	t.Logf("closed viewer left the count after %v", time.Since(start).Round(10*time.Millisecond))
}

// TestVersionMatchesFyneApp: the version the binary reports is the one the
// packages are labelled with.
func TestVersionMatchesFyneApp(t *testing.T) {
	b, err := os.ReadFile("FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*Version\s*=\s*"([^"]+)"`).FindSubmatch(b)
	if m == nil || string(m[1]) != version {
		t.Fatalf("FyneApp.toml version %q, main.version %q", m, version)
	}
	var out bytes.Buffer
	if code := cli([]string{"--version"}, &out, io.Discard); code != 0 || out.String() != "chalkcast "+version+"\n" {
		t.Errorf("--version: %d %q", code, out.String())
	}
}
