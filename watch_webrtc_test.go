package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chalkcast/internal/rtc"
	"chalkcast/internal/rtctest"
	"chalkcast/internal/testkit"
)

// checkWebRTC checks that the share page in b plays name over WebRTC:
// it says so, it receives H.264 and Opus, and the server counts it as a
// WebRTC viewer.
func checkWebRTC(t *testing.T, s *server, b *browser, name string) {
	t.Helper()
	var st playerState
	testkit.WaitFor(t, 5*time.Second, "video and sound received over WebRTC", func() bool {
		st = b.player()
		return st.Received["video"].Packets > 0 && st.Received["audio"].Packets > 0
	})
	if st.Path != "webrtc" {
		t.Errorf("path %q, want webrtc (errors %v)", st.Path, st.Errors)
	}
	if v, a := st.Received["video"].Codec, st.Received["audio"].Codec; !strings.EqualFold(v, "video/H264") || !strings.EqualFold(a, "audio/opus") {
		t.Errorf("received %s and %s, want H.264 and Opus", v, a)
	}
	by := s.stream(t, name)["viewers"].(map[string]any)["by_protocol"].(map[string]any)
	if by["webrtc"] != float64(1) || len(by) != 1 {
		t.Errorf("the page is not counted as one WebRTC viewer: %v", by)
	}
}

// The share page plays over WebRTC first: the first picture within a
// second of opening the page.
func TestSharePagePlaysWebRTC(t *testing.T) {
	s := startServer(t, options{})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 60*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	b := startBrowser(t, "", "")
	st := b.watchPlays("http://" + s.HTTP + "/watch/math")
	t.Logf("WebRTC: first picture %.0f ms after navigation start; errors %v", st.FirstPlaying, st.Errors)
	if st.FirstPlaying > 1000 {
		t.Errorf("first picture after %.0f ms, want within 1 s", st.FirstPlaying)
	}
	checkWebRTC(t, s, b, "math")
	if dir := os.Getenv("CHALKCAST_SCREENSHOTS"); dir != "" {
		b.screenshot(filepath.Join(dir, "watch-webrtc.png"))
	}
	// Leaving the page ends the WebRTC session.
	b.open("about:blank")
	testkit.WaitFor(t, 10*time.Second, "the viewer gone", func() bool {
		return s.stream(t, "math")["viewers"].(map[string]any)["total"] == float64(0)
	})
}

// Where WebRTC cannot connect (the browser may not use UDP, and the server
// has no ICE over TCP) the page falls back to HTTP-FLV and plays within 3 s.
func TestSharePageFallsBackFromWebRTC(t *testing.T) {
	s := startServer(t, options{WebRTC: rtc.Config{TCPPort: -1}})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 60*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	b := startBrowserWith(t, "", "", map[string]any{"webrtc": map[string]any{"ip_handling_policy": "disable_non_proxied_udp"}})
	st := b.watchPlays("http://" + s.HTTP + "/watch/math")
	t.Logf("fallback: path %s, first picture %.0f ms after navigation start; errors %v", st.Path, st.FirstPlaying, st.Errors)
	if st.Path != "flv" || len(st.Errors) == 0 || !strings.HasPrefix(st.Errors[0], "webrtc: ") {
		t.Errorf("path %q after errors %v, want flv after a WebRTC error", st.Path, st.Errors)
	}
	if st.FirstPlaying > 3000 {
		t.Errorf("first picture after %.0f ms, want within 3 s", st.FirstPlaying)
	}
}

// A server without WebRTC: the page plays FLV without trying WebRTC, and
// ?player=webrtc says plainly that it cannot play.
func TestSharePageWithoutWebRTC(t *testing.T) {
	s := startServer(t, options{WebRTC: rtc.Config{UDPPort: -1}})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 60*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	b := startBrowser(t, "", "")
	if st := b.watchPlays("http://" + s.HTTP + "/watch/math"); st.Path != "flv" || len(st.Errors) != 0 {
		t.Errorf("path %q, errors %v; want flv at once", st.Path, st.Errors)
	}
	b.open("http://" + s.HTTP + "/watch/math?player=webrtc")
	testkit.WaitFor(t, 10*time.Second, "the page saying it cannot play", func() bool { return b.player().State == "unsupported" })
}

// An encoder's default B-frames (OBS's x264 settings) stutter in every
// browser's WebRTC player: the WHEP endpoint refuses such a stream, the
// API says why, and the page plays HTTP-FLV at once.
func TestSharePageBFramesPlayFLV(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg")
	s := startServer(t, options{})
	key := s.create(t, "math")
	startCmd(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "60", "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-f", "flv", "rtmp://"+s.RTMP+"/live/"+key))
	testkit.WaitFor(t, 10*time.Second, "stream live with B-frames", func() bool {
		v, _ := s.stream(t, "math")["video"].(map[string]any)
		return v["b_frames"] == true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if p, err := rtctest.Dial(ctx, "http://"+s.HTTP+"/live/math/whep", rtctest.Options{}); err == nil || !strings.Contains(err.Error(), "406") || !strings.Contains(err.Error(), "B-frames") {
		if p != nil {
			p.Close()
		}
		t.Errorf("WHEP for a B-frame stream: %v, want 406 naming B-frames", err)
	}
	b := startBrowser(t, "", "")
	st := b.watchPlays("http://" + s.HTTP + "/watch/math")
	t.Logf("B-frames: path %s, first picture %.0f ms after navigation start; errors %v", st.Path, st.FirstPlaying, st.Errors)
	if st.Path != "flv" || len(st.Errors) != 0 {
		t.Errorf("path %q, errors %v; want flv at once", st.Path, st.Errors)
	}
}
