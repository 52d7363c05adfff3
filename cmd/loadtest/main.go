//go:build linux

// Command loadtest measures Chalkcast's fan-out: it starts the chalkcast
// binary on loopback, publishes a real H.264 + AAC clip into it over RTMP
// at real-time pace, opens N HTTP-FLV, RTMP-play or WebRTC (WHEP, pion)
// viewers from this separate process, and reports the server's CPU and
// memory, the latency it adds to every video frame, and how long a new
// viewer waits for its first keyframe. With -protocols flv,rtmp both are
// measured in one run, one after the other, against the same server and
// publisher. A WebRTC viewer's first keyframe includes the offer, ICE and
// DTLS; its delivered bytes are RTP payloads.
//
//	go build -o /tmp/chalkcast . && go run ./cmd/loadtest -bin /tmp/chalkcast -steps 100,500,1000 -protocols flv,rtmp
//	go run ./cmd/loadtest -bin /tmp/chalkcast -steps 50,100,200 -protocols webrtc -dial-rate 50
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gortmp "github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"chalkcast/internal/loadkit"
	"chalkcast/media/flv"
)

type config struct {
	bin       string
	clip      string
	steps     []int
	protocols []string
	settle    time.Duration
	warmup    time.Duration
	hold      time.Duration
	joins     int
	httpAddr  string
	rtmpAddr  string
	dialRate  int
	bitrateKb int
}

func main() {
	var c config
	var steps string
	flag.StringVar(&c.bin, "bin", "", "chalkcast binary to measure (required)")
	flag.StringVar(&c.clip, "clip", "", "FLV clip (H.264 + AAC) to publish; default: made with ffmpeg")
	flag.StringVar(&steps, "steps", "100,500,1000", "viewer counts to measure, in order")
	protocols := flag.String("protocols", "flv", "viewer protocols to measure, one after the other: flv, rtmp, webrtc")
	flag.DurationVar(&c.settle, "settle", 3*time.Second, "wait after the viewers of a step connect")
	flag.DurationVar(&c.warmup, "warmup", 16*time.Second, "publish this long before the zero-viewer baseline, so the server's ring is full")
	flag.DurationVar(&c.hold, "hold", 15*time.Second, "measuring window per step")
	flag.IntVar(&c.joins, "joins", 40, "new viewers timed to their first keyframe per step")
	flag.StringVar(&c.httpAddr, "http", "127.0.0.1:18080", "server HTTP address")
	flag.StringVar(&c.rtmpAddr, "rtmp", "127.0.0.1:11935", "server RTMP address")
	flag.IntVar(&c.dialRate, "dial-rate", 500, "new viewer connections per second while ramping up")
	flag.IntVar(&c.bitrateKb, "video-kbps", 2500, "video bitrate of the generated clip")
	flag.Parse()
	for _, s := range strings.Split(steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			fatal(fmt.Errorf("bad -steps %q", steps))
		}
		c.steps = append(c.steps, n)
	}
	for _, p := range strings.Split(*protocols, ",") {
		if p = strings.TrimSpace(p); p != "flv" && p != "rtmp" && p != "webrtc" {
			fatal(fmt.Errorf("bad -protocols %q: flv, rtmp or webrtc", *protocols))
		}
		c.protocols = append(c.protocols, strings.TrimSpace(p))
	}
	if c.bin == "" {
		fatal(errors.New("-bin is required"))
	}
	if err := run(c); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadtest:", err)
	os.Exit(1)
}

type tag struct {
	typ  byte
	ts   uint32
	body []byte
}

func makeClip(kbps int) (string, error) {
	dir, err := os.MkdirTemp("", "chalkcast-load-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "clip.flv")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "30", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "60", "-bf", "0",
		"-b:v", fmt.Sprintf("%dk", kbps), "-maxrate", fmt.Sprintf("%dk", kbps), "-bufsize", fmt.Sprintf("%dk", kbps),
		"-x264-params", "nal-hrd=cbr", "-c:a", "aac", "-b:a", "128k", "-f", "flv", out)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ffmpeg: make clip: %w", err)
	}
	return out, nil
}

func loadClip(path string) ([]tag, time.Duration, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	r := flv.NewReader(f)
	if _, err := r.ReadHeader(); err != nil {
		return nil, 0, 0, err
	}
	var tags []tag
	var bytes int64
	for {
		t, err := r.ReadTag()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, 0, err
		}
		if t.Type == flv.TagScript {
			continue
		}
		tags = append(tags, tag{t.Type, t.Timestamp, t.Body})
		bytes += int64(len(t.Body))
	}
	if len(tags) < 2 {
		return nil, 0, 0, errors.New("clip has no media")
	}
	dur := time.Duration(tags[len(tags)-1].ts-tags[0].ts)*time.Millisecond + 33*time.Millisecond
	return tags, dur, bytes, nil
}

