package rtsp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/media/encode"
	"chalkcast/sources/testpattern"
)

func start(t *testing.T, udpPort int) (*engine.Hub, *Output) {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffmpeg is needed (packaging/setup.sh installs it)")
	}
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srcs := engine.NewSources(hub, map[string]engine.SourceKind{testpattern.Type: testpattern.New(hub.Pool())}, nil)
	out, err := New(hub, Config{Address: "127.0.0.1:0", UDPPort: udpPort}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srcs.Close()
		out.Close()
		hub.Close()
	})
	return hub, out
}

// freeUDPPair finds an even UDP port whose successor is free too.
func freeUDPPair(t *testing.T) int {
	t.Helper()
	for range 50 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port &^ 1
		a.Close()
		c1, err1 := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		c2, err2 := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+1))
		for _, c := range []net.PacketConn{c1, c2} {
			if c != nil {
				c.Close()
			}
		}
		if err1 == nil && err2 == nil {
			return p
		}
	}
	t.Fatal("no free UDP port pair")
	return 0
}

// TestPlayOverRTSP: ffmpeg reads a live test pattern over RTSP, over TCP
// and over UDP, gets H.264 + AAC at the stream's size and rate, and counts
// as a viewer while it reads.
func TestPlayOverRTSP(t *testing.T) {
	hub, out := start(t, freeUDPPair(t))
	s, err := hub.Create(engine.StreamConfig{Name: "tp", Source: engine.Source{Type: testpattern.Type, Options: map[string]string{"preset": "480p"}}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.State() != engine.StateLive {
		if time.Now().After(deadline) {
			t.Fatal("not live")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, transport := range []string{"tcp", "udp"} {
		url := "rtsp+" + transport + "://" + out.Addr().String() + "/live/tp"
		counted := make(chan int, 1)
		go func() {
			time.Sleep(2500 * time.Millisecond)
			counted <- s.Stats(engine.StatsOptions{}).Viewers.ByProtocol["rtsp"]
		}()
		_, _, fps, err := mediatest.Check(context.Background(), url, t.TempDir(), 5*time.Second,
			mediatest.Want{Width: 854, Height: 480, FPS: 30, KeyEvery: encode.KeyInterval, Audio: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.2f fps", url, fps)
		if n := <-counted; n != 1 {
			t.Errorf("%s: %d RTSP viewers counted while ffmpeg read, want 1", transport, n)
		}
		deadline = time.Now().Add(5 * time.Second)
		for s.Stats(engine.StatsOptions{}).Viewers.Total != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the RTSP viewer was not removed after ffmpeg left", transport)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func TestUnknownAndIdleStreamsAreNotFound(t *testing.T) {
	hub, out := start(t, 0)
	if _, err := hub.Create(engine.StreamConfig{Name: "idle"}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/live/idle", "/live/nobody", "/other/idle", "/live/../etc/passwd"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		outb, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "rtsp://"+out.Addr().String()+path).CombinedOutput()
		cancel()
		if err == nil {
			t.Errorf("%s: ffprobe succeeded", path)
		} else {
			t.Logf("%s: %s", path, outb)
		}
	}
}
