//go:build linux

// Command replayload measures what replays cost: it records one lesson of
// a stream ffmpeg pushes (720p30 H.264 at a constant bitrate, and AAC),
// gives a copy (a hard link) to as many streams as
// there will be viewers, so that each viewer replays a lesson of its own,
// and runs viewers that play as hls.js does: the playlist, the init
// section, 30 s ahead at once, then a segment as each one plays, by byte
// range. It reports the server's CPU, what it sent, how long requests
// took and how many replay viewers the lessons counted.
//
//	go build -o /tmp/chalkcast . && go run ./cmd/replayload -bin /tmp/chalkcast -steps 25,50,100
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"chalkcast/internal/loadkit"
)

func main() {
	bin := flag.String("bin", "", "chalkcast binary to measure (required)")
	steps := flag.String("steps", "25,50,100", "replay viewers to measure, in order")
	lesson := flag.Duration("lesson", time.Minute, "length of the lesson recorded")
	bitrate := flag.Int("bitrate", 2000, "the lesson's video kbit/s")
	warmup := flag.Duration("warmup", 15*time.Second, "run each step this long before measuring")
	hold := flag.Duration("hold", 30*time.Second, "measuring window per step")
	httpAddr := flag.String("http", "127.0.0.1:18091", "server HTTP address")
	rtmpAddr := flag.String("rtmp", "127.0.0.1:11946", "server RTMP address")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "replayload: -bin is required")
		os.Exit(2)
	}
	var counts []int
	for _, f := range strings.Split(*steps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "replayload: bad -steps %q\n", *steps)
			os.Exit(2)
		}
		counts = append(counts, n)
	}
	if err := run(*bin, counts, *lesson, *bitrate, *warmup, *hold, *httpAddr, *rtmpAddr); err != nil {
		fmt.Fprintln(os.Stderr, "replayload:", err)
		os.Exit(1)
	}
}

func run(bin string, steps []int, lesson time.Duration, bitrate int, warmup, hold time.Duration, httpAddr, rtmpAddr string) error {
	s, err := loadkit.Start(bin, httpAddr, rtmpAddr, "--rewind", "0", "--max-streams", strconv.Itoa(slices.Max(steps)+1))
	if err != nil {
		return err
	}
	defer s.Stop()
	ids, err := lessons(s, rtmpAddr, slices.Max(steps), lesson, bitrate)
	if err != nil {
		return err
	}
	base := "http://" + httpAddr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &stats{}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	fmt.Printf("%8s %10s %10s %9s %9s %9s %9s %8s\n", "viewers", "server-cpu", "client-cpu", "req/s", "MB/s", "p50-ms", "p95-ms", "counted")
	started := 0
	for _, n := range steps {
		for ; started < n; started++ {
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				viewer(ctx, base, id, st)
			}(ids[started])
		}
		time.Sleep(warmup)
		st.reset()
		cpu0, _, _, err := loadkit.Stat(s.Pid)
		if err != nil {
			return err
		}
		self0, t0 := loadkit.SelfCPU(), time.Now()
		time.Sleep(hold)
		cpu1, _, rss, err := loadkit.Stat(s.Pid)
		if err != nil {
			return err
		}
		el := time.Since(t0)
		reqs, bytes, p50, p95, failed := st.take()
		if failed > 0 {
			return fmt.Errorf("%d requests failed at %d viewers", failed, n)
		}
		counted := 0
		for _, id := range ids[:n] {
			var l struct{ Viewers int }
			if err := loadkit.Call("GET", s.API+"/lessons/"+id, nil, &l); err != nil {
				return err
			}
			counted += l.Viewers
		}
		fmt.Printf("%8d %9.1f%% %9.1f%% %9.1f %9.2f %9.2f %9.2f %8d   rss %d MiB\n", n,
			100*(cpu1-cpu0).Seconds()/el.Seconds(), 100*(loadkit.SelfCPU()-self0).Seconds()/el.Seconds(),
			float64(reqs)/el.Seconds(), float64(bytes)/el.Seconds()/1e6, p50, p95, counted, rss>>20)
	}
	return nil
}

// lessons records one lesson of a stream ffmpeg pushes and makes n
// lessons of it, one per stream class0…class<n-1>, returning their ids.
func lessons(s *loadkit.Server, rtmpAddr string, n int, d time.Duration, kbps int) ([]string, error) {
	key, err := s.CreateStream("source")
	if err != nil {
		return nil, err
	}
	rate := fmt.Sprintf("%dk", kbps)
	push := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.Itoa(int(d.Seconds())+10), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "60", "-bf", "0",
		"-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-x264-params", "nal-hrd=cbr", "-c:a", "aac", "-b:a", "128k",
		"-f", "flv", "rtmp://"+rtmpAddr+"/live/"+key)
	push.Stderr = os.Stderr
	if err := push.Start(); err != nil {
		return nil, fmt.Errorf("ffmpeg: %w", err)
	}
	defer func() { _ = push.Process.Kill(); _ = push.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var st struct{ State string }
		if err := loadkit.Call("GET", s.API+"/streams/source", nil, &st); err == nil && st.State == "live" {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the push did not go live")
		}
	}
	if err := loadkit.Call("POST", s.API+"/streams/source/recording", nil, nil); err != nil {
		return nil, err
	}
	fmt.Printf("recording a %v lesson at %d kbit/s…\n", d, kbps)
	time.Sleep(d)
	var f struct {
		File string `json:"file"`
		Size int64  `json:"size"`
	}
	if err := loadkit.Call("DELETE", s.API+"/streams/source/recording", nil, &f); err != nil {
		return nil, err
	}
	path := filepath.Join(s.Data, "recordings", "source", f.File)
	stamp := strings.TrimPrefix(f.File, "source_")
	var ids []string
	for i := range n {
		name := "class" + strconv.Itoa(i)
		if _, err := s.CreateStream(name); err != nil {
			return nil, err
		}
		dir := filepath.Join(s.Data, "recordings", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Link(path, filepath.Join(dir, name+"_"+stamp)); err != nil {
			return nil, err
		}
		ids = append(ids, name+"_"+strings.TrimSuffix(stamp, ".mp4"))
	}
	fmt.Printf("%d lessons of %s (%d bytes)\n", n, f.File, f.Size)
	return ids, nil
}

