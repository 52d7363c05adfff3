//go:build linux

// Command hostile runs a chalkcast binary under hostile clients' attacks
// while a real publisher streams and a real viewer plays, all on loopback,
// and reports the server's resident memory and the real viewer's frames:
//
//	go build -o /tmp/chalkcast . && go run ./cmd/hostile -bin /tmp/chalkcast
//
// The attackers come from many loopback addresses (127.0.0.0/8 is all
// this machine's), as clients on a school network would, so that what is
// measured is the server's total bounds and not only its per-address
// ones. Every attacker opens a connection, misbehaves until the server
// closes it, and opens the next, until the attack ends:
//   - RTMP: half-open handshakes, a connect holding a strict array of
//     0x7fffffff elements, messages declaring 16 MiB on many chunk
//     streams, and clients that drip one byte a second;
//   - HTTP: connections that never send a request, and keep-alives that
//     sent one and stay idle;
//   - HTTP-FLV viewers that never read.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/yutopp/go-rtmp/handshake"

	"chalkcast/internal/loadkit"
	"chalkcast/internal/rtmpconn"
	"chalkcast/media/flv"
)

type config struct {
	bin, httpAddr, rtmpAddr string
	warmup, attack          time.Duration
	rtmpConns, httpConns    int
	stalled                 int
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "", "the chalkcast `binary` to attack (required)")
	flag.StringVar(&c.httpAddr, "http", "127.0.0.1:18480", "HTTP `address` for the server")
	flag.StringVar(&c.rtmpAddr, "rtmp", "127.0.0.1:11995", "RTMP `address` for the server")
	flag.DurationVar(&c.warmup, "warmup", 5*time.Second, "streaming before the attack")
	flag.DurationVar(&c.attack, "duration", 30*time.Second, "how long the attack lasts")
	flag.IntVar(&c.rtmpConns, "rtmp-conns", 2000, "bogus RTMP clients at once")
	flag.IntVar(&c.httpConns, "http-conns", 20000, "idle HTTP clients at once")
	flag.IntVar(&c.stalled, "stalled", 300, "HTTP-FLV viewers that never read")
	role := flag.Int("http-attackers-from", -1, "internal: run idle HTTP clients from this index on, for -http-conns of them, and print what they did")
	flag.Parse()
	if *role >= 0 {
		if err := httpAttackers(c, *role); err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			os.Exit(1)
		}
		return
	}
	if c.bin == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

// counts are what the attackers did.
type counts struct {
	dials, refused, closed atomic.Int64
}

// from is the loopback address of attacker i of a kind (kind 1-3): 250
// clients per address, 250 addresses per kind and block.
func from(kind, i int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, byte(kind), byte(i/250/250), byte(1+i/250%250))}
}

