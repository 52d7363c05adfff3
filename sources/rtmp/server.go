// Package rtmp is Chalkcast's RTMP server: OBS, ffmpeg and WeChat's
// live-pusher publish into a stream with its secret key as the RTMP stream
// name (rtmp://HOST:1935/live/<key>), and RTMP players read a stream by its
// public name (rtmp://HOST:1935/live/<name>). Publishing is this package's
// purpose; playing lives here too because RTMP clients expect both on the
// same port and connection handshake.
// Like every source it only publishes into the engine: it must not import an
// output or the GUI (RTMP play reads the stream as viewers do).
package rtmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	gortmp "github.com/yutopp/go-rtmp"

	"chalkcast/engine"
	"chalkcast/internal/connlimit"
	"chalkcast/internal/rtmpguard"
)

// Config configures the server. Zero fields take the stated defaults.
type Config struct {
	// ReadTimeout ends a publisher that sends nothing for this long.
	// Default 15 s.
	ReadTimeout time.Duration
	// WriteTimeout ends a player whose socket accepts nothing for this
	// long. Default 15 s.
	WriteTimeout time.Duration
	// AdmitTimeout is how long a client has from connecting until it is
	// publishing or playing. Default 10 s.
	AdmitTimeout time.Duration
	// MaxPending bounds the connections not yet publishing or playing
	// (publishers and players are bounded by the engine's stream and
	// viewer limits). Default 256.
	MaxPending int
	// MaxPendingPerAddr bounds those from one IP address. Default 16.
	MaxPendingPerAddr int
}

// Server accepts RTMP connections for a hub.
type Server struct {
	hub *engine.Hub
	cfg Config
	log *slog.Logger
	srv *gortmp.Server
	ln  net.Listener

	violations logLimit // a flood of hostile clients is logged in part

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup // one per connection, from OnConnect to OnClose
	served chan struct{}
}

// New returns a server for hub; call Serve, then Close.
func New(hub *engine.Hub, cfg Config, log *slog.Logger) *Server {
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 15 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 15 * time.Second
	}
	if cfg.AdmitTimeout <= 0 {
		cfg.AdmitTimeout = 10 * time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 256
	}
	if cfg.MaxPendingPerAddr <= 0 {
		cfg.MaxPendingPerAddr = 16
	}
	s := &Server{hub: hub, cfg: cfg, log: log.With("component", "rtmp"), conns: map[*conn]struct{}{}, served: make(chan struct{})}
	s.violations.log = s.log
	quiet := logrus.New()
	quiet.Out = io.Discard
	s.srv = gortmp.NewServer(&gortmp.ServerConfig{
		OnConnect: func(nc net.Conn) (io.ReadWriteCloser, *gortmp.ConnConfig) {
			c := &conn{Conn: nc, srv: s, remote: nc.RemoteAddr().String()}
			c.log = s.log.With("remote", c.remote)
			c.front = rtmpguard.NewReader(socket{c}, rtmpguard.HandshakeSize, rtmpguard.Pending)
			c.writeTimeout = cfg.WriteTimeout
			// Until it is admitted as a player, a client must keep talking.
			c.readTimeout.Store(int64(cfg.ReadTimeout))
			c.admitTimer = time.AfterFunc(cfg.AdmitTimeout, func() {
				c.log.Warn("connection ended: not publishing or playing in time", "after", cfg.AdmitTimeout)
				nc.Close()
			})
			s.track(c)
			return c, &gortmp.ConnConfig{
				Handler: &handler{srv: s, c: c, log: c.log},
				ControlState: gortmp.StreamControlStateConfig{
					DefaultBandwidthWindowSize: 6 * 1024 * 1024 / 8,
					MaxMessageSize:             16 << 20,
				},
				Logger: quiet,
			}
		},
	})
	return s
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	ln = connlimit.NewListener(ln, connlimit.Config{Max: s.cfg.MaxPending, PerAddr: s.cfg.MaxPendingPerAddr}, "RTMP connections not yet publishing or playing", s.log)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	defer close(s.served)
	err := s.srv.Serve(ln)
	if errors.Is(err, gortmp.ErrClosed) {
		return nil
	}
	return fmt.Errorf("rtmp: serve: %w", err)
}

