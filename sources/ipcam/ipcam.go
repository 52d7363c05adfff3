// Package ipcam pulls streams from IP cameras (and any RTSP server) with
// gortsplib: H.264 or H.265 video, AAC audio passed through and G.711
// audio re-encoded to AAC, over TCP or UDP, RTSP or RTSPS, reconnecting when
// the camera drops, optionally only while somebody watches.
package ipcam

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/pion/rtp"

	"chalkcast/engine"
)

type rtpPacket = rtp.Packet

// Type is the source type of IP cameras in the API.
const Type = "rtsp"

// Options of an RTSP source.
const (
	// OptTransport is "auto" (UDP, falling back to TCP), "tcp" or "udp".
	OptTransport = "transport"
	// OptOnDemand ("1") connects only while somebody watches.
	OptOnDemand = "on_demand"
	// OptVerifyTLS ("1") requires a valid certificate for rtsps://
	// (cameras mostly have self-signed ones, so it is off by default).
	OptVerifyTLS = "verify_tls"
)

// Timing of connections and of on-demand mode.
const (
	dialTimeout = 5 * time.Second
	readTimeout = 10 * time.Second
	// demandWindow: an on-demand camera connects when a viewer asked
	// within this long, and disconnects once nobody watched or asked for
	// idleAfter.
	demandWindow = 10 * time.Second
	idleAfter    = 30 * time.Second
)

// Kind runs RTSP sources.
type Kind struct {
	log *slog.Logger
	// idleAfter: an on-demand camera is let go once nobody watched or
	// asked for it this long.
	idleAfter time.Duration
}

// New returns the RTSP source kind.
func New(log *slog.Logger) *Kind {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Kind{log: log.With("component", "ipcam"), idleAfter: idleAfter}
}

// MaxRetryWait makes the supervisor retry a lost camera every second, so
// that a camera back from a reboot is live again within a second or two.
func (k *Kind) MaxRetryWait() time.Duration { return time.Second }

// config is a parsed RTSP source.
type config struct {
	url       *base.URL
	shown     string // the URL without credentials
	secret    string // the password, to scrub from library errors
	transport *gortsplib.Transport
	onDemand  bool
	verifyTLS bool
}

func parse(src engine.Source) (config, error) {
	shown := engine.RedactURL(src.URL)
	bad := func(format string, a ...any) (config, error) {
		return config{}, fmt.Errorf("%w: %s", engine.ErrInvalid, fmt.Sprintf(format, a...))
	}
	if strings.TrimSpace(src.URL) == "" {
		return bad("an IP camera needs its address, like rtsp://user:password@192.168.1.64:554/stream1")
	}
	u, err := url.Parse(strings.TrimSpace(src.URL))
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" || u.Hostname() == "" {
		return bad("%q is not an RTSP address: use rtsp://[user:password@]host[:port]/path", shown)
	}
	if u.Port() != "" {
		if p, err := net.LookupPort("tcp", u.Port()); err != nil || p <= 0 || p > 65535 {
			return bad("%q: bad port %q", shown, u.Port())
		}
	}
	if strings.Contains(u.Host+u.Path+u.RawQuery, "@") {
		return bad("%q: an @ in the password must be written %%40", shown)
	}
	c := config{url: (*base.URL)(u), shown: shown}
	if pw, ok := u.User.Password(); ok {
		c.secret = pw
	}
	for k, v := range src.Options {
		switch k {
		case OptTransport:
			switch strings.ToLower(v) {
			case "", "auto":
			case "tcp":
				t := gortsplib.TransportTCP
				c.transport = &t
			case "udp":
				if u.Scheme == "rtsps" {
					return bad("rtsps:// works over TCP only: choose TCP or automatic transport")
				}
				t := gortsplib.TransportUDP
				c.transport = &t
			default:
				return bad("transport %q: use auto, tcp or udp", v)
			}
		case OptOnDemand, OptVerifyTLS:
			on, ok := flag(v)
			if !ok {
				return bad("%s %q: use 1 or 0", k, v)
			}
			if k == OptOnDemand {
				c.onDemand = on
			} else {
				c.verifyTLS = on
			}
		default:
			return bad("unknown option %q for an IP camera (known: %s, %s, %s)", k, OptTransport, OptOnDemand, OptVerifyTLS)
		}
	}
	return c, nil
}

