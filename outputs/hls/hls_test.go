package hls

import (
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2"

	"chalkcast/engine"
)

func TestConfigVariants(t *testing.T) {
	for _, c := range []struct {
		in   string
		want gohlslib.MuxerVariant
		ok   bool
	}{
		{"", gohlslib.MuxerVariantLowLatency, true},
		{"lowlatency", gohlslib.MuxerVariantLowLatency, true},
		{"fmp4", gohlslib.MuxerVariantFMP4, true},
		{"mpegts", gohlslib.MuxerVariantMPEGTS, true},
		{"dash", 0, false},
	} {
		v, err := Config{Variant: c.in}.withDefaults().variant()
		if (err == nil) != c.ok || v != c.want {
			t.Errorf("variant %q: %v, %v", c.in, v, err)
		}
	}
	if _, err := New(nil, Config{Variant: "dash"}, nil); err == nil || !strings.Contains(err.Error(), "mpegts") {
		t.Errorf("New with a bad variant: %v", err)
	}
}

func TestValidSession(t *testing.T) {
	for id, want := range map[string]bool{
		"0123456789abcdef0123456789abcdef":   true,
		"0123456789ABCDEF0123456789abcdef":   true,
		"0123456789abcdef0123456789abcde":    false, // short
		"0123456789abcdef0123456789abcdef0":  false, // long
		"../../../etc/passwd/../../../../..": false,
		"":                                   false,
		"0123456789abcdef0123456789abcdeg":   false,
	} {
		if got := validSession(id); got != want {
			t.Errorf("validSession(%q) = %v", id, got)
		}
	}
}

func TestTracksRejectUnsupportedVideo(t *testing.T) {
	if _, _, _, err := tracks(&engine.CodecConfig{Codec: engine.CodecOpus}, nil); err == nil {
		t.Error("tracks accepted a stream without H.264 or H.265 video")
	}
	if _, _, _, err := tracks(&engine.CodecConfig{Codec: engine.CodecH264, Record: []byte{1}}, nil); err == nil {
		t.Error("tracks accepted a truncated AVC record")
	}
}

func TestSessionTimeoutDefault(t *testing.T) {
	if got := (Config{}).withDefaults().SessionTimeout; got != 6*time.Second {
		t.Errorf("default session timeout %v", got)
	}
}