// segment is one entry of a replay playlist.
type segment struct {
	dur       time.Duration
	off, size int64
	uri       string
}

// playlist fetches and reads a lesson's playlist: its init section and
// segments.
func playlist(ctx context.Context, url string, st *stats) (init segment, segs []segment, err error) {
	body, err := fetch(ctx, url, "", st)
	if err != nil {
		return init, nil, err
	}
	var cur segment
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "#EXT-X-MAP:URI="):
			var r string
			init.uri, r, _ = strings.Cut(strings.TrimPrefix(l, `#EXT-X-MAP:URI="`), `",BYTERANGE="`)
			init.size, init.off = byteRange(strings.TrimSuffix(r, `"`))
		case strings.HasPrefix(l, "#EXTINF:"):
			v, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(l, "#EXTINF:"), ","), 64)
			cur.dur = time.Duration(v * float64(time.Second))
		case strings.HasPrefix(l, "#EXT-X-BYTERANGE:"):
			cur.size, cur.off = byteRange(strings.TrimPrefix(l, "#EXT-X-BYTERANGE:"))
		case l != "" && !strings.HasPrefix(l, "#"):
			cur.uri = l
			segs = append(segs, cur)
			cur = segment{}
		}
	}
	if init.uri == "" || len(segs) == 0 {
		return init, nil, fmt.Errorf("%s: not a replay playlist: %.200s", url, body)
	}
	return init, segs, nil
}

func byteRange(r string) (n, off int64) {
	a, b, _ := strings.Cut(r, "@")
	n, _ = strconv.ParseInt(a, 10, 64)
	off, _ = strconv.ParseInt(b, 10, 64)
	return n, off
}

// viewer replays lesson id over and over until ctx ends, keeping 30 s of
// it fetched ahead of what it plays.
func viewer(ctx context.Context, base, id string, st *stats) {
	const ahead = 30 * time.Second
	dir := base + "/replay/" + id + "/"
	session := "" // the playlist's, kept when it starts again, as a player that loops does
	for ctx.Err() == nil {
		init, segs, err := playlist(ctx, dir+"index.m3u8"+session, st)
		if err != nil {
			st.fail()
			time.Sleep(time.Second)
			continue
		}
		if _, err := fetch(ctx, dir+init.uri, fmt.Sprintf("bytes=%d-%d", init.off, init.off+init.size-1), st); err != nil {
			st.fail()
			continue
		}
		if _, q, ok := strings.Cut(init.uri, "?"); ok {
			session = "?" + q
		}
		var fetched time.Duration
		start := time.Now()
		for _, sg := range segs {
			if wait := fetched - ahead - time.Since(start); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			if _, err := fetch(ctx, dir+sg.uri, fmt.Sprintf("bytes=%d-%d", sg.off, sg.off+sg.size-1), st); err != nil {
				if ctx.Err() == nil {
					st.fail()
				}
				break
			}
			fetched += sg.dur
		}
		// the rest of the lesson plays out before it starts again
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(0, fetched-time.Since(start))):
		}
	}
}

// fetch GETs url (a byte range of it, when rng is set) whole.
func fetch(ctx context.Context, url, rng string, st *stats) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	want := http.StatusOK
	if rng != "" {
		want = http.StatusPartialContent
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s: %d", url, resp.StatusCode)
	}
	st.done(time.Since(t0), len(b))
	return b, nil
}

// stats are what the viewers' requests took, since the last reset.
type stats struct {
	mu      sync.Mutex
	latency []float64 // ms
	bytes   int64
	failed  int
}

func (s *stats) done(d time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = append(s.latency, float64(d.Microseconds())/1000)
	s.bytes += int64(n)
}

func (s *stats) fail() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed++
}

func (s *stats) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency, s.bytes, s.failed = nil, 0, 0
}

// take returns the requests, bytes, median and 95th percentile latency
// and failures since the last reset.
func (s *stats) take() (reqs int, bytes int64, p50, p95 float64, failed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := slices.Clone(s.latency)
	slices.Sort(l)
	if len(l) > 0 {
		p50, p95 = l[len(l)/2], l[len(l)*95/100]
	}
	return len(l), s.bytes, p50, p95, s.failed
}
