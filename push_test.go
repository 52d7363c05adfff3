package main

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"chalkcast/internal/mediatest"
	"chalkcast/internal/nginxtest"
	"chalkcast/internal/testkit"
)

// pushState is the state of the stream's first push target.
func (s *server) pushState(t *testing.T, name string) map[string]any {
	t.Helper()
	ps, _ := s.stream(t, name)["pushes"].([]any)
	if len(ps) == 0 {
		return nil
	}
	return ps[0].(map[string]any)
}

// TestPushToNginx pushes a stream to nginx-rtmp, reads it back from nginx,
// stops nginx mid-push and starts it again: the push resumes by itself.
func TestPushToNginx(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	ng := nginxtest.Start(t)
	s := startServer(t, options{})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 90*time.Second)
	testkit.WaitFor(t, 10*time.Second, "live", func() bool { return s.stream(t, "math")["state"] == "live" })

	code, out := s.api(t, "POST", "/api/v1/streams/math/pushes", map[string]string{
		"url": ng.URL("class8secret"), "play_url": "https://cdn.example.com/live/class8.flv"})
	if code != http.StatusCreated {
		t.Fatalf("add push: %d %v", code, out)
	}
	id, _ := out["id"].(string)
	testkit.WaitFor(t, 10*time.Second, "the push to go live", func() bool {
		p := s.pushState(t, "math")
		return p["state"] == "live" && p["bitrate_kbps"].(float64) > 0
	})
	if p := s.pushState(t, "math"); strings.Contains(mustJSON(t, p), "class8secret") || !strings.HasSuffix(p["url"].(string), "/live/••••cret") {
		t.Errorf("the push shows its stream key: %v", p)
	}
	check := func() {
		t.Helper()
		if _, _, _, err := mediatest.Check(context.Background(), ng.URL("class8secret"), t.TempDir(), 4*time.Second,
			mediatest.Want{Width: 640, Height: 360, FPS: 30, KeyEvery: time.Second, Audio: true}); err != nil {
			t.Fatal(err)
		}
	}
	check()
	// and the reverse: a stream pulled from nginx over RTMP
	code, out = s.api(t, "POST", "/api/v1/streams", map[string]any{"name": "fromnginx",
		"source": map[string]any{"type": "pull", "url": ng.URL("class8secret")}})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	testkit.WaitFor(t, 10*time.Second, "the pulled stream", func() bool { return s.stream(t, "fromnginx")["state"] == "live" })
	time.Sleep(8 * time.Second) // past nginx's ping timeout: pings are answered
	if st := s.stream(t, "fromnginx"); st["state"] != "live" || st["last_error"] != nil {
		t.Fatalf("the pulled stream after 8 s: %v %v", st["state"], st["last_error"])
	}
	if _, _, _, err := mediatest.Check(context.Background(), "http://"+s.HTTP+"/live/fromnginx.flv", t.TempDir(), 3*time.Second,
		mediatest.Want{Width: 640, Height: 360, FPS: 30, KeyEvery: time.Second, Audio: true}); err != nil {
		t.Fatal(err)
	}
	if code, _ := s.api(t, "DELETE", "/api/v1/streams/fromnginx", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}

	// nginx goes away: the push says so and keeps calling
	ng.Stop()
	testkit.WaitFor(t, 10*time.Second, "the push to notice", func() bool {
		p := s.pushState(t, "math")
		return p["state"] == "retrying" && p["last_error"] != nil
	})
	if st := s.stream(t, "math")["state"]; st != "live" {
		t.Errorf("the stream is %v while its push target is down", st)
	}
	time.Sleep(2 * time.Second)
	ng.Restart()
	back := time.Now()
	testkit.WaitFor(t, 20*time.Second, "the push to resume", func() bool { return s.pushState(t, "math")["state"] == "live" })
	t.Logf("push resumed %v after nginx came back", time.Since(back).Round(100*time.Millisecond))
	check()

	// a wrong app: the push says why, rather than waiting for ever
	code, out = s.api(t, "POST", "/api/v1/streams/math/pushes", map[string]string{
		"url": strings.Replace(ng.URL("other"), "/live/", "/nosuchapp/", 1)})
	if code != http.StatusCreated {
		t.Fatalf("add push: %d %v", code, out)
	}
	bad, _ := out["id"].(string)
	testkit.WaitFor(t, 15*time.Second, "the wrong app's error", func() bool {
		ps, _ := s.stream(t, "math")["pushes"].([]any)
		for _, p := range ps {
			if p := p.(map[string]any); p["id"] == bad {
				return p["state"] == "retrying" && p["last_error"] != nil
			}
		}
		return false
	})

	for _, id := range []string{id, bad} {
		if code, out := s.api(t, "DELETE", "/api/v1/streams/math/pushes/"+id, nil); code != http.StatusNoContent {
			t.Fatalf("remove push: %d %v", code, out)
		}
	}
	if p := s.pushState(t, "math"); p != nil {
		t.Errorf("push still listed: %v", p)
	}
	// removed means gone: nginx takes another publisher on the same key
	testkit.WaitFor(t, 10*time.Second, "the key to be free at nginx", func() bool {
		return exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-t", "1",
			"-c:v", "libx264", "-preset", "ultrafast", "-f", "flv", ng.URL("class8secret")).Run() == nil
	})
	if code, _ := s.api(t, "POST", "/api/v1/streams/math/pushes", map[string]string{"url": "http://example.com/x"}); code != http.StatusBadRequest {
		t.Errorf("an http:// push target: %d", code)
	}
}
