package flv

import (
	"log/slog"
	"strings"
	"testing"

	"chalkcast/engine"
	"chalkcast/internal/logbuf"
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
