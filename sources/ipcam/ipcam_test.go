package ipcam

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"

	"chalkcast/engine"
	"chalkcast/engine/store"
	"chalkcast/internal/logbuf"
	"chalkcast/internal/rtsptest"
	"chalkcast/internal/testkit"
	"chalkcast/media/decode"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		url  string
		opts map[string]string
		want string // part of the error; "" for valid
	}{
		{"rtsp://admin:pw@192.168.1.64:554/Streaming/Channels/101", nil, ""},
		{"rtsps://cam.local/live", map[string]string{"transport": "tcp", "verify_tls": "1"}, ""},
		{"rtsp://cam/1", map[string]string{"transport": "UDP", "on_demand": "true"}, ""},
		{"", nil, "needs its address"},
		{"http://cam/1", nil, "is not an RTSP address"},
		{"rtsp:///nohost", nil, "is not an RTSP address"},
		{"rtsp://cam:99999/1", nil, "bad port"},
		{"rtsp://cam/1", map[string]string{"transport": "quic"}, "use auto, tcp or udp"},
		{"rtsps://cam/1", map[string]string{"transport": "udp"}, "TCP only"},
		{"rtsp://cam/1", map[string]string{"on_demand": "maybe"}, "use 1 or 0"},
		{"rtsp://cam/1", map[string]string{"fps": "30"}, "unknown option"},
	} {
		err := New(nil).Check(engine.Source{Type: Type, URL: c.url, Options: c.opts})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %v: %v", c.url, c.opts, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, engine.ErrInvalid)):
			t.Errorf("%s %v: error %v, want one with %q", c.url, c.opts, err, c.want)
		}
	}
	err := New(nil).Check(engine.Source{Type: Type, URL: "http://admin:hunter2@cam/1"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestG711ToAAC(t *testing.T) {
	g, err := newG711Track(true, 8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	// 2 s of a 440 Hz tone in 20 ms packets of μ-law
	var pkts []*engine.Packet
	tone := make([]byte, 320)
	for i := range 100 {
		for j := range 160 {
			v := int16(8000 * math.Sin(2*math.Pi*440*float64(i*160+j)/8000))
			binary.BigEndian.PutUint16(tone[2*j:], uint16(v))
		}
		mu, _ := g711.Mulaw(tone).Marshal()
		out, err := g.samples(mu, int64(i*160))
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, out...)
	}
	// the μ-law became the same tone (the timing of the AAC is rtpin's)
	dec, err := decode.NewAudio(g.aac.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var mono []float32
	for _, p := range pkts {
		if err := dec.Decode(p.Payload, func(s []float32, _ int) { mono = append(mono, s...) }); err != nil {
			t.Fatal(err)
		}
	}
	if len(mono) < 12000 {
		t.Fatalf("%d samples decoded from 2 s at 8 kHz", len(mono))
	}
	if hz := testkit.ToneHz(mono[4000:], 8000); math.Abs(hz-440) > 20 {
		t.Errorf("the AAC plays %.0f Hz, want 440 Hz", hz)
	}
}

// TestOnDemand: an on-demand camera is not called until somebody wants
// the stream, and is let go once nobody watches.
func TestOnDemand(t *testing.T) {
	cam := rtsptest.StartCamera(t, "")
	st, err := store.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	hub, err := engine.New(engine.Config{GracePeriod: time.Second}, st, log)
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	k := New(log)
	k.idleAfter = time.Second
	s, err := hub.Create(engine.StreamConfig{Name: "cam", Source: engine.Source{Type: Type, URL: cam.URL("", "/h264aac"), Options: map[string]string{"on_demand": "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	srcs := engine.NewSources(hub, map[string]engine.SourceKind{Type: k}, log)
	defer srcs.Close()

	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; log:\n%s", what, logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("standby", s.Standby)
	time.Sleep(500 * time.Millisecond)
	if s.State() != engine.StateIdle {
		t.Fatalf("state %s before anybody asked", s.State())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	s.AwaitLive(ctx, 5*time.Second) // what an output does for a player
	cancel()
	if s.State() != engine.StateLive || s.Standby() {
		t.Fatalf("state %s, standby %v after a player asked", s.State(), s.Standby())
	}
	rd, err := s.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	video := 0
	for video < 10 {
		batch, err := rd.Next(ctx, nil)
		if err != nil {
			t.Fatalf("after %d video frames: %v", video, err)
		}
		for _, p := range batch {
			if p.Track == engine.TrackVideo {
				video++
			}
		}
	}
	cancel()
	rd.Close()
	// nobody watches: after idleAfter the camera is let go
	wait("camera let go", func() bool { return s.State() != engine.StateLive && s.Standby() })
	if !strings.Contains(logs.String(), "nobody is watching") {
		t.Errorf("log does not say why the camera was let go:\n%s", logs)
	}
}
