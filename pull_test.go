package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
)

// TestPullSource pulls a stream produced elsewhere over HTTP-FLV and over
// RTMP (here: another stream of the same server), plays it, and picks it
// up again after it drops.
func TestPullSource(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	s := startServer(t, options{Engine: engine.Config{GracePeriod: 2 * time.Second}})
	key := s.create(t, "origin")
	first := publish(t, "rtmp://"+s.RTMP+"/live/"+key, 12*time.Second)
	testkit.WaitFor(t, 10*time.Second, "origin live", func() bool { return s.stream(t, "origin")["state"] == "live" })

	code, out := s.api(t, "POST", "/api/v1/streams", map[string]any{"name": "relay",
		"source": map[string]any{"type": "pull", "url": "http://" + s.HTTP + "/live/origin.flv"}})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	code, out = s.api(t, "POST", "/api/v1/streams", map[string]any{"name": "rtmprelay",
		"source": map[string]any{"type": "pull", "url": "rtmp://" + s.RTMP + "/live/origin"}})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	for _, name := range []string{"relay", "rtmprelay"} {
		testkit.WaitFor(t, 10*time.Second, name+" live", func() bool { return s.stream(t, name)["state"] == "live" })
		if _, _, _, err := mediatest.Check(context.Background(), "http://"+s.HTTP+"/live/"+name+".flv", t.TempDir(), 3*time.Second,
			mediatest.Want{Width: 640, Height: 360, FPS: 30, KeyEvery: time.Second, Audio: true}); err != nil {
			t.Fatal(err)
		}
	}

	// the origin ends; the relay says why, and comes back with it
	_ = first.Wait()
	testkit.WaitFor(t, 15*time.Second, "relay error", func() bool {
		e, _ := s.stream(t, "relay")["last_error"].(string)
		return e != ""
	})
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 30*time.Second)
	testkit.WaitFor(t, 15*time.Second, "relay live again", func() bool {
		st := s.stream(t, "relay")
		return st["state"] == "live" && st["bitrate_kbps"].(float64) > 0
	})

	for _, c := range []struct{ url, want string }{
		{"ftp://example.com/x.flv", "use an rtmp:// address or the http(s):// address"},
		{"example.com/x.flv", "is not an address"},
	} {
		code, out := s.api(t, "POST", "/api/v1/streams", map[string]any{"name": "bad",
			"source": map[string]any{"type": "pull", "url": c.url}})
		if msg, _ := out["error"].(string); code != http.StatusBadRequest || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %q", c.url, code, msg)
		}
	}
}
