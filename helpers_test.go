package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/internal/rtsptest"
	"chalkcast/internal/testkit"
	"chalkcast/media/flv"
)

// server is a Chalkcast started in-process on loopback ports the OS chose.
type server struct {
	HTTP, RTMP string // host:port
	RTSP       string
	Data       string
	stop       func()
}

func startServer(t *testing.T, o options) *server {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	o.HTTPAddr, o.RTMPAddr, o.RTSP.Address = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() { done <- run(ctx, o, log, func(a addrs) { ready <- a }) }()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("server did not start in 10 s")
	}
	var once sync.Once
	s := &server{HTTP: a.HTTP.String(), RTMP: a.RTMP.String(), RTSP: a.RTSP.String(), Data: o.DataDir}
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("server stopped with error: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("server did not stop within 15 s")
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

// startChildServer runs this test binary as a Chalkcast server in its own
// process (see TestMain) on data, on loopback ports, without RTSP; its
// output goes to the returned buffer. It is killed when the test ends.
func startChildServer(t *testing.T, data string) (*server, *exec.Cmd, *syncBuffer) {
	t.Helper()
	s := &server{HTTP: fmt.Sprintf("127.0.0.1:%d", rtsptest.FreePort(t)), RTMP: fmt.Sprintf("127.0.0.1:%d", rtsptest.FreePort(t)), Data: data}
	cmd := exec.Command(os.Args[0], "serve", "--http", s.HTTP, "--rtmp", s.RTMP, "--rtsp", "", "--webrtc-udp", "0", "--webrtc-tcp", "0", "--data", data)
	cmd.Env = append(os.Environ(), "CHALKCAST_TEST_SERVE=1")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return s, cmd, logs
}

// answers reports whether the server's API answers.
func (s *server) answers() bool {
	resp, err := http.Get("http://" + s.HTTP + "/api/v1/server")
	if err == nil {
		resp.Body.Close()
	}
	return err == nil
}

// syncBuffer is a bytes.Buffer that a child's output may be written to
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testWriter sends server logs to the test log, shown on failure or -v.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func (s *server) api(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+s.HTTP+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json") // changes need it, even without a body
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %q", method, path, b)
		}
	}
	return resp.StatusCode, out
}

// create makes a stream and returns its publish key.
func (s *server) create(t *testing.T, name string) string {
	t.Helper()
	code, out := s.api(t, "POST", "/api/v1/streams", map[string]any{"name": name, "source": map[string]string{"type": "rtmp"}})
	if code != http.StatusCreated {
		t.Fatalf("create %s: status %d: %v", name, code, out)
	}
	return out["publish"].(map[string]any)["key"].(string)
}

func (s *server) stream(t *testing.T, name string) map[string]any {
	t.Helper()
	code, out := s.api(t, "GET", "/api/v1/streams/"+name, nil)
	if code != http.StatusOK {
		t.Fatalf("get %s: status %d: %v", name, code, out)
	}
	return out
}

// publish starts ffmpeg sending a 640x360 30 fps H.264 + AAC test signal
// (keyframe every second) over RTMP for the given duration.
func publish(t *testing.T, url string, d time.Duration) *exec.Cmd {
	t.Helper()
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", fmt.Sprintf("%.1f", d.Seconds()),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-f", "flv", url)
	return startCmd(t, cmd)
}

// startCmd starts cmd and kills it when the test ends, if it has not
// been waited for.
func startCmd(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// tsClip makes a seconds-long MPEG-TS file of H.264 (size, 30 fps,
// keyframe every second) and AAC, as a camera or an encoder records it.
func tsClip(t *testing.T, size string, seconds int) string {
	t.Helper()
	testkit.NeedTools(t, "ffmpeg")
	file := filepath.Join(t.TempDir(), size+".ts")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "mpegts", file).CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v %s", file, err, out)
	}
	return file
}

// publishCopy sends file over RTMP in real time without re-encoding, as
// "ffmpeg -re -i file -c copy -f flv" does.
func publishCopy(t *testing.T, url, file string) *exec.Cmd {
	t.Helper()
	return startCmd(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", file, "-c", "copy", "-f", "flv", url))
}

// flvStats is what a viewer saw.
type flvStats struct {
	Header          flv.FileHeader
	VideoCfg        *engine.CodecConfig
	AudioCfg        *engine.CodecConfig
	Video, Audio    int
	Keyframes       int
	FirstVideoIsKey bool
	LastTS          [2]uint32 // per tag type (video, audio)
	Err             error     // how the stream ended (io.EOF is a clean end)
	Arrivals        []arrival
}

type arrival struct {
	at time.Time
	ts uint32
}

// watchFLV reads HTTP-FLV from url until ctx ends or the stream does,
// checking the things every viewer relies on.
func watchFLV(ctx context.Context, url string) (*flvStats, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "video/x-flv" {
		return nil, fmt.Errorf("content type %q", ct)
	}
	return readFLV(resp.Body)
}

func readFLV(r io.Reader) (*flvStats, error) {
	st := &flvStats{}
	fr := flv.NewReader(r)
	h, err := fr.ReadHeader()
	if err != nil {
		return st, err
	}
	st.Header = h
	started := [2]bool{}
	for {
		tag, err := fr.ReadTag()
		if err != nil {
			st.Err = err
			if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return st, nil
			}
			return st, err
		}
		idx := 0
		switch tag.Type {
		case flv.TagVideo:
			v, err := flv.ParseVideo(tag.Body)
			if err != nil {
				return st, err
			}
			if v.SeqHeader {
				config := codec.H264Config
				if v.Codec == engine.CodecH265 {
					config = codec.H265Config
				}
				if st.VideoCfg, err = config(bytes.Clone(v.Data)); err != nil {
					return st, err
				}
				continue
			}
			if st.VideoCfg == nil {
				return st, errors.New("video frame before the video sequence header")
			}
			if st.Video == 0 {
				st.FirstVideoIsKey = v.Keyframe
			}
			st.Video++
			if v.Keyframe {
				st.Keyframes++
			}
			st.Arrivals = append(st.Arrivals, arrival{time.Now(), tag.Timestamp})
		case flv.TagAudio:
			idx = 1
			a, err := flv.ParseAudio(tag.Body)
			if err != nil {
				return st, err
			}
			if a.SeqHeader {
				if st.AudioCfg, err = codec.AACConfig(bytes.Clone(a.Data)); err != nil {
					return st, err
				}
				continue
			}
			if st.AudioCfg == nil {
				return st, errors.New("audio frame before the audio sequence header")
			}
			st.Audio++
		default:
			continue
		}
		if started[idx] && tag.Timestamp < st.LastTS[idx] {
			return st, fmt.Errorf("timestamp went back on track %d: %d after %d", idx, tag.Timestamp, st.LastTS[idx])
		}
		started[idx] = true
		st.LastTS[idx] = tag.Timestamp
	}
}

// ffprobe returns the codec names ffprobe finds at url.
func ffprobe(t *testing.T, url string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rw_timeout", "10000000",
		"-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", url).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", url, err)
	}
	return strings.Fields(strings.TrimSpace(string(out)))
}
