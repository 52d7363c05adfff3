// Package rtsptest runs real RTSP cameras for tests on loopback: GStreamer's
// RTSP server with test video and tones (camera.py), and a gortsplib server
// that ffmpeg publishes into, as IP cameras and restreaming servers are.
package rtsptest

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

//go:embed camera.py
var cameraScript []byte

// python is Debian's interpreter, which has the GStreamer bindings (a
// python3 earlier on the PATH may not).
const python = "/usr/bin/python3"

// need skips the test when a tool is missing, except in CI, where the set-up
// script installs everything and a missing tool is a failure.
func need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI: %v", what, err)
	}
	t.Skipf("%s not available: %v", what, err)
}

// FreePort returns a loopback TCP port nobody listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Camera is GStreamer's RTSP server playing an IP camera. Paths:
// /h264aac, /h264bframes (H.264 with B-frames + AAC), /h265 (no audio),
// /h264pcmu, /h264pcma (G.711 at 8 kHz), /audioonly, /green (a plain green
// picture, no audio).
type Camera struct {
	t      testing.TB
	Port   int
	cred   string
	script string
	mu     sync.Mutex
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

// StartCamera starts a camera on a free port; cred ("user:password") makes
// it ask for them. It is stopped when the test ends.
func StartCamera(t testing.TB, cred string) *Camera {
	t.Helper()
	_, err := exec.LookPath(python)
	need(t, "Debian's python3", err)
	need(t, "GStreamer's RTSP server (gir1.2-gst-rtsp-server-1.0, python3-gi)",
		exec.Command(python, "-c", `import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer`).Run())
	script := filepath.Join(t.TempDir(), "camera.py")
	if err := os.WriteFile(script, cameraScript, 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Camera{t: t, Port: FreePort(t), cred: cred, script: script}
	c.Start()
	t.Cleanup(c.Stop)
	return c
}

// URL is the camera's address of path, with the credentials given.
func (c *Camera) URL(cred, path string) string {
	if cred != "" {
		cred += "@"
	}
	return fmt.Sprintf("rtsp://%s127.0.0.1:%d%s", cred, c.Port, path)
}

// Start starts the camera (again) on its port and waits until it listens.
func (c *Camera) Start() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	args := []string{c.script, strconv.Itoa(c.Port)}
	if c.cred != "" {
		args = append(args, c.cred)
	}
	cmd := exec.Command(python, args...)
	c.stderr = &bytes.Buffer{}
	cmd.Stderr = c.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start camera: %v", err)
	}
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			c.t.Fatalf("camera did not start: %s", c.stderr)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		c.t.Fatalf("camera did not start in 20 s: %s", c.stderr)
	}
	c.cmd = cmd
}

// Stop kills the camera as a power cut would.
func (c *Camera) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
	c.cmd = nil
}

// Relay is a gortsplib server that takes one publisher per path (ffmpeg
// with -f rtsp) and plays it to readers, like a restreaming server or a
// camera's RTSP service.
type Relay struct {
	Addr    string // host:port
	server  *gortsplib.Server
	mu      sync.Mutex
	streams map[string]*relayStream
}

type relayStream struct {
	stream    *gortsplib.ServerStream
	publisher *gortsplib.ServerSession
}

// StartRelay starts a relay on loopback (RTSP over TCP, and UDP on two
// free ports). It is closed when the test ends.
func StartRelay(t testing.TB) *Relay {
	t.Helper()
	r := &Relay{Addr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)), streams: map[string]*relayStream{}}
	rtpPort := udpPair(t)
	r.server = &gortsplib.Server{
		Handler:        r,
		RTSPAddress:    r.Addr,
		UDPRTPAddress:  fmt.Sprintf("127.0.0.1:%d", rtpPort),
		UDPRTCPAddress: fmt.Sprintf("127.0.0.1:%d", rtpPort+1),
	}
	if err := r.server.Start(); err != nil {
		t.Fatalf("relay: %v", err)
	}
	t.Cleanup(r.server.Close)
	return r
}

// udpPair finds an even UDP port whose successor is free too.
func udpPair(t testing.TB) int {
	t.Helper()
	for range 50 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		a.Close()
		if p%2 != 0 || p >= 65535 {
			continue
		}
		b, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			continue
		}
		b.Close()
		return p
	}
	t.Fatal("no free UDP port pair")
	return 0
}

// OnSessionClose ends a path whose publisher left.
func (r *Relay) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for path, s := range r.streams {
		if s.publisher == ctx.Session {
			s.stream.Close()
			delete(r.streams, path)
		}
	}
}

func (r *Relay) find(path string) (*gortsplib.ServerStream, *base.Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.streams[path]; ok {
		return s.stream, &base.Response{StatusCode: base.StatusOK}
	}
	return nil, &base.Response{StatusCode: base.StatusNotFound}
}

// OnDescribe answers with the path's stream.
func (r *Relay) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	st, res := r.find(ctx.Path)
	return res, st, nil
}

// OnAnnounce takes a publisher.
func (r *Relay) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.streams[ctx.Path]; ok {
		old.stream.Close()
		old.publisher.Close()
	}
	st := &gortsplib.ServerStream{Server: r.server, Desc: ctx.Description}
	if err := st.Initialize(); err != nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	r.streams[ctx.Path] = &relayStream{stream: st, publisher: ctx.Session}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSetup sets up a publisher's or a reader's track.
func (r *Relay) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	st, res := r.find(ctx.Path)
	return res, st, nil
}

// OnPlay lets a reader play.
func (r *Relay) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnRecord forwards the publisher's packets to readers.
func (r *Relay) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	st, res := r.find(ctx.Path)
	if st == nil {
		return res, nil
	}
	ctx.Session.OnPacketRTPAny(func(m *description.Media, _ format.Format, pkt *rtp.Packet) {
		_ = st.WritePacketRTP(m, pkt)
	})
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// Publish starts ffmpeg sending a 640x360 25 fps H.264 test picture with a
// tone in audio ("aac", "pcm_mulaw" or "" for none) to path over RTSP
// (TCP), until the test ends. It returns once the relay has the stream.
func (r *Relay) Publish(t testing.TB, path, audio string) {
	t.Helper()
	_, err := exec.LookPath("ffmpeg")
	need(t, "ffmpeg", err)
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"}
	if audio != "" {
		rate := "48000"
		if audio == "pcm_mulaw" {
			rate = "8000"
		}
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate="+rate)
	}
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p")
	if audio != "" {
		args = append(args, "-c:a", audio)
	}
	args = append(args, "-f", "rtsp", "-rtsp_transport", "tcp", "rtsp://"+r.Addr+path)
	cmd := exec.Command("ffmpeg", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ffmpeg: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if st, _ := r.find(path); st != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ffmpeg did not publish %s in 15 s: %s", path, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
