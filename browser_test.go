package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
	"chalkcast/outputs/hls"
)

// browser is headless Chromium driven through chromedriver's WebDriver API.
type browser struct {
	t       *testing.T
	base    string
	session string
}

const wechatUA = "Mozilla/5.0 (Linux; Android 13; M2102J2SC Build/TKQ1.221114.001; wv) AppleWebKit/537.36 " +
	"(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 " +
	"MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"

// startBrowser starts chromedriver and a Chromium session. script, if
// set, runs in every page before the page's own scripts.
func startBrowser(t *testing.T, userAgent, script string) *browser {
	t.Helper()
	return startBrowserWith(t, userAgent, script, nil)
}

// startBrowserWith is startBrowser with preferences set in Chromium's
// profile (as a user or a school's policy would set them).
func startBrowserWith(t *testing.T, userAgent, script string, prefs map[string]any) *browser {
	t.Helper()
	for _, b := range []string{"chromium", "chromedriver"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required in CI: %v", b, err)
			}
			t.Skipf("%s not installed", b)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	drv := exec.CommandContext(ctx, "chromedriver", fmt.Sprintf("--port=%d", port), "--allowed-ips=127.0.0.1")
	if err := drv.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = drv.Wait() })
	b := &browser{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	testkit.WaitFor(t, 10*time.Second, "chromedriver", func() bool {
		resp, err := http.Get(b.base + "/status")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	args := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--autoplay-policy=no-user-gesture-required", "--mute-audio", "--window-size=1280,800",
		"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", // a camera and a microphone for WHIP
		"--user-data-dir=" + filepath.Join(t.TempDir(), "profile")}
	if userAgent != "" {
		args = append(args, "--user-agent="+userAgent)
	}
	opts := map[string]any{"binary": "/usr/bin/chromium", "args": args}
	if prefs != nil {
		opts["prefs"] = prefs
	}
	var created struct {
		Value struct {
			SessionID string `json:"sessionId"`
		} `json:"value"`
	}
	b.call("POST", "/session", map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":        "chrome",
		"goog:chromeOptions": opts,
	}}}, &created)
	b.session = created.Value.SessionID
	t.Cleanup(func() { b.call("DELETE", "/session/"+b.session, nil, nil) })
	if script != "" {
		b.call("POST", "/session/"+b.session+"/goog/cdp/execute", map[string]any{
			"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": map[string]any{"source": script},
		}, nil)
	}
	return b
}

func (b *browser) call(method, path string, body, out any) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, b.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		b.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.t.Fatalf("webdriver %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("webdriver %s %s: %v", method, path, err)
		}
	}
}

func (b *browser) open(url string) {
	b.t.Helper()
	b.call("POST", "/session/"+b.session+"/url", map[string]any{"url": url}, nil)
}

// eval runs a JavaScript function body in the page and decodes its result.
func (b *browser) eval(script string, out any) {
	b.t.Helper()
	var res struct {
		Value json.RawMessage `json:"value"`
	}
	b.call("POST", "/session/"+b.session+"/execute/sync", map[string]any{"script": script, "args": []any{}}, &res)
	if out != nil {
		if err := json.Unmarshal(res.Value, out); err != nil {
			b.t.Fatalf("eval %q: %v (%s)", script, err, res.Value)
		}
	}
}

