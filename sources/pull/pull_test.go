package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/nginxtest"
	"chalkcast/internal/testkit"
)

// flvClip is 20 s of 320×180 H.264 at 30 fps with mono AAC, as an FLV
// file from ffmpeg.
func flvClip(t *testing.T) []byte {
	t.Helper()
	testkit.NeedTools(t, "ffmpeg")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440", "-t", "20", "-c:v", "libx264", "-g", "30", "-bf", "0", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-ac", "1", "-f", "flv", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	return out
}

// flushing sends what is written at once.
type flushing struct{ w http.ResponseWriter }

func (f flushing) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	_ = http.NewResponseController(f.w).Flush()
	return n, err
}

// pulled runs the pull source for a stream of src until the stream has
// carried want video frames, and returns what it saw.
func pulled(t *testing.T, src engine.Source, want int) (frames, sounds int, video, audio *engine.CodecConfig) {
	t.Helper()
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	k := New(nil)
	if err := k.Check(src); err != nil {
		t.Fatal(err)
	}
	s, err := hub.Create(engine.StreamConfig{Name: "pulled", Source: src})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- k.Run(ctx, s) }()
	testkit.WaitFor(t, 15*time.Second, "the pulled stream live", func() bool {
		select {
		case err := <-ran:
			t.Fatalf("Run ended before the stream went live: %v", err)
		default:
		}
		return s.State() == engine.StateLive
	})
	rd, err := s.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for frames < want {
		batch, err := rd.Next(ctx, nil)
		if err != nil {
			t.Fatalf("after %d frames: %v", frames, err)
		}
		for _, p := range batch {
			if p.Track == engine.TrackVideo {
				if frames == 0 && !p.Keyframe {
					t.Error("the pulled video does not start at a keyframe")
				}
				frames, video = frames+1, p.Config
			} else {
				sounds, audio = sounds+1, p.Config
			}
		}
	}
	cancel()
	if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Run ended with %v", err)
	}
	return frames, sounds, video, audio
}

// A stream pulled from the two kinds of server there are: an HTTP-FLV
// server (here net/http serving ffmpeg's FLV) and an RTMP server (nginx
// with ffmpeg publishing into it).
func TestPullFromRealServers(t *testing.T) {
	clip := flvClip(t)
	// the HTTP-FLV server sends the clip in real time, as a live server
	// does
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/x-flv")
		ff := exec.CommandContext(r.Context(), "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
			"-f", "flv", "-i", "-", "-c", "copy", "-f", "flv", "-")
		ff.Stdin, ff.Stdout = bytes.NewReader(clip), flushing{w}
		_ = ff.Run()
	}))
	defer srv.Close()
	ng := nginxtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ff := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "flv", "-i", "-",
		"-c", "copy", "-f", "flv", ng.URL("lesson"))
	ff.Stdin = bytes.NewReader(clip)
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = ff.Wait() }()

	for _, c := range []struct {
		name string
		url  string
	}{
		{"HTTP-FLV", srv.URL + "/live/lesson.flv"},
		{"RTMP", ng.URL("lesson")},
	} {
		t.Run(c.name, func(t *testing.T) {
			frames, sounds, video, audio := pulled(t, engine.Source{Type: "pull", URL: c.url}, 45)
			if video == nil || video.Width != 320 || video.Height != 180 {
				t.Errorf("video %+v, want 320×180", video)
			}
			if audio == nil || audio.Channels != 1 || sounds < 30 {
				t.Errorf("%d sound packets of %+v with %d frames, want mono AAC", sounds, audio, frames)
			}
		})
	}
}

// Addresses that cannot work are refused before connecting, and a server
// that cannot be reached is said in plain words.
func TestPullRefusals(t *testing.T) {
	k := New(nil)
	for _, c := range []struct {
		src  engine.Source
		says string
	}{
		{engine.Source{Type: "pull", URL: "not an address"}, "is not an address"},
		{engine.Source{Type: "pull", URL: "ftp://example.com/live.flv"}, "use an rtmp:// address"},
		{engine.Source{Type: "pull", URL: "rtmp://example.com/live/x", Options: map[string]string{"a": "b"}}, "takes no options"},
	} {
		if err := k.Check(c.src); !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Check(%q) = %v, want %q", c.src.URL, err, c.says)
		}
	}
	// nothing listens on a port that was just free
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	for _, u := range []string{"http://" + addr + "/live/x.flv", "rtmp://" + addr + "/live/x"} {
		s, err := hub.Create(engine.StreamConfig{Name: fmt.Sprintf("s%d", len(hub.Streams())), Source: engine.Source{Type: "pull", URL: u}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = k.Run(ctx, s)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("Run(%s) = %v, want connection refused", u, err)
		}
	}
}
