package ipcam

// One RTSP session with a camera: dial, choose the tracks, play, explain
// failures in plain words.

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

	"chalkcast/engine"
)

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
	if c := v.Config(); c != nil {
		announce(engine.TrackVideo, c)
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
		p, err := v.Access(au, pts)
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
		announce(engine.TrackAudio, g.aac.Config())
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
