package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/rtsptest"
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

// TestSourceErrorsHideAddresses: a pulled stream that fails shows admins
// its address with the stream key masked, and an IP camera that fails its
// address without the password; anybody else gets a plain reason without
// any address.
func TestSourceErrorsHideAddresses(t *testing.T) {
	s := startServer(t, options{})
	closed := fmt.Sprintf("127.0.0.1:%d", rtsptest.FreePort(t))
	for _, c := range []struct {
		name   string
		source map[string]any
		secret string
	}{
		{"relay", map[string]any{"type": "pull", "url": "rtmp://" + closed + "/live/SECRETKEY"}, "SECRETKEY"},
		{"cam", map[string]any{"type": "rtsp", "url": "rtsp://admin:hunter2@" + closed + "/Streaming/Channels/101"}, "hunter2"},
	} {
		if code, out := s.api(t, "POST", "/api/v1/streams", map[string]any{"name": c.name, "source": c.source}); code != http.StatusCreated {
			t.Fatalf("create %s: %d %v", c.name, code, out)
		}
		var admin string
		testkit.WaitFor(t, 10*time.Second, c.name+" error", func() bool {
			admin, _ = s.stream(t, c.name)["last_error"].(string)
			return admin != ""
		})
		if !strings.Contains(admin, closed) || strings.Contains(admin, c.secret) {
			t.Errorf("%s: admins see %q: want the address without %s", c.name, admin, c.secret)
		}
		for _, path := range []string{"/api/v1/streams/" + c.name, "/api/v1/streams"} {
			body := anonymousGet(t, s, path)
			if strings.Contains(body, c.secret) || strings.Contains(body, closed) || strings.Contains(body, "127.0.0.1") {
				t.Errorf("%s: anonymous %s shows an address: %s", c.name, path, body)
			}
			if path != "/api/v1/streams" && !strings.Contains(body, `"last_error"`) {
				t.Errorf("%s: anonymous clients get no reason: %s", c.name, body)
			}
		}
	}
}

// anonymousGet asks as a client that is not an admin: from loopback, but
// for another host name (as a student's browser through a proxy would).
func anonymousGet(t *testing.T, s *server, path string) string {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.HTTP+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "chalkcast.school.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}
