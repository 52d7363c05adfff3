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
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/connlimit"
	"chalkcast/internal/rtmpconn"
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

// Server accepts RTMP connections for a hub. Each connection is one
// linear conversation on its own goroutine: the handshake, the commands up
// to publish or play, then the publisher's media, or the player's media
// with a second goroutine that only reads.
type Server struct {
	hub *engine.Hub
	cfg Config
	log *slog.Logger

	violations logLimit // a flood of hostile clients is logged in part

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup // one per connection
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
	s := &Server{hub: hub, cfg: cfg, log: log.With("component", "rtmp"), conns: map[net.Conn]struct{}{}}
	s.violations.log = s.log
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
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// out of file descriptors and the like: wait and go on, as
			// net/http does
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "err", err, "in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if !s.track(nc) {
			nc.Close()
			return nil
		}
		go func() {
			defer s.untrack(nc)
			s.serve(nc)
		}()
	}
}

// Close stops accepting, ends every connection and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	ln := s.ln
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	var err error
	if ln != nil {
		if err = ln.Close(); errors.Is(err, net.ErrClosed) {
			err = nil
		}
	}
	s.wg.Wait()
	return err
}

func (s *Server) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	s.conns[nc] = struct{}{}
	return true
}

func (s *Server) untrack(nc net.Conn) {
	nc.Close()
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
	s.wg.Done()
}

// serve is one connection's conversation, up to its end.
func (s *Server) serve(nc net.Conn) {
	remote := nc.RemoteAddr().String()
	log := s.log.With("remote", remote)
	// Until it is admitted, a client must keep talking, and be publishing
	// or playing by the admission deadline.
	admitBy := time.Now().Add(s.cfg.AdmitTimeout)
	shake := time.Now().Add(s.cfg.ReadTimeout) // the handshake is 3 KiB in one go
	if admitBy.Before(shake) {
		shake = admitBy
	}
	_ = nc.SetDeadline(shake)
	c, err := rtmpconn.Accept(nc, rtmpconn.Pending, s.cfg.WriteTimeout)
	if err != nil {
		s.pendingEnded(log, nil, err, admitBy)
		return
	}
	c.SetReadTimeout(s.cfg.ReadTimeout)
	c.SetReadBy(admitBy)
	req, err := c.Await()
	if err != nil {
		s.pendingEnded(log, c, err, admitBy)
		return
	}
	cn := &conn{srv: s, c: c, nc: nc, log: log, remote: remote}
	if req.Publish {
		cn.publish(req)
	} else {
		cn.play(req)
	}
}

// pendingEnded logs why a connection ended before it was admitted.
func (s *Server) pendingEnded(log *slog.Logger, c *rtmpconn.Conn, err error, admitBy time.Time) {
	var v *rtmpconn.Violation
	var ne net.Error
	switch {
	case errors.As(err, &v):
		if s.violations.allow() {
			log.Warn("connection ended: the client broke a limit", "reason", v.Reason)
		}
	case errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(admitBy):
		if s.violations.allow() {
			log.Warn("connection ended: not publishing or playing in time", "after", s.cfg.AdmitTimeout)
		}
	case c != nil && c.TimedOut():
		log.Info("connection ended: the client sent nothing", "for", s.cfg.ReadTimeout)
	default:
		log.Debug("connection ended before publishing or playing", "err", err)
	}
}

// conn is an admitted connection: a publisher or a player.
type conn struct {
	srv    *Server
	c      *rtmpconn.Conn
	nc     net.Conn
	log    *slog.Logger
	remote string
}

// admit lifts the limits of a client that is now publishing or playing,
// and frees its place among the pending connections.
func (cn *conn) admit(lim rtmpconn.Limits) {
	cn.c.SetReadBy(time.Time{})
	cn.c.SetLimits(lim)
	if lc, ok := cn.nc.(*connlimit.Conn); ok {
		lc.Release()
	}
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