func run(c config) error {
	if err := descriptors(c.rtmpConns + c.stalled + 1000); err != nil {
		return err
	}
	srv, err := loadkit.Start(c.bin, c.httpAddr, c.rtmpAddr)
	if err != nil {
		return err
	}
	defer srv.Stop()
	key, err := srv.CreateStream("class")
	if err != nil {
		return err
	}

	// The real publisher: ffmpeg sends 720p30 H.264 + AAC at 2.5 Mbit/s.
	total := c.warmup + c.attack + 5*time.Second
	pub := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprintf("%.0f", total.Seconds()), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
		"-b:v", "2500k", "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv",
		"rtmp://"+c.rtmpAddr+"/live/"+key)
	pub.Stderr = os.Stderr
	if err := pub.Start(); err != nil {
		return fmt.Errorf("start ffmpeg: %w", err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var frames atomic.Int64
	viewerErr := make(chan error, 1)
	time.Sleep(2 * time.Second)
	go func() { viewerErr <- watch(ctx, c.httpAddr, &frames) }()
	time.Sleep(c.warmup)
	_, _, baseRSS, err := loadkit.Stat(srv.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("server pid %d; before the attack: RSS %.1f MiB, viewer at %d frames\n", srv.Pid, mib(baseRSS), frames.Load())

	attack, stop := context.WithTimeout(ctx, c.attack)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }() // an early return ends the attackers too
	var rtmpN, httpN, flvN counts
	spawn(attack, &wg, 0, c.rtmpConns, &rtmpN, func(ctx context.Context, i int, n *counts) { bogusRTMP(ctx, c.rtmpAddr, i, n) })
	children, err := startHTTPAttackers(ctx, c)
	if err != nil {
		return err
	}
	spawn(attack, &wg, 0, c.stalled, &flvN, func(ctx context.Context, i int, n *counts) { stalledViewer(ctx, c.httpAddr, i, n) })

	fmt.Println("second  server-RSS-MiB  viewer-fps  rtmp-dials  flv-dials")
	start := frames.Load()
	maxRSS := baseRSS
	last := start
	tick := time.NewTicker(time.Second)
	for sec := 1; attack.Err() == nil; sec++ {
		select {
		case <-tick.C:
		case <-attack.Done():
		case err := <-viewerErr:
			return fmt.Errorf("the real viewer stopped: %v", err)
		}
		_, _, rss, err := loadkit.Stat(srv.Pid)
		if err != nil {
			return fmt.Errorf("the server is gone: %w", err)
		}
		maxRSS = max(maxRSS, rss)
		f := frames.Load()
		fmt.Printf("%6d  %14.1f  %10d  %10d  %9d\n", sec, mib(rss), f-last, rtmpN.dials.Load(), flvN.dials.Load())
		last = f
	}
	got := frames.Load() - start
	tick.Stop()
	wg.Wait()
	for _, ch := range children {
		if err := ch.wait(&httpN); err != nil {
			return err
		}
	}
	_, _, endRSS, _ := loadkit.Stat(srv.Pid)
	want := int64(c.attack.Seconds() * 30)
	fmt.Printf("\nattack of %v: %d RTMP, %d HTTP and %d never-reading FLV clients at once\n", c.attack, c.rtmpConns, c.httpConns, c.stalled)
	for _, k := range []struct {
		name string
		n    *counts
	}{{"RTMP", &rtmpN}, {"HTTP", &httpN}} {
		fmt.Printf("  %s: %d connections opened; the server closed %d of them (%d within 100 ms)\n", k.name, k.n.dials.Load(), k.n.refused.Load()+k.n.closed.Load(), k.n.refused.Load())
	}
	fmt.Printf("  never-reading FLV: %d connections opened, each held 20 s or until the server dropped it\n", flvN.dials.Load())
	fmt.Printf("server RSS: %.1f MiB before, %.1f MiB at most (+%.1f MiB), %.1f MiB after\n", mib(baseRSS), mib(maxRSS), mib(maxRSS-baseRSS), mib(endRSS))
	fmt.Printf("real viewer: %d of %d frames (%.1f %%)\n", got, want, 100*float64(got)/float64(want))
	return nil
}

// spawn runs n attackers, numbered from first, each opening its next
// connection when the last one ended, until ctx ends.
func spawn(ctx context.Context, wg *sync.WaitGroup, first, n int, cnt *counts, f func(context.Context, int, *counts)) {
	for i := first; i < first+n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				f(ctx, i, cnt)
			}
		}()
	}
}

// descriptors raises the open file limit to what n connections need, as
// far as the hard limit allows.
func descriptors(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise the open file limit: %w", err)
	}
	if lim.Cur < uint64(n) {
		return fmt.Errorf("the open file limit is %d; %d connections need more", lim.Cur, n)
	}
	return nil
}

// perChild is how many idle HTTP clients one process runs: the idle
// clients need more descriptors than one process may have here.
const perChild = 9000

// child is a process of idle HTTP attackers.
type child struct {
	cmd *exec.Cmd
	out strings.Builder
}

// startHTTPAttackers starts the child processes; they are killed if ctx
// ends before they do (the command returns early).
func startHTTPAttackers(ctx context.Context, c config) ([]*child, error) {
	var children []*child
	for first := 0; first < c.httpConns; first += perChild {
		ch := &child{}
		ch.cmd = exec.CommandContext(ctx, os.Args[0], "-http-attackers-from", fmt.Sprint(first), "-http-conns", fmt.Sprint(min(perChild, c.httpConns-first)),
			"-http", c.httpAddr, "-duration", c.attack.String())
		ch.cmd.Stdout, ch.cmd.Stderr = &ch.out, os.Stderr
		if err := ch.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start HTTP attackers: %w", err)
		}
		children = append(children, ch)
	}
	return children, nil
}

// wait adds what the child's attackers did to n.
func (ch *child) wait(n *counts) error {
	if err := ch.cmd.Wait(); err != nil {
		return fmt.Errorf("HTTP attackers: %w", err)
	}
	var d, r, cl int64
	if _, err := fmt.Sscan(ch.out.String(), &d, &r, &cl); err != nil {
		return fmt.Errorf("HTTP attackers said %q", ch.out.String())
	}
	n.dials.Add(d)
	n.refused.Add(r)
	n.closed.Add(cl)
	return nil
}