// screenshot saves a PNG of the page (for the closing note and for
// looking at what a student sees).
func (b *browser) screenshot(path string) {
	b.t.Helper()
	var res struct {
		Value string `json:"value"`
	}
	b.call("GET", "/session/"+b.session+"/screenshot", nil, &res)
	png, err := base64.StdEncoding.DecodeString(res.Value)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// playerState is what the share page reports about itself.
type playerState struct {
	Path         string   `json:"path"`
	State        string   `json:"state"`
	Errors       []string `json:"errors"`
	CurrentTime  float64  `json:"currentTime"`
	ReadyState   int      `json:"readyState"`
	Buffered     float64  `json:"buffered"`
	FirstPlaying float64  `json:"firstPlaying"`
	HLSLatency   float64  `json:"hlsLatency"`
	Message      string   `json:"message"`
	Paused       bool     `json:"paused"`
	// Received is what WebRTC has received, by kind ("video", "audio").
	Received map[string]struct {
		Packets int    `json:"packets"`
		Codec   string `json:"codec"`
	} `json:"received"`
}

func (b *browser) player() playerState {
	var st playerState
	b.eval(`var v = document.getElementById("v"), c = window.chalkcast || {};
		var end = v.buffered.length ? v.buffered.end(v.buffered.length - 1) : 0;
		return {path: c.path || "", state: c.state || "", errors: c.errors || [], currentTime: v.currentTime,
			readyState: v.readyState, buffered: end, firstPlaying: c.firstPlaying || 0, paused: v.paused,
			hlsLatency: (c.hls && c.hls.latency) || 0, received: c.received || {},
			message: document.getElementById("msg").hidden ? "" : document.getElementById("msg").textContent};`, &st)
	return st
}

// watchPlays opens the share page and waits until the video's time has
// advanced by at least 2 s, returning the state then.
func (b *browser) watchPlays(url string) playerState {
	b.t.Helper()
	b.open(url)
	var first, st playerState
	testkit.WaitFor(b.t, 20*time.Second, "video playing", func() bool {
		st = b.player()
		if first.CurrentTime == 0 && st.CurrentTime > 0 {
			first = st
		}
		return first.CurrentTime > 0 && st.CurrentTime-first.CurrentTime >= 2
	})
	return st
}

func TestSharePagePlaysFLV(t *testing.T) {
	s := startServer(t, options{})
	key := s.create(t, "math")
	b := startBrowser(t, "", "")
	// The page waits for the teacher and says so.
	b.open("http://" + s.HTTP + "/watch/math?player=flv")
	testkit.WaitFor(t, 10*time.Second, "the waiting message", func() bool { return b.player().State == "waiting" })

	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 60*time.Second)
	var st playerState
	testkit.WaitFor(t, 30*time.Second, "playback once the teacher is live", func() bool {
		st = b.player()
		return st.CurrentTime > 2
	})
	if st.Path != "flv" {
		t.Errorf("path %q, want flv (errors %v)", st.Path, st.Errors)
	}
	if st.Message != "" {
		t.Errorf("message still shown while playing: %q", st.Message)
	}
	// Fresh page load on a live stream: time to first picture, and the
	// player's distance from the newest data it has.
	st = b.watchPlays("http://" + s.HTTP + "/watch/math?player=flv")
	t.Logf("FLV: first picture %.0f ms after navigation start; buffered ahead %.0f ms; errors %v",
		st.FirstPlaying, 1000*(st.Buffered-st.CurrentTime), st.Errors)
	if st.FirstPlaying > 2000 {
		t.Errorf("first picture after %.0f ms, want within 2 s", st.FirstPlaying)
	}
	v := s.stream(t, "math")["viewers"].(map[string]any)
	if v["by_protocol"].(map[string]any)["flv"] != float64(1) {
		t.Errorf("the page is not counted as one FLV viewer: %v", v)
	}
	if dir := os.Getenv("CHALKCAST_SCREENSHOTS"); dir != "" {
		b.screenshot(filepath.Join(dir, "watch-flv.png"))
	}
}

