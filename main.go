// Command chalkcast is a live-streaming studio for classrooms: a camera,
// the screen, an IP camera, a test pattern, a pulled stream or an RTMP
// push becomes a stream that students watch over HTTP-FLV, HLS, RTSP or
// RTMP from one share link. It only wires the parts together.
//
//	chalkcast            the studio window
//	chalkcast serve      headless server, for servers, tests and benchmarks
//	                     (also: chalkcast --headless)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"chalkcast/engine"
	"chalkcast/engine/store"
	"chalkcast/internal/connlimit"
	"chalkcast/internal/rtc"
	"chalkcast/media/audio"
	"chalkcast/media/monitor"
	"chalkcast/outputs/cover"
	"chalkcast/outputs/hls"
	"chalkcast/outputs/httpflv"
	"chalkcast/outputs/push"
	"chalkcast/outputs/record"
	"chalkcast/outputs/rtsp"
	"chalkcast/outputs/web"
	"chalkcast/outputs/webrtc"
	"chalkcast/sources/capture"
	"chalkcast/sources/ipcam"
	"chalkcast/sources/pull"
	"chalkcast/sources/rtmp"
	"chalkcast/sources/scene"
	"chalkcast/sources/testpattern"
	"chalkcast/sources/whip"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0"

// options are everything the command line sets.
type options struct {
	HTTPAddr   string
	RTMPAddr   string
	RTSP       rtsp.Config // Address "" turns RTSP off
	WebRTC     rtc.Config  // a negative UDPPort turns WebRTC off
	PublicIPs  string      // --webrtc-public-ip, comma-separated
	DataDir    string
	PublicURL  string
	AdminToken string
	LogLevel   string
	Engine     engine.Config
	HLS        hls.Config
	// HoldCapture stops the streams of cameras and screens at start-up,
	// for the teacher to start them (the studio); false resumes every
	// stream as it was (serve).
	HoldCapture bool
	// Placeholders are what a scene's input that is down says (English
	// when empty).
	Placeholders scene.Labels
}

func defaultDataDir() string {
	if runtime.GOOS == "linux" || runtime.GOOS == "freebsd" {
		if d := os.Getenv("XDG_DATA_HOME"); d != "" {
			return filepath.Join(d, "chalkcast")
		}
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, ".local", "share", "chalkcast")
		}
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "Chalkcast")
	}
	return "chalkcast-data"
}