// sendTimes maps a video timestamp (ms) to when the publisher sent it.
type sendTimes struct {
	mu sync.RWMutex
	m  map[uint32]time.Time
}

func (s *sendTimes) put(ts uint32, t time.Time) {
	s.mu.Lock()
	s.m[ts] = t
	if ts > 20000 {
		delete(s.m, ts-20000) // keep the map small; old frames are long delivered
	}
	s.mu.Unlock()
}

func (s *sendTimes) get(ts uint32) (time.Time, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.m[ts]
	return t, ok
}

// publish sends the clip in a loop at real-time pace. The server rebases
// timestamps to start at 0, so the clip's first tag is sent as 0.
func publish(ctx context.Context, addr, key string, tags []tag, dur time.Duration, st *sendTimes) error {
	cc, err := gortmp.Dial("rtmp", addr, &gortmp.ConnConfig{})
	if err != nil {
		return fmt.Errorf("rtmp dial: %w", err)
	}
	defer cc.Close()
	if err := cc.Connect(&rtmpmsg.NetConnectionConnect{Command: rtmpmsg.NetConnectionConnectCommand{App: "live"}}); err != nil {
		return fmt.Errorf("rtmp connect: %w", err)
	}
	stream, err := cc.CreateStream(nil, 128)
	if err != nil {
		return fmt.Errorf("rtmp create stream: %w", err)
	}
	if err := stream.Publish(&rtmpmsg.NetStreamPublish{PublishingName: key, PublishingType: "live"}); err != nil {
		return fmt.Errorf("rtmp publish: %w", err)
	}
	start := time.Now()
	base := tags[0].ts
	for loop := 0; ; loop++ {
		for i, t := range tags {
			isHeader := len(t.body) > 1 && t.body[1] == 0 && (t.body[0]&0x0f == 7 || t.body[0]>>4 == 10)
			if loop > 0 && isHeader {
				continue
			}
			ts := t.ts - base + uint32(loop)*uint32(dur/time.Millisecond)
			if i > 0 || loop > 0 {
				wait := time.Until(start.Add(time.Duration(ts) * time.Millisecond))
				if wait > 0 {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(wait):
					}
				}
			}
			var msg rtmpmsg.Message
			cs := 6
			if t.typ == flv.TagVideo {
				msg = &rtmpmsg.VideoMessage{Payload: bytes.NewReader(t.body)}
				if !isHeader {
					st.put(ts, time.Now())
				}
			} else {
				msg = &rtmpmsg.AudioMessage{Payload: bytes.NewReader(t.body)}
				cs = 4
			}
			if err := stream.Write(cs, ts, msg); err != nil {
				return fmt.Errorf("rtmp write: %w", err)
			}
		}
	}
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func run(c config) error {
	if c.clip == "" {
		fmt.Fprintln(os.Stderr, "making a 30 s 720p30 H.264 + AAC clip with ffmpeg...")
		var err error
		if c.clip, err = makeClip(c.bitrateKb); err != nil {
			return err
		}
		defer os.RemoveAll(filepath.Dir(c.clip))
	}
	tags, dur, clipBytes, err := loadClip(c.clip)
	if err != nil {
		return fmt.Errorf("clip %s: %w", c.clip, err)
	}
	streamKbps := float64(clipBytes) * 8 / dur.Seconds() / 1000

	srv, err := loadkit.Start(c.bin, c.httpAddr, c.rtmpAddr, "--max-viewers", "100000", "--max-viewers-per-stream", "100000", "--max-viewers-per-address", "100000")
	if err != nil {
		return err
	}
	defer srv.Stop()
	pid := srv.Pid
	key, err := srv.CreateStream("load")
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &sendTimes{m: map[uint32]time.Time{}}
	pubErr := make(chan error, 1)
	go func() { pubErr <- publish(ctx, c.rtmpAddr, key, tags, dur, st) }()
	time.Sleep(c.warmup)
	_, _, baseRSS, err := loadkit.Stat(pid)
	if err != nil {
		return err
	}
	fmt.Printf("stream: %.0f kbit/s H.264 + AAC (%s), server pid %d, baseline RSS %.1f MiB\n",
		streamKbps, filepath.Base(c.clip), pid, float64(baseRSS)/(1<<20))
	for _, proto := range c.protocols {
		if err := c.measure(ctx, proto, pid, baseRSS, st, pubErr); err != nil {
			return fmt.Errorf("%s: %w", proto, err)
		}
	}
	return nil
}

