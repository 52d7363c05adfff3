package main

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"chalkcast/engine"
	"chalkcast/internal/rtctest"
	"chalkcast/internal/testkit"
	"chalkcast/media/decode"
	"chalkcast/media/encode"
)

// TestWHEPPlaysTheTestPattern plays a test pattern over WebRTC: the
// first keyframe arrives within a second, the AAC sound arrives as Opus
// that decodes to the pattern's beep, the viewer is counted as a WebRTC
// viewer until its DELETE, and a stream that is deleted ends its players.
func TestWHEPPlaysTheTestPattern(t *testing.T) {
	s := startServer(t, options{})
	s.createSource(t, "tp", "testpattern", map[string]string{"preset": "480p"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := "http://" + s.HTTP + "/live/tp/whep"
	if got := s.stream(t, "tp")["urls"].(map[string]any)["whep"]; !strings.HasSuffix(got.(string), "/live/tp/whep") {
		t.Errorf("urls.whep = %v", got)
	}
	p, err := rtctest.Dial(ctx, url, rtctest.Options{KeepAudio: 150})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "a keyframe", func() bool { return p.Keyframes.Load() > 0 })
	t.Logf("first keyframe %v after the offer", p.FirstKeyframe())
	testkit.WaitFor(t, 5*time.Second, "3 s of sound", func() bool { return p.AudioPackets.Load() >= 150 })
	codec, payloads := p.Audio()
	if !strings.EqualFold(codec, webrtc.MimeTypeOpus) {
		t.Fatalf("audio codec %s, want Opus", codec)
	}
	dec, err := decode.NewAudio(&engine.CodecConfig{Codec: engine.CodecOpus, Record: encode.OpusHead(1), SampleRate: 48000, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	peak := 0.0
	for i, b := range payloads {
		if err := dec.Decode(b, func(s []float32, _ int) {
			for _, v := range s {
				peak = math.Max(peak, math.Abs(float64(v)))
			}
		}); err != nil {
			t.Fatalf("Opus packet %d: %v", i, err)
		}
	}
	if peak < 0.1 {
		t.Errorf("3 s of the test pattern's sound peak at %.3f: no beep", peak)
	}
	viewers := func(proto string) int {
		n := 0
		list, _ := s.stream(t, "tp")["viewer_list"].([]any)
		for _, v := range list {
			if v.(map[string]any)["protocol"] == proto {
				n++
			}
		}
		return n
	}
	if n := viewers("webrtc"); n != 1 {
		t.Errorf("%d WebRTC viewers listed, want 1", n)
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	testkit.WaitFor(t, 3*time.Second, "the viewer to leave", func() bool { return viewers("webrtc") == 0 })

	// a deleted stream closes its players
	p2, err := rtctest.Dial(ctx, url, rtctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	testkit.WaitFor(t, 5*time.Second, "the second player", func() bool { return p2.VideoPackets.Load() > 0 })
	if code, out := s.api(t, "DELETE", "/api/v1/streams/tp", nil); code != http.StatusOK && code != http.StatusNoContent {
		t.Fatalf("delete: %d %v", code, out)
	}
	testkit.WaitFor(t, 5*time.Second, "the player to be closed", func() bool {
		st := p2.State()
		return st == webrtc.PeerConnectionStateClosed || st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateDisconnected
	})
}