func flags(name string, out io.Writer) (*flag.FlagSet, *options) {
	o := &options{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.HTTPAddr, "http", ":8080", "`address` for everything HTTP: viewers, share page and API")
	fs.StringVar(&o.RTMPAddr, "rtmp", ":1935", "`address` for RTMP publishing and playing")
	fs.StringVar(&o.RTSP.Address, "rtsp", ":8554", "`address` where every stream is readable over RTSP (rtsp://HOST:8554/live/<name>); empty: no RTSP")
	fs.IntVar(&o.RTSP.UDPPort, "rtsp-udp-port", 8000, "even `port` for RTSP's RTP over UDP (RTCP on the next one); 0: RTSP over TCP only")
	fs.IntVar(&o.WebRTC.UDPPort, "webrtc-udp", 8189, "UDP `port` of every WebRTC player (WHEP) and publisher (WHIP); 0: any free port; -1: no WebRTC")
	fs.IntVar(&o.WebRTC.TCPPort, "webrtc-tcp", 8189, "TCP `port` for WebRTC on networks that block UDP; 0: any free port; -1: none")
	fs.StringVar(&o.PublicIPs, "webrtc-public-ip", "", "public `addresses` (comma-separated) WebRTC peers may also reach this machine at, for servers behind a 1:1 NAT")
	fs.StringVar(&o.DataDir, "data", defaultDataDir(), "`folder` for streams, keys, settings and recordings")
	fs.StringVar(&o.PublicURL, "public-url", "", "base `URL` of shared links (default: http://<LAN address>:<http port>)")
	fs.StringVar(&o.AdminToken, "admin-token", os.Getenv("CHALKCAST_ADMIN_TOKEN"), "`token` that lets other machines change streams through the API (default $CHALKCAST_ADMIN_TOKEN; loopback needs none)")
	fs.StringVar(&o.LogLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.DurationVar(&o.HLS.Rewind, "rewind", 10*time.Minute, "how far back students may rewind a live class on the share page (kept on disk); 0: no rewinding")
	fs.StringVar(&o.HLS.Variant, "hls-variant", "lowlatency", "HLS `variant`: lowlatency (fMP4 with LL-HLS parts), fmp4 or mpegts")
	fs.IntVar(&o.Engine.MaxStreams, "max-streams", 64, "most streams that may exist")
	fs.IntVar(&o.Engine.MaxViewersPerStream, "max-viewers-per-stream", 3000, "most viewers of one stream")
	fs.IntVar(&o.Engine.MaxViewers, "max-viewers", 5000, "most viewers of all streams together")
	fs.IntVar(&o.Engine.MaxViewersPerAddr, "max-viewers-per-address", 200, "most viewers from one IP address (a classroom behind one Wi-Fi NAT counts as one address)")
	fs.DurationVar(&o.Engine.GracePeriod, "grace", 10*time.Second, "how long viewers wait for a publisher that left to come back")
	fs.Usage = func() {
		if name == "" {
			fmt.Fprintf(out, "Usage: chalkcast [flags]          the studio window\n       chalkcast serve [flags]    headless server (also: --headless)\n\nFlags:\n")
		} else {
			fmt.Fprintf(out, "Usage: chalkcast %s [flags]\n\nFlags:\n", name)
		}
		fs.PrintDefaults()
	}
	return fs, o
}

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

func cli(args []string, stdout, stderr io.Writer) int {
	name, headless := "", false
	if len(args) > 0 {
		switch args[0] {
		case "serve", "--headless", "-headless":
			name, headless = "serve", true
			args = args[1:]
		case "--version", "-version", "version":
			fmt.Fprintln(stdout, "chalkcast", version)
			return 0
		}
	}
	fs, o := flags(name, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chalkcast: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.LogLevel)); err != nil {
		fmt.Fprintf(stderr, "chalkcast: bad --log-level %q\n", o.LogLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !headless {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		return studio(ctx, *o, set, log)
	}
	err := run(ctx, *o, log, func(a addrs) { printWelcome(stdout, a) })
	if err != nil {
		log.Error("chalkcast stopped", "err", err)
		return 1
	}
	return 0
}

// addrs are the addresses the server really listens on.
type addrs struct {
	HTTP, RTMP net.Addr
	RTSP       net.Addr // nil when RTSP is off
	WebRTC     int      // UDP port of WebRTC, 0 when it is off
	Base       string   // base URL viewers use
}

func printWelcome(w io.Writer, a addrs) {
	fmt.Fprintf(w, "Chalkcast %s is running.\n", version)
	fmt.Fprintf(w, "  API and viewers: %s   (listening on %s)\n", a.Base, a.HTTP)
	fmt.Fprintf(w, "  Students watch:  %s/watch/<stream name>   (live streams: %s/)\n", a.Base, a.Base)
	fmt.Fprintf(w, "  RTMP publish:    rtmp://<this machine>:%d/live/<stream key>\n", port(a.RTMP))
	if a.RTSP != nil {
		fmt.Fprintf(w, "  RTSP play:       rtsp://<this machine>:%d/live/<stream name>\n", port(a.RTSP))
	}
	if a.WebRTC != 0 {
		fmt.Fprintf(w, "  WebRTC publish:  %s/live/<stream key>/whip   (OBS: WHIP service)\n", a.Base)
		fmt.Fprintf(w, "  WebRTC play:     %s/live/<stream name>/whep   (media on UDP port %d)\n", a.Base, a.WebRTC)
	}
	fmt.Fprintf(w, "Create a stream:  curl -X POST -H 'Content-Type: application/json' http://127.0.0.1:%d/api/v1/streams -d '{\"name\":\"math\"}'\n", port(a.HTTP))
	fmt.Fprintln(w, "Press Ctrl+C to stop.")
}

func port(a net.Addr) int {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.Port
	}
	return 0
}

// instance is a running Chalkcast: the engine, its sources and the servers.
type instance struct {
	hub     *engine.Hub
	srcs    *engine.Sources
	devices *capture.Manager
	rec     *record.Recorder
	push    *push.Pusher
	covers  *cover.Covers
	mon     *monitor.Monitor
	web     *web.Server
	addrs   addrs
	errc    chan error // a server failed
	stop    func()
}

// start starts the engine, the sources, the RTMP server and the HTTP
// server. stop ends them all, viewers getting a clean end of stream.
func start(o options, log *slog.Logger) (in *instance, err error) {
	// What start has started, ended newest first: by stop, or at once
	// when a later step fails.
	var started closers
	defer func() {
		if err != nil {
			started.close()
		}
	}()
	// Two Chalkcasts on one folder would overwrite each other's streams.
	lock, err := store.LockFolder(o.DataDir)
	if err != nil {
		return nil, err
	}
	started.add(func() {
		if err := lock.Close(); err != nil {
			log.Warn("data folder lock", "err", err)
		}
	})
	st, err := store.New(o.DataDir)
	if err != nil {
		return nil, err
	}
	o.Engine.Silence = audio.Silence // a muted stream sends silence in its own codec
	hub, err := engine.New(o.Engine, st, log)
	if err != nil {
		return nil, err
	}
	started.add(hub.Close)
	devices := capture.NewManager()
	kinds := devices.Kinds(hub.Pool())
	if o.HoldCapture {
		// before the sources are supervised: no camera switches on by itself
		if err := hub.StopTypes(append(slices.Collect(maps.Keys(kinds)), scene.Type)...); err != nil {
			return nil, err
		}
	}
	httpLn, err := net.Listen("tcp", o.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("http: listen on %s: %w", o.HTTPAddr, err)
	}
	started.add(func() { httpLn.Close() })
	rtmpLn, err := net.Listen("tcp", o.RTMPAddr)
	if err != nil {
		return nil, fmt.Errorf("rtmp: listen on %s: %w", o.RTMPAddr, err)
	}
	started.add(func() { rtmpLn.Close() })
	rtmpSrv := rtmp.New(hub, rtmp.Config{}, log)
	started.add(func() { _ = rtmpSrv.Close() })
	if o.HLS.Rewind > 0 {
		o.HLS.Dir = filepath.Join(o.DataDir, "hls")
	}
	hlsOut, err := hls.New(hub, o.HLS, log)
	if err != nil {
		return nil, err
	}
	started.add(hlsOut.Close)
	flvOut := httpflv.New(hub, httpflv.Config{}, log)
	started.add(flvOut.Close)
	var rtspOut *rtsp.Output
	rtspPort := 0
	if o.RTSP.Address != "" {
		if rtspOut, err = rtsp.New(hub, o.RTSP, log); err != nil {
			return nil, err
		}
		started.add(rtspOut.Close)
		rtspPort = port(rtspOut.Addr())
	}
	var (
		whepOut web.WHEP
		whipIn  web.WHIP
	)
	webrtcPort := 0
	if o.WebRTC.UDPPort >= 0 {
		for _, ip := range strings.Split(o.PublicIPs, ",") {
			if ip = strings.TrimSpace(ip); ip != "" {
				o.WebRTC.PublicIPs = append(o.WebRTC.PublicIPs, ip)
			}
		}
		tr, err := rtc.New(o.WebRTC, log)
		if err != nil {
			return nil, err
		}
		started.add(tr.Close)
		webrtcPort = tr.UDPPort()
		players := webrtc.New(hub, tr, log)
		started.add(players.Close)
		whepOut = players
		publishers := whip.New(hub, tr, log)
		started.add(publishers.Close)
		whipIn = publishers
	}
	// on stop, the streams end before the outputs and the RTMP server
	// close: every viewer gets a clean end of stream
	started.add(hub.Close)
	mon := monitor.New(hub, log)
	monCtx, monStop := context.WithCancel(context.Background())
	monDone := make(chan struct{})
	go func() { mon.Run(monCtx); close(monDone) }()
	started.add(func() { monStop(); <-monDone }) // previews and meters stop, their decoders freed
	pusher := push.New(hub, log)
	started.add(pusher.Close) // pushed servers get a clean end
	rec, err := record.New(hub, record.Config{Dir: filepath.Join(o.DataDir, "recordings")}, log)
	if err != nil {
		return nil, err
	}
	started.add(rec.Close) // recordings are finished
	covers, err := cover.New(hub, cover.Config{Dir: filepath.Join(o.DataDir, "covers"), Snapshot: mon.Snapshot}, log)
	if err != nil {
		return nil, err
	}
	started.add(covers.Close)
	kinds[testpattern.Type] = testpattern.New(hub.Pool())
	kinds[ipcam.Type] = ipcam.New(log)
	kinds[pull.Type] = pull.New(log)
	kinds[scene.Type] = scene.New(hub, kinds, o.Placeholders, log) // composes any of the kinds above
	srcs := engine.NewSources(hub, kinds, log)
	started.add(srcs.Close) // sources leave cleanly
	webSrv, err := web.New(hub, web.Outputs{FLV: flvOut, HLS: hlsOut, WHEP: whepOut, WHIP: whipIn, Parts: []web.Part{rec, pusher, covers}}, web.Config{
		AdminToken:  o.AdminToken,
		PublicURL:   o.PublicURL,
		HTTPPort:    port(httpLn.Addr()),
		RTMPPort:    port(rtmpLn.Addr()),
		RTSPPort:    rtspPort,
		SourceTypes: append([]string{engine.PushSource}, srcs.Types()...),
		CheckSource: srcs.Check,
		TestSource:  srcs.Test,
		Devices:     func(rescan bool) any { return devices.List(rescan) },
		Version:     version,
		Preview:     mon.Snapshot,
	}, log)
	if err != nil {
		return nil, err
	}
	httpLn, httpSrv := httpServer(httpLn, webSrv, hub.Config(), log)
	started.add(func() { // stop accepting; API requests finish
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(ctx)
	})
	in = &instance{hub: hub, srcs: srcs, devices: devices, rec: rec, push: pusher, covers: covers, mon: mon, web: webSrv, errc: make(chan error, 2)}
	go func() { in.errc <- serveHTTP(httpSrv, httpLn) }()
	go func() { in.errc <- rtmpSrv.Serve(rtmpLn) }()
	_, base := webSrv.Base()
	in.addrs = addrs{HTTP: httpLn.Addr(), RTMP: rtmpLn.Addr(), WebRTC: webrtcPort, Base: base}
	if rtspOut != nil {
		in.addrs.RTSP = rtspOut.Addr()
	}
	log.Info("listening", "http", httpLn.Addr().String(), "rtmp", rtmpLn.Addr().String(), "data", o.DataDir)
	var once sync.Once
	in.stop = func() {
		once.Do(func() {
			log.Info("stopping")
			started.close()
		})
	}
	return in, nil
}

// closers are what start started, to be ended newest first.
type closers []func()

func (c *closers) add(f func()) { *c = append(*c, f) }

func (c closers) close() {
	for _, f := range slices.Backward(c) {
		f()
	}
}

// run starts Chalkcast headless, calls ready with its addresses, and stops
// it cleanly when ctx ends.
func run(ctx context.Context, o options, log *slog.Logger, ready func(addrs)) error {
	in, err := start(o, log)
	if err != nil {
		return err
	}
	defer in.stop()
	if ready != nil {
		ready(in.addrs)
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-in.errc:
		return err
	}
}

// httpServer bounds what HTTP clients can hold: a request's header must
// come within 10 s, a kept-alive connection closes after 30 s without a
// request, at most 1024 connections may be quiet (no request yet, or
// between requests: a flood of connections that never ask for anything)
// and the longest quiet gives way to a new one, and connections are
// bounded in all and per address, with room for every viewer the engine
// allows and the page, the API and HLS requests beside them.
func httpServer(ln net.Listener, h http.Handler, cfg engine.Config, log *slog.Logger) (net.Listener, *http.Server) {
	quiet := connlimit.NewQuiet(1024)
	ln = connlimit.NewListener(ln, connlimit.Config{Max: cfg.MaxViewers + 2048, PerAddr: 2*cfg.MaxViewersPerAddr + 64}, "HTTP connections", log.With("component", "http"))
	return ln, &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ConnState:         quiet.ConnState,
	}
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: serve: %w", err)
	}
	return nil
}
