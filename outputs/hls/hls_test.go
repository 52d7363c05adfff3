package hls

import (
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
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

func TestParseRequest(t *testing.T) {
	id := strings.Repeat("0f", 16)
	for _, c := range []struct {
		name, file, query string
		want              request
		err               error
	}{
		{"maths", "index.m3u8", "", request{"maths", "index.m3u8", ""}, nil},
		{"maths", "index.m3u8", "s=" + id, request{"maths", "index.m3u8", id}, nil},
		{"maths", "main_stream.m3u8", "s=" + id + "&_HLS_msn=3&_HLS_part=1", request{"maths", "main_stream.m3u8", id}, nil},
		{"maths", "main_seg7.mp4", "s=" + id, request{"maths", "main_seg7.mp4", id}, nil},
		{"maths", "main_seg7.mp4", "", request{"maths", "main_seg7.mp4", ""}, errNoSession},
		{"maths", "main_seg7.mp4", "s=" + id[:30], request{"maths", "main_seg7.mp4", ""}, errNoSession},
		{"maths", "index.m3u8", "s=" + strings.Repeat("x", 32), request{"maths", "index.m3u8", ""}, nil}, // a new session
		{"..", "index.m3u8", "", request{}, errNotStream},
		{"a/b", "index.m3u8", "", request{}, errNotStream},
	} {
		q, _ := url.ParseQuery(c.query)
		got, err := parseRequest(c.name, c.file, q)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("parseRequest(%q, %q, %q) = %+v, %v; want %+v, %v", c.name, c.file, c.query, got, err, c.want, c.err)
		}
	}
}

// FuzzRequest: whatever path elements and query a client sends, a request
// that is routed names a valid stream (no path separators, no dots) and
// carries either no session, at index.m3u8, or one of 32 hex digits.
func FuzzRequest(f *testing.F) {
	id := strings.Repeat("0f", 16)
	f.Add("maths", "index.m3u8", "")
	f.Add("maths", "index.m3u8", "s="+id)
	f.Add("maths", "main_stream.m3u8", "s="+id+"&_HLS_msn=3&_HLS_part=1&_HLS_skip=YES")
	f.Add("maths", "main_part12.mp4", "s="+id)
	f.Add("maths", "init.mp4", "s="+id+"&s=abc")
	f.Add("..", "index.m3u8", "s=%zz;"+id)
	f.Fuzz(func(t *testing.T, name, file, query string) {
		testkit.MaxAlloc(t, testkit.InputBound(len(name)+len(file)+len(query)), func() {
			q, _ := url.ParseQuery(query) // as (*url.URL).Query does
			req, err := parseRequest(name, file, q)
			if errors.Is(err, errNotStream) {
				if engine.ValidateName(name) == nil {
					t.Fatalf("refused the stream name %q", name)
				}
				return
			}
			if engine.ValidateName(req.stream) != nil || req.stream != name || strings.ContainsAny(req.stream, "/\\.") || req.file != file {
				t.Fatalf("request %+v from %q, %q", req, name, file)
			}
			if err != nil {
				if req.session != "" || file == "index.m3u8" {
					t.Fatalf("refused %+v: %v", req, err)
				}
				return
			}
			if req.session == "" {
				if file != "index.m3u8" {
					t.Fatalf("%q without a session", file)
				}
				return
			}
			if _, err := hex.DecodeString(req.session); len(req.session) != 32 || err != nil || req.session != q.Get("s") {
				t.Fatalf("session %q", req.session)
			}
		})
	})
}