// Close stops accepting, ends every connection and waits for their
// handlers to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	ln := s.ln
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	err := s.srv.Close()
	if ln != nil {
		// go-rtmp closes the listener only once its Serve registered it;
		// closing it here too covers a Close that comes just before.
		ln.Close()
	}
	for _, c := range conns {
		c.Conn.Close()
	}
	s.wg.Wait()
	if ln != nil {
		<-s.served
	}
	return err
}

func (s *Server) track(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wg.Add(1)
	s.conns[c] = struct{}{}
	if s.closed {
		c.Conn.Close()
	}
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// conn bounds how long a read or a write may block, so that a vanished
// publisher ends its session and a stalled player frees its slot, and
// reads through the bounded front (rtmpguard), so that go-rtmp only ever
// decodes checked messages.
//
// It also serialises message encoding: go-rtmp encodes every outgoing
// message with one shared encoder, used by its read loop (command
// replies, acknowledgements) and by our player goroutine (media). The read
// loop holds encMu from the moment a Read returns data until it asks for
// more, that is while it handles what it read; the player goroutine takes
// encMu for each message. This also makes media wait until the reply to
// "play" has gone out.
type conn struct {
	net.Conn
	srv          *Server
	remote       string
	log          *slog.Logger
	front        *rtmpguard.Reader // touched only by the read loop
	admitTimer   *time.Timer
	readTimeout  atomic.Int64 // 0 once admitted as a player, who only listens
	writeTimeout time.Duration
	timedOut     bool // a read timed out; touched only by the read loop
	encMu        sync.Mutex
	readerHolds  bool // touched only by the read loop
}

func (c *conn) Read(b []byte) (int, error) {
	if c.readerHolds {
		c.readerHolds = false
		c.encMu.Unlock()
	}
	n, err := c.front.Read(b)
	if err == nil {
		c.encMu.Lock()
		c.readerHolds = true
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.timedOut = true
	}
	return n, err
}

// socket is what the front reads: the connection, with the read timeout
// renewed before every read from it, so that a publisher that keeps
// sending is never timed out however long one message (a big keyframe on
// a slow link) takes to arrive whole.
type socket struct{ c *conn }

func (s socket) Read(b []byte) (int, error) {
	if t := s.c.readTimeout.Load(); t > 0 {
		_ = s.c.Conn.SetReadDeadline(time.Now().Add(time.Duration(t)))
	}
	return s.c.Conn.Read(b)
}

// admit lifts the limits of a client that is now publishing or playing,
// and frees its place among the pending connections. It runs on the read
// loop.
func (c *conn) admit(lim rtmpguard.Limits) {
	c.admitTimer.Stop()
	c.front.SetLimits(lim)
	if lc, ok := c.Conn.(*connlimit.Conn); ok {
		lc.Release()
	}
}

func (c *conn) Write(b []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	return c.Conn.Write(b)
}

// logLimit allows 10 log lines a second and counts the rest, which the
// next allowed line reports.
type logLimit struct {
	mu         sync.Mutex
	second     time.Time
	n          int
	suppressed int
	log        *slog.Logger
}

func (l *logLimit) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.second) >= time.Second {
		if l.suppressed > 0 {
			l.log.Warn("connections ended for breaking limits, not logged one by one", "count", l.suppressed)
		}
		l.second, l.n, l.suppressed = now, 0, 0
	}
	if l.n++; l.n > 10 {
		l.suppressed++
		return false
	}
	return true
}

// stopper is the part of a play session that OnClose must end and wait for.
type stopper struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (st *stopper) stop() {
	st.cancel()
	<-st.done
}