func flag(v string) (on, ok bool) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, true
	case "", "0", "false", "no", "off":
		return false, true
	}
	return false, false
}

// Check validates an RTSP source without connecting.
func (k *Kind) Check(src engine.Source) error {
	_, err := parse(src)
	return err
}

// Run publishes the camera into s until ctx ends or the camera fails. In
// on-demand mode it waits for a viewer first and lets the camera go once
// nobody has watched for a while.
func (k *Kind) Run(ctx context.Context, s *engine.Stream) error {
	c, err := parse(s.Config().Source)
	if err != nil {
		return err
	}
	log := k.log.With("stream", s.Name(), "camera", c.shown)
	if !c.onDemand {
		return k.publish(ctx, s, c, log)
	}
	defer s.SetStandby(false)
	for {
		s.SetStandby(true)
		if !until(ctx, time.Second/4, func() bool { return s.Demanded(demandWindow) }) {
			return nil
		}
		log.Info("viewer wants the camera; connecting")
		watched, idle := context.WithCancel(ctx)
		watching := make(chan struct{})
		go func() {
			defer close(watching)
			defer idle()
			until(watched, time.Second, func() bool { return !s.Demanded(k.idleAfter) })
		}()
		err := k.publish(watched, s, c, log)
		idle()
		<-watching
		s.SetStandby(true)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		log.Info("nobody is watching; camera disconnected until a viewer comes")
	}
}

// until calls cond every period until it is true (it returns true) or ctx
// ends (false).
func until(ctx context.Context, period time.Duration, cond func() bool) bool {
	t := time.NewTicker(period)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// publish connects and writes the camera's packets into s until ctx ends
// (nil) or the connection fails (why, in words for a teacher).
func (k *Kind) publish(ctx context.Context, s *engine.Stream, c config, log *slog.Logger) error {
	sess, err := dial(ctx, c, log)
	if err != nil {
		return err
	}
	defer sess.close()
	pub, err := s.Publish(engine.SourceInfo{Protocol: "rtsp", Remote: c.url.Host})
	if err != nil {
		return fmt.Errorf("camera %s: %w", c.shown, err)
	}
	s.SetStandby(false) // connected: an on-demand camera waits no more
	var mu sync.Mutex   // video and audio arrive on different goroutines over UDP
	err = sess.play(ctx, func(p *engine.Packet) {
		mu.Lock()
		defer mu.Unlock()
		pub.WritePacket(p)
	}, pub.SetConfig)
	pub.Close(err)
	return err
}

// session is one RTSP connection that has described and set up the tracks
// Chalkcast uses.
type session struct {
	c      config
	log    *slog.Logger
	client *gortsplib.Client
	stop   func() bool
	video  *description.Media
	vform  format.Format
	audio  *description.Media
	aform  format.Format
	// transport is the transport in use (TCP or UDP), once known.
	transport   string
	transportMu sync.Mutex
	ignored     []string
	answered    atomic.Bool  // the peer sent an RTSP response
	warnedAt    atomic.Int64 // unix ns of the last rate-limited warning
	playing     bool         // PLAY succeeded: errors are the camera's, not its address's
	// lastFrame is when the camera's latest access unit arrived and
	// lastPacket when the latest one could be used (unix ns): a camera
	// whose connection stays up while its video stops (seen with RTCP
	// going on without RTP), or whose video cannot be decoded, is dropped
	// and called again.
	lastFrame, lastPacket atomic.Int64
	framesSeen            atomic.Bool
}

// dial connects, describes and sets up the camera's tracks.
func dial(ctx context.Context, c config, log *slog.Logger) (*session, error) {
	s := &session{c: c, log: log}
	cl := &gortsplib.Client{
		Scheme:      c.url.Scheme,
		Host:        c.url.Host,
		Transport:   c.transport,
		ReadTimeout: readTimeout,
		// a keyframe of a 4 Mbit/s camera is a few hundred packets at once
		UDPReadBufferSize: 1 << 20,
		UserAgent:         "Chalkcast",
		DialContext: func(_ context.Context, network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: dialTimeout}
			return d.DialContext(ctx, network, addr)
		},
		OnTransportSwitch: func(err error) {
			s.setTransport("TCP")
			log.Info("camera transport switched to TCP", "why", s.scrub(err))
		},
		OnResponse:    func(*base.Response) { s.answered.Store(true) },
		OnPacketsLost: func(n uint64) { s.warn("camera packets lost (network?)", "count", n) },
		OnDecodeError: func(err error) { s.warn("camera sent a packet that cannot be read", "err", s.scrub(err)) },
	}
	if c.url.Scheme == "rtsps" {
		cl.TLSConfig = &tls.Config{ServerName: c.url.Hostname(), InsecureSkipVerify: !c.verifyTLS} //nolint:gosec // cameras have self-signed certificates; verify_tls=1 requires a valid one
	}
	if err := cl.Start2(); err != nil {
		return nil, s.explain(err)
	}
	s.client = cl
	s.stop = context.AfterFunc(ctx, cl.Close)
	desc, _, err := cl.Describe(c.url)
	if err != nil {
		s.close()
		return nil, s.explain(err)
	}
	if err := s.choose(desc); err != nil {
		s.close()
		return nil, err
	}
	for _, m := range []*description.Media{s.video, s.audio} {
		if m == nil {
			continue
		}
		if _, err := cl.Setup(desc.BaseURL, m, 0, 0); err != nil {
			s.close()
			return nil, s.explain(err)
		}
	}
	return s, nil
}