// "Tap for sound" is offered only for a stream that has sound.
func TestSharePageOffersSoundOnlyWithAudio(t *testing.T) {
	s := startServer(t, options{})
	withSound, silent := s.create(t, "math"), s.create(t, "silent")
	publish(t, "rtmp://"+s.RTMP+"/live/"+withSound, 60*time.Second)
	startCmd(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "60", "-an",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-f", "flv", "rtmp://"+s.RTMP+"/live/"+silent))
	b := startBrowser(t, "", "")
	for name, want := range map[string]bool{"math": true, "silent": false} {
		b.watchPlays("http://" + s.HTTP + "/watch/" + name)
		var offered *bool // null until the page knows
		testkit.WaitFor(t, 5*time.Second, "the page's answer about sound", func() bool {
			b.eval(`var c = window.chalkcast || {}; return "sound" in c ? c.sound : null;`, &offered)
			return offered != nil
		})
		if *offered != want {
			t.Errorf("%s: Tap for sound offered %v, want %v", name, *offered, want)
		}
	}
}

func TestSharePageInWeChat(t *testing.T) {
	s := startServer(t, options{})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 60*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	b := startBrowser(t, wechatUA, "")
	st := b.watchPlays("http://" + s.HTTP + "/watch/math")
	var attrs map[string]any
	b.eval(`var v = document.getElementById("v"); return {ua: navigator.userAgent,
		playsinline: v.hasAttribute("playsinline"), webkit: v.hasAttribute("webkit-playsinline"),
		x5: v.hasAttribute("x5-playsinline"), x5type: v.getAttribute("x5-video-player-type"), muted: v.muted};`, &attrs)
	if !strings.Contains(attrs["ua"].(string), "MicroMessenger") {
		t.Fatalf("user agent not WeChat's: %v", attrs["ua"])
	}
	for _, k := range []string{"playsinline", "webkit", "x5", "muted"} {
		if attrs[k] != true {
			t.Errorf("video %s = %v", k, attrs[k])
		}
	}
	if attrs["x5type"] != "h5" {
		t.Errorf("x5-video-player-type = %v", attrs["x5type"])
	}
	t.Logf("WeChat UA: path %s, time %.1f s, first picture %.0f ms after navigation", st.Path, st.CurrentTime, st.FirstPlaying)
	checkWebRTC(t, s, b, "math")
}

func TestSharePageTakesHLSWithoutMSE(t *testing.T) {
	s := startServer(t, options{})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 60*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	// An older iPhone: no WebRTC, no Media Source Extensions, native HLS.
	b := startBrowser(t, "", `delete window.RTCPeerConnection; delete window.MediaSource; delete window.ManagedMediaSource; delete window.WebKitMediaSource;
		var cpt = HTMLMediaElement.prototype.canPlayType;
		HTMLMediaElement.prototype.canPlayType = function (t) { return /mpegurl/i.test(t) ? "maybe" : cpt.call(this, t); };`)
	b.open("http://" + s.HTTP + "/watch/math")
	var st playerState
	testkit.WaitFor(t, 15*time.Second, "the native HLS path", func() bool { st = b.player(); return st.Path != "" })
	if st.Path != "hls-native" {
		t.Fatalf("path %q without MSE, want hls-native", st.Path)
	}
	// The browser really fetched the playlist: it counts as an HLS viewer.
	testkit.WaitFor(t, 15*time.Second, "an HLS session from the page", func() bool {
		bp := s.stream(t, "math")["viewers"].(map[string]any)["by_protocol"].(map[string]any)
		return bp["hls"] == float64(1)
	})
	time.Sleep(3 * time.Second)
	st = b.player()
	t.Logf("native HLS path: time %.1f s, readyState %d, errors %v", st.CurrentTime, st.ReadyState, st.Errors)
}

func TestSharePagePlaysHLSWithHlsJS(t *testing.T) {
	for _, variant := range []string{"lowlatency", "mpegts"} {
		t.Run(variant, func(t *testing.T) {
			s := startServer(t, options{HLS: hls.Config{Variant: variant}})
			key := s.create(t, "math")
			publish(t, "rtmp://"+s.RTMP+"/live/"+key, 60*time.Second)
			testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
			b := startBrowser(t, "", "")
			st := b.watchPlays("http://" + s.HTTP + "/watch/math?player=hls")
			if st.Path != "hls.js" {
				t.Errorf("path %q, want hls.js", st.Path)
			}
			t.Logf("hls.js (%s): first picture %.0f ms after navigation; latency to the live edge %.2f s; errors %v",
				variant, st.FirstPlaying, st.HLSLatency, st.Errors)
			if dir := os.Getenv("CHALKCAST_SCREENSHOTS"); dir != "" {
				b.screenshot(filepath.Join(dir, "watch-hls-"+variant+".png"))
			}
		})
	}
}

func TestSharePageRidesOutAPublisherDrop(t *testing.T) {
	s := startServer(t, options{Engine: engine.Config{GracePeriod: 20 * time.Second}})
	key := s.create(t, "math")
	first := publish(t, "rtmp://"+s.RTMP+"/live/"+key, 5*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	b := startBrowser(t, "", "")
	b.watchPlays("http://" + s.HTTP + "/watch/math")
	_ = first.Wait()
	// The teacher's Wi-Fi drops: the page says so...
	testkit.WaitFor(t, 10*time.Second, "the reconnecting message", func() bool { return b.player().State == "reconnecting" })
	stalled := b.player().CurrentTime
	// ...and plays on by itself when the teacher is back.
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 30*time.Second)
	var st playerState
	deadline := time.Now().Add(30 * time.Second)
	for {
		st = b.player()
		if st.CurrentTime > stalled+2 && st.Message == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("playback did not resume: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("resumed: time %.1f s (stalled at %.1f s), path %s, errors %v", st.CurrentTime, stalled, st.Path, st.Errors)
}