// measure runs every step with viewers of proto, then lets them go.
func (c config) measure(ctx context.Context, proto string, pid int, baseRSS int64, st *sendTimes, pubErr chan error) error {
	fmt.Printf("\n%s viewers\n", proto)
	fmt.Println("viewers  served  server-CPU  (kernel)  CPU-ms/Mbit  RSS-MiB  KiB/viewer  lat-p50  lat-p95  lat-p99  first-key-p50  first-key-p95  loadgen-CPU  delivered-Mbit/s  socket-p50  socket-p95  socket-p99")
	ctx, cancel := context.WithCancel(ctx)
	var measuring atomic.Bool
	var viewers []*viewer
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, n := range c.steps {
		tick := time.NewTicker(time.Second / time.Duration(max(1, c.dialRate)))
		for len(viewers) < n {
			<-tick.C
			v := &viewer{}
			viewers = append(viewers, v)
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := watch(ctx, proto, c, v, st, &measuring, false)
				if err != nil && ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "viewer:", err)
				}
			}()
		}
		tick.Stop()
		time.Sleep(c.settle)
		select {
		case err := <-pubErr:
			pubErr <- err
			return fmt.Errorf("publisher: %w", err)
		default:
		}

		for _, v := range viewers {
			v.mu.Lock()
			v.latencies, v.atSocket = v.latencies[:0], v.atSocket[:0]
			v.mu.Unlock()
		}
		frames0 := make([]int64, len(viewers))
		var bytes0 int64
		for i, v := range viewers {
			frames0[i] = v.frames.Load()
			bytes0 += v.bytes.Load()
		}
		cpu0, sys0, _, _ := loadkit.Stat(pid)
		self0 := loadkit.SelfCPU()
		t0 := time.Now()
		measuring.Store(true)

		var firstKeys []time.Duration
		for i := range c.joins {
			time.Sleep(c.hold / time.Duration(c.joins+1))
			jctx, jcancel := context.WithTimeout(ctx, 5*time.Second)
			d, err := watch(jctx, proto, c, nil, st, &measuring, true)
			jcancel()
			if err != nil {
				return fmt.Errorf("join %d: %w", i, err)
			}
			firstKeys = append(firstKeys, d)
		}
		time.Sleep(time.Until(t0.Add(c.hold)))

		measuring.Store(false)
		wall := time.Since(t0)
		cpu1, sys1, rss, _ := loadkit.Stat(pid)
		self1 := loadkit.SelfCPU()
		var lat, atSocket []time.Duration
		var delivered int64
		served := 0
		minFrames := int64(wall.Seconds() * 30 * 0.9)
		for i, v := range viewers {
			v.mu.Lock()
			lat = append(lat, v.latencies...)
			atSocket = append(atSocket, v.atSocket...)
			v.mu.Unlock()
			delivered += v.bytes.Load()
			if v.frames.Load()-frames0[i] >= minFrames {
				served++
			}
		}
		delivered -= bytes0
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		sort.Slice(atSocket, func(i, j int) bool { return atSocket[i] < atSocket[j] })
		socket := [3]string{"-", "-", "-"}
		if len(atSocket) > 0 {
			socket = [3]string{ms(pct(atSocket, 0.5)), ms(pct(atSocket, 0.95)), ms(pct(atSocket, 0.99))}
		}
		sort.Slice(firstKeys, func(i, j int) bool { return firstKeys[i] < firstKeys[j] })
		srvCPU := cpu1 - cpu0
		mbit := float64(delivered) * 8 / 1e6
		kibPerViewer := 0.0
		if n > 0 {
			kibPerViewer = float64(rss-baseRSS) / 1024 / float64(n)
		}
		msPerMbit := 0.0
		if mbit > 0 {
			msPerMbit = float64(srvCPU.Milliseconds()) / mbit
		}
		fmt.Printf("%7d  %6d  %9.1f%%  %7.1f%%  %11.3f  %7.1f  %10.1f  %7s  %7s  %7s  %13s  %13s  %10.1f%%  %16.1f  %10s  %10s  %10s\n",
			n, served, 100*srvCPU.Seconds()/wall.Seconds(), 100*(sys1-sys0).Seconds()/wall.Seconds(), msPerMbit, float64(rss)/(1<<20), kibPerViewer,
			ms(pct(lat, 0.5)), ms(pct(lat, 0.95)), ms(pct(lat, 0.99)),
			ms(pct(firstKeys, 0.5)), ms(pct(firstKeys, 0.95)),
			100*(self1-self0).Seconds()/wall.Seconds(), mbit/wall.Seconds(), socket[0], socket[1], socket[2])
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