// choose picks the first H.264 or H.265 video and the first AAC or G.711
// audio; everything else is listed as ignored.
func (s *session) choose(desc *description.Session) error {
	var found []string
	for _, m := range desc.Medias {
		for _, f := range m.Formats {
			name := f.Codec()
			found = append(found, name)
			switch f.(type) {
			case *format.H264, *format.H265:
				if s.video == nil {
					s.video, s.vform = m, f
					continue
				}
			case *format.MPEG4Audio, *format.G711:
				if s.audio == nil && !(isG711(f) && f.(*format.G711).ChannelCount > 2) {
					s.audio, s.aform = m, f
					continue
				}
			}
			s.ignored = append(s.ignored, name)
		}
	}
	if s.video == nil {
		what := "nothing"
		if len(found) > 0 {
			what = strings.Join(found, ", ")
		}
		return fmt.Errorf("camera %s sends no H.264 or H.265 video (it offers %s): set the camera's encoding to H.264 or H.265",
			s.c.shown, what)
	}
	return nil
}

func isG711(f format.Format) bool {
	_, ok := f.(*format.G711)
	return ok
}

// play starts the tracks and hands their packets to write until ctx ends
// (nil) or the connection fails. announce learns track configurations as
// soon as they are known.
func (s *session) play(ctx context.Context, write func(*engine.Packet), announce func(engine.Track, *engine.CodecConfig)) error {
	if err := s.playVideo(write, announce); err != nil {
		return err
	}
	if s.audio != nil {
		if err := s.playAudio(write, announce); err != nil {
			return err
		}
	}
	if _, err := s.client.Play(nil); err != nil {
		return s.explain(err)
	}
	s.playing = true
	if s.c.transport != nil && *s.c.transport == gortsplib.TransportUDP || s.c.transport == nil && s.c.url.Scheme == "rtsp" {
		s.setTransport("UDP") // automatic mode starts with UDP; a switch says TCP
	} else {
		s.setTransport("TCP")
	}
	s.log.Info("camera playing", "transport", s.Transport(), "video", s.vform.Codec(), "audio", codecOf(s.aform), "ignored", s.ignored)
	now := time.Now().UnixNano()
	s.lastFrame.Store(now)
	s.lastPacket.Store(now)
	waited := make(chan error, 1)
	go func() { waited <- s.client.Wait() }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case err := <-waited:
			if ctx.Err() != nil {
				return nil
			}
			return s.explain(err)
		case <-ctx.Done():
			s.client.Close()
			<-waited
			return nil
		case <-t.C:
			if time.Since(time.Unix(0, s.lastPacket.Load())) > readTimeout {
				s.client.Close()
				<-waited
				if ctx.Err() != nil {
					return nil
				}
				if time.Since(time.Unix(0, s.lastFrame.Load())) < readTimeout {
					return fmt.Errorf("camera %s sends video that cannot be decoded (no usable keyframe for %v)", s.c.shown, readTimeout)
				}
				return fmt.Errorf("camera %s stopped sending video", s.c.shown)
			}
		}
	}
}

