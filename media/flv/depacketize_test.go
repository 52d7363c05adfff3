package flv

import (
	"context"
	"encoding/binary"
	"log/slog"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/logbuf"
	"chalkcast/internal/mediatest"
)

// TestEmptyAudioConfigIsIgnored: ffmpeg copying AAC from MPEG-TS sends an
// empty AAC sequence header before the real one. The publisher is not
// dropped: the empty (or any unusable) header is ignored with one log
// line, video goes on, and audio starts with the first valid header.
func TestEmptyAudioConfigIsIgnored(t *testing.T) {
	logs := &logbuf.Buffer{}
	d := Depacketizer{Log: slog.New(slog.NewTextHandler(logs, nil))}
	aacHeader := func(asc ...byte) []byte { return append([]byte{0xaf, 0}, asc...) }
	aacFrame := []byte{0xaf, 1, 0x21, 0x10, 0x04}

	for _, bad := range [][]byte{aacHeader(), aacHeader(0xff), aacHeader()} {
		if p, changed, err := d.Audio(0, bad); err != nil || changed || p != nil {
			t.Fatalf("unusable sequence header % x: %v %v %v, want it ignored", bad, p, changed, err)
		}
	}
	if p, changed, err := d.Audio(0, aacFrame); err != nil || changed || p != nil {
		t.Fatalf("AAC frame before a valid header: %v %v %v, want it dropped", p, changed, err)
	}
	if _, changed, err := d.Video(0, append([]byte{0x17, 0, 0, 0, 0}, avcRecord...)); err != nil || !changed {
		t.Fatalf("video header: %v %v", changed, err)
	}
	if p, _, err := d.Video(0, append([]byte{0x17, 1, 0, 0, 0}, nalus(5)...)); err != nil || p == nil {
		t.Fatalf("video frame: %v %v", p, err)
	}
	if _, changed, err := d.Audio(20, aacHeader(aacASC...)); err != nil || !changed || d.AudioConfig == nil || d.AudioConfig.SampleRate != 44100 {
		t.Fatalf("valid header: %v %v %+v", changed, err, d.AudioConfig)
	}
	// an unusable header later keeps the good configuration
	if _, changed, err := d.Audio(40, aacHeader()); err != nil || changed || d.AudioConfig.SampleRate != 44100 {
		t.Fatalf("empty header after a valid one: %v %v %+v", changed, err, d.AudioConfig)
	}
	p, _, err := d.Audio(40, aacFrame)
	if err != nil || p == nil || p.Codec != engine.CodecAAC || p.Config != d.AudioConfig {
		t.Fatalf("AAC frame after the header: %+v %v", p, err)
	}
	if n := strings.Count(logs.String(), "audio configuration ignored"); n != 1 {
		t.Errorf("%d log lines about ignored configurations, want 1:\n%s", n, logs)
	}
}

// TestInBandResolutionChange: a publisher that changes resolution
// mid-stream (ffmpeg copying a recording whose size changes) sends the new
// SPS and PPS in the keyframe, with no new sequence header. The stream's
// configuration follows them.
func TestInBandResolutionChange(t *testing.T) {
	sps360 := []byte{0x67, 0x4d, 0x40, 0x1e, 0xec, 0xa0, 0x50, 0x17, 0xfc, 0xb8, 0x08, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x07, 0x8b, 0x16, 0xcb}
	pps360 := []byte{0x68, 0xeb, 0xe3, 0xcb, 0x20}
	frame := func(key bool, params ...[]byte) []byte {
		b := []byte{0x27, 1, 0, 0, 0}
		nal := []byte{0x41, 0x9a}
		if key {
			b[0], nal = 0x17, []byte{0x65, 0x88}
		}
		for _, n := range append(params, nal) {
			b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
			b = append(b, n...)
		}
		return b
	}
	var d Depacketizer
	if _, changed, err := d.Video(0, append([]byte{0x17, 0, 0, 0, 0}, avcRecord...)); err != nil || !changed || d.VideoConfig.Width != 1280 {
		t.Fatalf("sequence header: %v %v %+v", changed, err, d.VideoConfig)
	}
	first := d.VideoConfig
	for i, c := range []struct {
		name          string
		body          []byte
		changed       bool
		width, height int
	}{
		{"keyframe with the same parameter sets", frame(true, avcRecord[8:34], avcRecord[37:]), false, 1280, 720},
		{"frame", frame(false), false, 1280, 720},
		{"keyframe with new parameter sets", frame(true, sps360, pps360), true, 640, 360},
		{"frame after the change", frame(false), false, 640, 360},
		{"keyframe without parameter sets", frame(true), false, 640, 360},
		{"keyframe back to the first size", frame(true, avcRecord[8:34], avcRecord[37:]), true, 1280, 720},
	} {
		p, changed, err := d.Video(uint32(40*(i+1)), c.body)
		if err != nil || p == nil {
			t.Fatalf("%s: %v %v", c.name, p, err)
		}
		if changed != c.changed || p.Config != d.VideoConfig || p.Config.Width != c.width || p.Config.Height != c.height {
			t.Errorf("%s: changed %v, packet config %+v (depacketizer %p), want changed %v and %dx%d",
				c.name, changed, p.Config, d.VideoConfig, c.changed, c.width, c.height)
		}
	}
	if !d.VideoConfig.Equal(first) {
		t.Errorf("back to the first size: record %x, want %x", d.VideoConfig.Record, first.Record)
	}
}

// Tag writes what a tag gives to the publisher, a new configuration
// before its packet, and says when the configuration changed.
func TestTagFeedsAPublisher(t *testing.T) {
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	s, err := hub.Create(engine.StreamConfig{Name: "in", Source: engine.Source{Type: "rtmp"}})
	if err != nil {
		t.Fatal(err)
	}
	pub, rd := mediatest.Tap(t, s, engine.SourceInfo{Protocol: "test"})
	var d Depacketizer
	for _, c := range []struct {
		name    string
		video   bool
		body    []byte
		changed bool
	}{
		{"a frame before its header", true, append([]byte{0x17, 1, 0, 0, 0}, nalus(5)...), false},
		{"the video header", true, append([]byte{0x17, 0, 0, 0, 0}, avcRecord...), true},
		{"the same header again", true, append([]byte{0x17, 0, 0, 0, 0}, avcRecord...), false},
		{"a keyframe", true, append([]byte{0x17, 1, 0, 0, 0}, nalus(5)...), false},
		{"the audio header", false, append([]byte{0xaf, 0}, aacASC...), true},
		{"an AAC frame", false, []byte{0xaf, 1, 0x21, 0x10, 0x04}, false},
	} {
		cfg, err := d.Tag(pub, c.video, 40, c.body)
		if err != nil || (cfg != nil) != c.changed {
			t.Errorf("%s: configuration %+v, %v; want changed %v", c.name, cfg, err, c.changed)
		}
	}
	if _, err := d.Tag(pub, true, 80, []byte{0x17}); err == nil {
		t.Error("a truncated tag was taken")
	}
	if s.Stats(engine.StatsOptions{}).Video == nil {
		t.Error("the stream has no video configuration")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var pkts []*engine.Packet
	for len(pkts) < 2 && err == nil {
		pkts, err = rd.Next(ctx, pkts) // audio may wait for the next video frame, 100 ms at most
	}
	if err != nil || len(pkts) != 2 || pkts[0].Track != engine.TrackVideo || !pkts[0].Keyframe || pkts[1].Track != engine.TrackAudio {
		t.Errorf("the stream got %v, %v; want the keyframe and the AAC frame", pkts, err)
	}
}
