package httpflv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/testkit"
)

// env is a hub with a stream "class" (fed from ffmpeg's clips once live
// is called) and a stream "idle" that nobody sends, served as
// /live/<name>.flv.
type env struct {
	hub *engine.Hub
	out *Output
	url string
}

func newEnv(t *testing.T, cfg engine.Config) *env {
	t.Helper()
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	log := slog.New(slog.DiscardHandler)
	hub, err := engine.New(cfg, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	for _, name := range []string{"class", "idle"} {
		if _, err := hub.Create(engine.StreamConfig{Name: name, Source: engine.Source{Type: "rtmp"}}); err != nil {
			t.Fatal(err)
		}
	}
	out := New(hub, Config{}, log)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/live/"), ".flv")
		out.Serve(w, r, name)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(out.Close) // first: it ends the viewers the server no longer tracks
	return &env{hub: hub, out: out, url: srv.URL}
}

// live sends ffmpeg's clips to "class" until the test ends.
func (e *env) live(t *testing.T) {
	s, _ := e.hub.Get("class")
	mediatest.Live(t, s)
}

// ffprobe, a real player, reads the stream: H.264 of the right size and
// rate starting at a keyframe, AAC, monotonic timestamps.
func TestFFprobePlaysTheStream(t *testing.T) {
	e := newEnv(t, engine.Config{})
	e.live(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _, fps, err := mediatest.Check(ctx, e.url+"/live/class.flv", t.TempDir(), 3*time.Second,
		mediatest.Want{Width: 320, Height: 180, FPS: 30, KeyEvery: time.Second, Audio: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.1f fps", fps)
}

// What is not there is refused in plain words, with the status a player
// understands; the viewer count is left as it was.
func TestRefusals(t *testing.T) {
	e := newEnv(t, engine.Config{MaxViewersPerStream: 1})
	e.live(t)
	// the one place "class" has is taken
	taken, err := http.Get(e.url + "/live/class.flv")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Body.Close()
	if taken.StatusCode != http.StatusOK || taken.Header.Get("Content-Type") != "video/x-flv" {
		t.Fatalf("the first viewer: %s %q", taken.Status, taken.Header.Get("Content-Type"))
	}
	for _, c := range []struct {
		path   string
		status int
		says   string
	}{
		{"/live/nobody.flv", http.StatusNotFound, `no stream named "nobody"`},
		{"/live/idle.flv", http.StatusNotFound, "not live"},
		{"/live/class.flv", http.StatusServiceUnavailable, "limit"},
	} {
		resp, err := http.Get(e.url + c.path)
		if err != nil {
			t.Fatal(err)
		}
		var refusal struct{ Error string }
		err = json.NewDecoder(resp.Body).Decode(&refusal)
		resp.Body.Close()
		if err != nil || resp.StatusCode != c.status || !strings.Contains(refusal.Error, c.says) {
			t.Errorf("GET %s: %s %q (%v), want %d saying %q", c.path, resp.Status, refusal.Error, err, c.status, c.says)
		}
	}
	for name, want := range map[string]int{"class": 1, "idle": 0} {
		if s, _ := e.hub.Get(name); s.Stats(engine.StatsOptions{}).Viewers.Total != want {
			t.Errorf("%s has %d viewers after the refusals, want %d", name, s.Stats(engine.StatsOptions{}).Viewers.Total, want)
		}
	}
}

// An HTTP/1.0 player gets the plain FLV byte stream, an HTTP/1.1 one
// chunks; both begin with the FLV header announcing audio and video.
func TestHTTPVersions(t *testing.T) {
	e := newEnv(t, engine.Config{})
	e.live(t)
	for _, c := range []struct {
		proto   string
		chunked bool
	}{{"HTTP/1.0", false}, {"HTTP/1.1", true}} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, "GET /live/class.flv "+c.proto+"\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		if chunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"; chunked != c.chunked {
			t.Errorf("%s: chunked %v, want %v", c.proto, chunked, c.chunked)
		}
		head := make([]byte, 13)
		if _, err := io.ReadFull(resp.Body, head); err != nil {
			t.Fatalf("%s: %v", c.proto, err)
		}
		if string(head[:3]) != "FLV" || head[4] != 5 { // audio and video
			t.Errorf("%s: FLV header % x", c.proto, head)
		}
		conn.Close()
	}
}

// Close ends every viewer with a clean end of stream (the last chunk),
// and the viewers leave the count.
func TestCloseEndsViewersCleanly(t *testing.T) {
	e := newEnv(t, engine.Config{})
	e.live(t)
	resp, err := http.Get(e.url + "/live/class.flv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		read <- err
	}()
	time.Sleep(500 * time.Millisecond) // some media first
	e.out.Close()
	select {
	case err := <-read:
		if err != nil && !errors.Is(err, io.EOF) {
			t.Errorf("the stream ended with %v, want a clean end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the viewer was not ended")
	}
	s, _ := e.hub.Get("class")
	testkit.WaitFor(t, 5*time.Second, "no viewers", func() bool { return s.Stats(engine.StatsOptions{}).Viewers.Total == 0 })
}