// warn logs a warning about the camera's packets at most every 10 s.
func (s *session) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := s.warnedAt.Load()
	if now-last < int64(10*time.Second) || !s.warnedAt.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn(msg, args...)
}

func codecOf(f format.Format) string {
	if f == nil {
		return "none"
	}
	return f.Codec()
}

// setTransport records the transport in use; a switch to TCP (automatic
// mode) is final.
func (s *session) setTransport(t string) {
	s.transportMu.Lock()
	defer s.transportMu.Unlock()
	if s.transport != "TCP" {
		s.transport = t
	}
}

// Transport is the transport in use: "TCP" or "UDP".
func (s *session) Transport() string {
	s.transportMu.Lock()
	defer s.transportMu.Unlock()
	return s.transport
}

func (s *session) playVideo(write func(*engine.Packet), announce func(engine.Track, *engine.CodecConfig)) error {
	v, decode, err := videoOf(s.vform)
	if err != nil {
		return fmt.Errorf("camera %s: %w", s.c.shown, err)
	}
	if v.cfg != nil {
		announce(engine.TrackVideo, v.cfg)
	}
	var announced *engine.CodecConfig
	errs := 0
	s.client.OnPacketRTP(s.video, s.vform, func(pkt *rtpPacket) {
		// Timestamps are decoded for every packet: the decoder starts a
		// track's clock only on a packet that begins a frame.
		pts, ok := s.client.PacketPTS2(s.video, pkt)
		if !ok {
			return
		}
		au, err := decode(pkt)
		if err != nil {
			return // a fragment, or a lost packet: the access unit is dropped
		}
		s.lastFrame.Store(time.Now().UnixNano())
		s.framesSeen.Store(true)
		p, err := v.access(au, pts)
		if err != nil {
			if errs++; errs == 1 || errs%100 == 0 {
				s.log.Warn("camera sent a frame that cannot be used; waiting for the next keyframe", "err", err, "count", errs)
			}
			return
		}
		if p == nil {
			return
		}
		s.lastPacket.Store(time.Now().UnixNano())
		if p.Config != announced {
			announced = p.Config
			s.log.Info("camera video", "codec", p.Config.Codec, "width", p.Config.Width, "height", p.Config.Height, "profile", p.Config.Profile)
		}
		write(p)
	})
	return nil
}

func (s *session) playAudio(write func(*engine.Packet), announce func(engine.Track, *engine.CodecConfig)) error {
	switch f := s.aform.(type) {
	case *format.MPEG4Audio:
		a, d, err := aacOf(f)
		if err != nil {
			return fmt.Errorf("camera %s: %w", s.c.shown, err)
		}
		announce(engine.TrackAudio, a.cfg)
		s.client.OnPacketRTP(s.audio, f, func(pkt *rtpPacket) {
			pts, ok := s.client.PacketPTS2(s.audio, pkt)
			if !ok {
				return
			}
			if aus, err := d.Decode(pkt); err == nil {
				for _, p := range a.units(aus, pts) {
					write(p)
				}
			}
		})
	case *format.G711:
		g, d, err := g711Of(f)
		if err != nil {
			return fmt.Errorf("camera %s: %w", s.c.shown, err)
		}
		prev := s.stop
		s.stop = func() bool { r := prev(); g.close(); return r }
		announce(engine.TrackAudio, g.enc.Config())
		failed := false
		s.client.OnPacketRTP(s.audio, f, func(pkt *rtpPacket) {
			pts, ok := s.client.PacketPTS2(s.audio, pkt)
			if !ok || failed {
				return
			}
			samples, err := d.Decode(pkt)
			if err != nil {
				return
			}
			out, err := g.samples(samples, pts)
			if err != nil {
				failed = true // the stream goes on without sound
				s.log.Error("camera audio cannot be converted to AAC; going on without sound", "err", err)
			}
			for _, p := range out {
				write(p)
			}
		})
	}
	return nil
}

