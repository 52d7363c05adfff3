package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"chalkcast/internal/testkit"
	"chalkcast/outputs/hls"
)

// get fetches url and returns the final URL (after redirects) and body.
func get(t *testing.T, url string) (string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d: %s", url, resp.StatusCode, b)
	}
	return resp.Request.URL.String(), string(b)
}

// mediaPlaylist returns the URL of the first media playlist in a
// multivariant playlist.
func mediaPlaylist(t *testing.T, index, body string) string {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if strings.HasSuffix(strings.SplitN(l, "?", 2)[0], ".m3u8") && !strings.HasPrefix(l, "#") {
			return index[:strings.LastIndex(index, "/")+1] + l
		}
	}
	t.Fatalf("no media playlist in %q", body)
	return ""
}

func TestHLSPlaysAndCountsSessions(t *testing.T) {
	s := startServer(t, options{HLS: hls.Config{SessionTimeout: 2 * time.Second}})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 30*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })

	// The livego/nginx-rtmp style URL leads to the playlist with a session.
	index, body := get(t, "http://"+s.HTTP+"/live/math.m3u8")
	if !regexp.MustCompile(`/live/math/index\.m3u8\?s=[0-9a-f]{32}$`).MatchString(index) {
		t.Fatalf("playlist URL %q has no session", index)
	}
	if !strings.Contains(body, `CODECS="avc1.`) || !strings.Contains(body, "mp4a.40.2") || !strings.Contains(body, "RESOLUTION=640x360") {
		t.Errorf("multivariant playlist:\n%s", body)
	}
	// Segments follow the 1 s keyframe interval; low-latency parts exist;
	// every URI carries the session.
	media := mediaPlaylist(t, index, body)
	var pl string
	testkit.WaitFor(t, 15*time.Second, "three segments", func() bool {
		_, pl = get(t, media)
		return strings.Count(pl, "#EXTINF:") >= 3
	})
	if !strings.Contains(pl, "#EXT-X-PART:") || !strings.Contains(pl, "#EXT-X-SERVER-CONTROL:") {
		t.Errorf("no low-latency parts in:\n%s", pl)
	}
	for _, m := range regexp.MustCompile(`#EXTINF:([0-9.]+)`).FindAllStringSubmatch(pl, -1) {
		if d, _ := strconv.ParseFloat(m[1], 64); d < 0.9 || d > 1.2 {
			t.Errorf("segment of %.3f s, want about the 1 s keyframe interval", d)
		}
	}
	for _, l := range strings.Split(pl, "\n") {
		// gap.mp4 marks the empty segments before the first one (EXT-X-GAP);
		// players never fetch it.
		if strings.HasSuffix(strings.SplitN(l, "?", 2)[0], ".mp4") && !strings.HasPrefix(l, "#") && l != "gap.mp4" && !strings.Contains(l, "s=") {
			t.Errorf("segment URI without the session: %q", l)
		}
	}
	// Real players read it.
	got := strings.Join(ffprobe(t, index), " ")
	if !strings.Contains(got, "h264,640,360") || !strings.Contains(got, "aac") {
		t.Errorf("ffprobe of HLS: %q", got)
	}

	// 2 FLV viewers and 3 HLS clients (each polling its playlist, as
	// players do) are 5 viewers, whatever ffprobe and the checks above
	// left behind once their sessions expire.
	testkit.WaitFor(t, 6*time.Second, "earlier sessions to expire", func() bool {
		return s.stream(t, "math")["viewers"].(map[string]any)["total"] == float64(0)
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = watchFLV(ctx, "http://"+s.HTTP+"/live/math.flv") }()
	}
	for range 3 {
		idx, body := get(t, "http://"+s.HTTP+"/live/math/index.m3u8")
		media := mediaPlaylist(t, idx, body)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if resp, err := http.Get(media); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				select {
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
	}
	testkit.WaitFor(t, 5*time.Second, "2 FLV + 3 HLS viewers", func() bool {
		v := s.stream(t, "math")["viewers"].(map[string]any)
		bp := v["by_protocol"].(map[string]any)
		return v["total"] == float64(5) && bp["flv"] == float64(2) && bp["hls"] == float64(3)
	})
	// They stay 5 while they keep watching.
	time.Sleep(3 * time.Second)
	if v := s.stream(t, "math")["viewers"].(map[string]any); v["total"] != float64(5) {
		t.Errorf("viewers while watching: %v", v)
	}
	cancel()
	wg.Wait()
	start := time.Now()
	testkit.WaitFor(t, 5*time.Second, "the count back to 0", func() bool {
		return s.stream(t, "math")["viewers"].(map[string]any)["total"] == float64(0)
	})
	t.Logf("viewers back to 0 %v after they left (session timeout 2 s)", time.Since(start).Round(100*time.Millisecond))
}

func TestHLSMPEGTSVariant(t *testing.T) {
	s := startServer(t, options{HLS: hls.Config{Variant: "mpegts"}})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 30*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })
	index, body := get(t, "http://"+s.HTTP+"/live/math/index.m3u8")
	media := mediaPlaylist(t, index, body)
	var pl string
	testkit.WaitFor(t, 15*time.Second, "two segments", func() bool {
		_, pl = get(t, media)
		return strings.Count(pl, "#EXTINF:") >= 2
	})
	if !strings.Contains(pl, ".ts") {
		t.Errorf("MPEG-TS variant playlist without .ts segments:\n%s", pl)
	}
	got := strings.Join(ffprobe(t, index), " ")
	if !strings.Contains(got, "h264,640,360") || !strings.Contains(got, "aac") {
		t.Errorf("ffprobe of MPEG-TS HLS: %q", got)
	}
}

func TestHLSRefusals(t *testing.T) {
	s := startServer(t, options{})
	s.create(t, "math")
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/live/nobody/index.m3u8", 404},
		{"/live/math/index.m3u8?s=0123456789abcdef0123456789abcdef", 404}, // idle
		{"/live/math/video1_stream.m3u8", 400},                            // no session
		{"/live/math/x_seg1.mp4?s=../../etc", 400},
	} {
		if code, out := s.api(t, "GET", c.path, nil); code != c.status || out["error"] == nil {
			t.Errorf("GET %s: %d %v, want %d with a JSON error", c.path, code, out, c.status)
		}
	}
}
