// Package ipcam pulls streams from IP cameras (and any RTSP server) with
// gortsplib: H.264 or H.265 video, AAC audio passed through and G.711
// audio re-encoded to AAC, over TCP or UDP, RTSP or RTSPS, reconnecting when
// the camera drops, optionally only while somebody watches.
// Like every source it only publishes into the engine: it must not import an
// output or the GUI.
package ipcam

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
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