// close ends the connection.
func (s *session) close() {
	if s.client == nil {
		return
	}
	s.client.Close()
	if s.stop != nil {
		s.stop()
	}
}

// scrub removes the camera's password from a library's error text.
func (s *session) scrub(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if s.c.secret != "" {
		msg = strings.ReplaceAll(msg, s.c.secret, "xxxxx")
		msg = strings.ReplaceAll(msg, url.PathEscape(s.c.secret), "xxxxx")
	}
	return msg
}

// explain turns a connection error into words for a teacher.
func (s *session) explain(err error) error {
	if err == nil {
		return fmt.Errorf("camera %s closed the connection", s.c.shown)
	}
	host := s.c.url.Host
	var (
		status liberrors.ErrClientBadStatusCode
		dns    *net.DNSError
		netErr net.Error
		tlsErr *tls.CertificateVerificationError
		recErr tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &status):
		switch status.Code {
		case base.StatusUnauthorized:
			if s.c.url.User == nil {
				return fmt.Errorf("camera %s wants a user name and password: put them in the address (rtsp://user:password@%s/...)", s.c.shown, host)
			}
			return fmt.Errorf("camera %s refused the user name or password", s.c.shown)
		case base.StatusForbidden:
			return fmt.Errorf("camera %s refused access (403 Forbidden): check the user's rights on the camera", s.c.shown)
		case base.StatusNotFound:
			return fmt.Errorf("camera at %s has no stream at %q (404 Not Found): check the path in the address", host, s.c.url.Path)
		}
		return fmt.Errorf("camera %s answered %d %s", s.c.shown, status.Code, status.Message)
	case errors.As(err, &dns):
		return fmt.Errorf("camera host %q is unknown: check the address", s.c.url.Hostname())
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("nothing answers at %s (connection refused): check the address and port, and that the camera is on", host)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("camera %s cannot be reached from this computer (no route): check that it is on the same network", host)
	case errors.As(err, &tlsErr):
		return fmt.Errorf("camera %s: its certificate is not valid (%s); turn off certificate checking to accept it", s.c.shown, s.scrub(tlsErr.Err))
	case errors.As(err, &recErr):
		return fmt.Errorf("camera %s does not speak RTSPS on this port: use rtsp:// or the camera's RTSPS port", s.c.shown)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("camera %s does not answer (timed out): check that it is on and on this network", host)
	case errors.As(err, new(liberrors.ErrClientUDPTimeout)) && s.c.transport != nil && !s.framesSeen.Load():
		return fmt.Errorf("camera %s: no video arrived over UDP (a firewall?): choose TCP or automatic", s.c.shown)
	case errors.As(err, new(liberrors.ErrClientUDPTimeout)):
		return fmt.Errorf("camera %s stopped sending video", s.c.shown)
	case errors.As(err, new(liberrors.ErrClientTCPTimeout)):
		return fmt.Errorf("camera %s stopped sending video", s.c.shown)
	case !s.answered.Load() && (errors.Is(err, io.EOF) || isProtocolError(err)):
		return fmt.Errorf("%s does not answer like an RTSP camera (%s): check the port", host, s.scrub(err))
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("camera %s closed the connection (restarting?)", s.c.shown)
	}
	return fmt.Errorf("camera %s: %s", s.c.shown, s.scrub(err))
}

// isProtocolError reports errors of a peer that is not an RTSP server
// (an HTTP server on the port, garbage).
func isProtocolError(err error) bool {
	msg := err.Error()
	for _, m := range []string{"unable to read", "invalid", "unable to parse", "malformed", "unexpected"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}
