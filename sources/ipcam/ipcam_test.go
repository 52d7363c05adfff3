package ipcam

import (
	"context"
	"encoding/binary"
	"errors"
	"image"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/g711"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/engine/store"
	"chalkcast/internal/logbuf"
	"chalkcast/internal/rtsptest"
	"chalkcast/internal/testkit"
	"chalkcast/media/encode"
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

// encodeAUs encodes n frames of w×h with OpenH264 and returns them as
// access units the way a camera sends them: parameter sets and a delimiter
// before each keyframe.
func encodeAUs(t testing.TB, w, h, n int) [][][]byte {
	t.Helper()
	enc, err := encode.NewH264(encode.VideoSettings{Width: w, Height: h, FPS: 25, Bitrate: 500_000, KeyInterval: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	var out [][][]byte
	for i := range n {
		for j := range img.Y {
			img.Y[j] = byte(i*7 + j)
		}
		payload, key, cfg, err := enc.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		var au h264.AVCC
		if err := au.Unmarshal(payload); err != nil {
			t.Fatal(err)
		}
		if key {
			rec, _ := codec.ParseAVCRecord(cfg.Record)
			au = append([][]byte{{0x09, 0xf0}, rec.SPS[0], rec.PPS[0]}, au...)
		}
		out = append(out, au)
	}
	return out
}

func TestVideoTrackParameterSets(t *testing.T) {
	small, large := encodeAUs(t, 320, 240, 12), encodeAUs(t, 640, 360, 12)
	v := newVideoTrack(engine.CodecH264) // the SDP had no sprop-parameter-sets
	var pts int64
	feed := func(au [][]byte) *engine.Packet {
		t.Helper()
		pts += 3600
		p, err := v.access(au, pts)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Frames before the first keyframe cannot be decoded: skipped.
	if p := feed(small[1]); p != nil {
		t.Fatal("a frame before the first keyframe was passed on")
	}
	first := feed(small[0])
	if first == nil || !first.Keyframe || first.Config.Width != 320 || first.Config.Height != 240 {
		t.Fatalf("first keyframe %+v", first)
	}
	// The payload has no parameter sets or delimiters: outputs add them.
	var au h264.AVCC
	if err := au.Unmarshal(first.Payload); err != nil {
		t.Fatal(err)
	}
	for _, n := range au {
		if typ := h264.NALUType(n[0] & 0x1f); typ == h264.NALUTypeSPS || typ == h264.NALUTypePPS || typ == h264.NALUTypeAccessUnitDelimiter {
			t.Errorf("payload carries NAL unit type %v", typ)
		}
	}
	for _, a := range small[1:] {
		if p := feed(a); p == nil || p.Config != first.Config || p.DTS > p.PTS {
			t.Fatalf("frame %+v", p)
		}
	}
	// The camera changes its resolution: new parameter sets in-band, a
	// new configuration from the next keyframe on.
	p := feed(large[0])
	if p == nil || p.Config == first.Config || p.Config.Width != 640 || p.Config.Height != 360 {
		t.Fatalf("after the change: %+v", p)
	}
}

func TestG711ToAAC(t *testing.T) {
	g, err := newG711Track(true, 8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	// 2 s of a 440 Hz tone in 20 ms packets, then a packet 1 s later
	// (lost packets): the track starts again from the new timestamp.
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
	// 16000 samples, less the encoder's delay, in frames of 1024
	if want := (16000 - encode.AACDelay) / encode.AACFrameSamples; len(pkts) < want-1 || len(pkts) > want+1 {
		t.Errorf("%d AAC packets, want about %d", len(pkts), want)
	}
	for i, p := range pkts {
		if p.Codec != engine.CodecAAC || p.Config.SampleRate != 8000 || p.PTS < 0 || len(p.Payload) == 0 {
			t.Fatalf("packet %d: %+v", i, p)
		}
		if i > 0 && p.PTS-pkts[i-1].PTS != 128*time.Millisecond {
			t.Fatalf("packets %d and %d are %v apart, want 128 ms", i-1, i, p.PTS-pkts[i-1].PTS)
		}
	}
	// one lost packet (20 ms): silence in its place keeps the timing
	buffered := len(g.pcm)
	mu, _ := g711.Mulaw(tone).Marshal()
	if _, err := g.samples(mu, 16160); err != nil {
		t.Fatal(err)
	}
	if got := len(g.pcm) - buffered; got != 320 && got+encode.AACFrameSamples != 320 {
		t.Errorf("after a lost packet %d samples were added, want 160 of silence and 160", got)
	}
	// a second later: the track starts again from the new timestamp
	if _, err := g.samples(mu, 24000); err != nil {
		t.Fatal(err)
	}
	if g.next != 24000 || len(g.pcm) != 160 {
		t.Errorf("after a gap: next %d, %d samples buffered; want 24000, 160", g.next, len(g.pcm))
	}
}

// fuzzInput lays access units out for FuzzVideoAccess: a codec byte, then
// per NAL unit a flag byte (0x80: last of its access unit), a 16-bit
// length and the unit.
func fuzzInput(c byte, aus [][][]byte) []byte {
	b := []byte{c}
	for _, au := range aus {
		for i, n := range au {
			flag := byte(0)
			if i == len(au)-1 {
				flag = 0x80
			}
			b = append(b, flag)
			b = binary.BigEndian.AppendUint16(b, uint16(len(n)))
			b = append(b, n...)
		}
	}
	return b
}

// FuzzVideoAccess feeds arbitrary access units to the H.264 and H.265
// tracks: nothing may panic, and what comes out is well formed. The seeds
// are real OpenH264 access units, so that mutations reach the paths past
// the parameter sets.
func FuzzVideoAccess(f *testing.F) {
	f.Add(fuzzInput(0, encodeAUs(f, 160, 96, 4)))
	f.Add(fuzzInput(1, [][][]byte{{{0x40, 0x01, 0x0c}, {0x42, 0x01, 0x01}, {0x44, 0x01, 0xc1}, {0x26, 0x01, 0xaf}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() {
			if len(b) == 0 {
				return
			}
			c := engine.CodecH264
			if b[0]&1 == 1 {
				c = engine.CodecH265
			}
			v := newVideoTrack(c)
			var au [][]byte
			pts := int64(0)
			rest := b[1:]
			for len(rest) >= 3 {
				last := rest[0]&0x80 != 0
				n := min(int(binary.BigEndian.Uint16(rest[1:3])), len(rest)-3)
				au = append(au, rest[3:3+n])
				rest = rest[3+n:]
				if !last && len(rest) >= 3 {
					continue
				}
				pts += 3000
				p, err := v.access(au, pts)
				if err == nil && p != nil {
					var got h264.AVCC
					if err := got.Unmarshal(p.Payload); err != nil || p.Config == nil || p.DTS > p.PTS {
						t.Fatalf("bad packet %+v: %v", p, err)
					}
				}
				au = au[:0]
			}
		})
	})
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