// httpAttackers is a child's work: c.httpConns idle clients from first on.
func httpAttackers(c config, first int) error {
	if err := descriptors(c.httpConns + 100); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.attack)
	defer cancel()
	var wg sync.WaitGroup
	var n counts
	spawn(ctx, &wg, first, c.httpConns, &n, func(ctx context.Context, i int, n *counts) { idleHTTP(ctx, c.httpAddr, i, n) })
	wg.Wait()
	fmt.Println(n.dials.Load(), n.refused.Load(), n.closed.Load())
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// dial connects from the attacker's own address, counting.
func dial(ctx context.Context, addr string, local *net.TCPAddr, n *counts) (net.Conn, error) {
	d := net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		time.Sleep(100 * time.Millisecond) // the listener's backlog is full: wait a little
		return nil, err
	}
	n.dials.Add(1)
	context.AfterFunc(ctx, func() { c.Close() })
	return c, nil
}

// untilClosed reads from c until the server closes it, and counts whether
// that was at once (a refusal) or later.
func untilClosed(ctx context.Context, c net.Conn, opened time.Time, n *counts) {
	_, _ = io.Copy(io.Discard, c)
	c.Close()
	if ctx.Err() != nil {
		return
	}
	if time.Since(opened) < 100*time.Millisecond {
		n.refused.Add(1)
	} else {
		n.closed.Add(1)
	}
}

func bogusRTMP(ctx context.Context, addr string, i int, n *counts) {
	c, err := dial(ctx, addr, from(1, i), n)
	if err != nil {
		return
	}
	opened := time.Now()
	if i%4 == 0 { // half a handshake, then nothing
		_, _ = c.Write(make([]byte, 700))
		untilClosed(ctx, c, opened, n)
		return
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := handshake.HandshakeWithServer(c, c, &handshake.Config{}); err != nil {
		c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	done := make(chan struct{})
	go func() { untilClosed(ctx, c, opened, n); close(done) }()
	defer func() { <-done }()
	var msg []byte
	switch i % 4 {
	case 1: // connect, 1, strict array of 0x7fffffff
		body := append([]byte{2, 0, 7}, "connect"...)
		body = binary.BigEndian.AppendUint64(append(body, 0), math.Float64bits(1))
		msg = rtmpconn.AppendChunks(nil, 3, 0, 20, 0, 128, append(body, 0x0a, 0x7f, 0xff, 0xff, 0xff))
	case 2: // 16 MiB messages on 48 chunk streams
		for cs := range 48 {
			msg = append(msg, 3+byte(cs), 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0)
			msg = append(msg, make([]byte, 128)...)
		}
	case 3: // one byte a second
		for ctx.Err() == nil {
			if _, err := c.Write([]byte{3}); err != nil {
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			case <-done:
				return
			}
		}
		return
	}
	_, _ = c.Write(msg)
}

func idleHTTP(ctx context.Context, addr string, i int, n *counts) {
	c, err := dial(ctx, addr, from(2, i), n)
	if err != nil {
		return
	}
	opened := time.Now()
	if i%2 == 0 { // a keep-alive that asked once
		fmt.Fprintf(c, "GET /api/v1/server HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	untilClosed(ctx, c, opened, n)
}

func stalledViewer(ctx context.Context, addr string, i int, n *counts) {
	c, err := dial(ctx, addr, from(3, i), n)
	if err != nil {
		return
	}
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "GET /live/class.flv HTTP/1.1\r\nHost: x\r\n\r\n")
	// Never read, for 20 s at a time: the server's writes block, and it
	// drops the viewer when its place is needed or its write times out.
	select {
	case <-ctx.Done():
	case <-time.After(20 * time.Second):
	}
	c.Close()
}

// watch is the real viewer: it plays the class over HTTP-FLV and counts
// video frames.
func watch(ctx context.Context, addr string, frames *atomic.Int64) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	context.AfterFunc(ctx, func() { c.Close() })
	fmt.Fprintf(c, "GET /live/class.flv HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 64<<10), nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	r := flv.NewReader(resp.Body)
	if _, err := r.ReadHeader(); err != nil {
		return err
	}
	for {
		tag, err := r.ReadTag()
		if err != nil {
			return err
		}
		if tag.Type == flv.TagVideo && len(tag.Body) > 1 && tag.Body[1] == 1 {
			frames.Add(1)
		}
	}
}
