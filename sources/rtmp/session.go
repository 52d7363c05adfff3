package rtmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"chalkcast/engine"
	"chalkcast/internal/rtmpconn"
	"chalkcast/media/flv"
)

// publish admits a publisher whose stream name is a stream's key and
// feeds its media into the stream until it leaves or fails.
func (cn *conn) publish(req rtmpconn.Request) {
	key, _, _ := strings.Cut(req.Name, "?") // OBS and some CDNs append parameters
	s, ok := cn.srv.hub.ByKey(key)
	if !ok {
		// The key itself is a secret: never log it.
		cn.log.Warn("publish refused: wrong or missing stream key")
		_ = cn.c.Refuse(req, "wrong stream key")
		return
	}
	if t := s.Config().Source.Type; t != engine.PushSource {
		// the stream's media comes from its own source (a camera, a test
		// pattern); a push would fight it for the stream
		cn.log.Warn("publish refused: the stream does not take RTMP pushes", "stream", s.Name(), "source", t)
		_ = cn.c.Refuse(req, fmt.Sprintf("stream %s takes its media from its %s source, not from an RTMP push", s.Name(), t))
		return
	}
	p, err := s.Publish(engine.SourceInfo{Protocol: "rtmp", Remote: cn.remote})
	if err != nil {
		cn.log.Warn("publish refused", "stream", s.Name(), "err", err)
		_ = cn.c.Refuse(req, err.Error())
		return
	}
	cn.admit(rtmpconn.Publisher)
	log := cn.log.With("stream", s.Name())
	dep := flv.Depacketizer{Log: log}
	err = cn.c.Start(req)
	if err == nil {
		log.Info("publisher connected")
		err = cn.feed(p, &dep, s.Name())
	}
	if cn.c.TimedOut() {
		err = fmt.Errorf("rtmp: no data from the publisher for %v", cn.srv.cfg.ReadTimeout)
	}
	var v *rtmpconn.Violation
	if errors.As(err, &v) && cn.srv.violations.allow() {
		log.Warn("connection ended: the client broke a limit", "reason", v.Reason)
	}
	if p.Closed() || isGone(err) {
		err = nil // our decision, or the publisher hung up
	}
	p.Close(err)
	if err != nil {
		log.Warn("publisher dropped", "err", err, "dropped_before_config", dep.Dropped)
	} else {
		log.Info("publisher left", "dropped_before_config", dep.Dropped)
	}
}

// feed reads the publisher's messages until it unpublishes (nil) or the
// connection fails.
func (cn *conn) feed(p *engine.Publisher, dep *flv.Depacketizer, name string) error {
	for {
		m, err := cn.c.ReadMessage()
		if err != nil {
			return err
		}
		if p.Closed() {
			return errors.New("rtmp: publishing session ended (the key was reset or the stream deleted)")
		}
		switch m.Type {
		case rtmpconn.TypeAudio, rtmpconn.TypeVideo:
			video := m.Type == rtmpconn.TypeVideo
			cfg, err := dep.Tag(p, video, m.Timestamp, m.Body) // the body is ours to keep
			switch {
			case err != nil:
				return fmt.Errorf("rtmp: stream %s: %w", name, err)
			case cfg != nil && video:
				dep.Log.Info("video", "codec", cfg.Codec, "width", cfg.Width, "height", cfg.Height, "profile", cfg.Profile)
			case cfg != nil:
				dep.Log.Info("audio", "codec", cfg.Codec, "rate", cfg.SampleRate, "channels", cfg.Channels)
			}
		default:
			if err := cn.c.During(m); err != nil {
				return err
			}
		}
	}
}

// isGone reports whether err is the client leaving, or the server
// closing, rather than a failure.
func isGone(err error) bool {
	return errors.Is(err, rtmpconn.ErrLeft) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// play admits a player of a stream by its public name and sends it the
// stream until either side ends. A second goroutine reads what the
// player sends, so that a player that closes or stops is noticed at once.
func (cn *conn) play(req rtmpconn.Request) {
	name, _, _ := strings.Cut(req.Name, "?")
	s, ok := cn.srv.hub.Get(name)
	if !ok {
		cn.log.Info("play refused: no such stream", "stream", name)
		_ = cn.c.Refuse(req, fmt.Sprintf("no stream named %q", name))
		return
	}
	v, err := s.Join(engine.ViewerInfo{Protocol: "rtmp", Remote: cn.remote})
	if err != nil {
		cn.log.Warn("play refused", "stream", name, "err", err)
		_ = cn.c.Refuse(req, err.Error())
		return
	}
	defer v.Leave()
	cn.admit(rtmpconn.Player)
	cn.c.SetReadTimeout(0)              // a player only listens
	v.OnEvict(func() { cn.nc.Close() }) // a client that stopped reading gives its place to a new one
	log := cn.log.With("stream", name)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	read := make(chan error, 1)
	go func() {
		defer cancel()
		read <- cn.listen()
	}()
	// An on-demand camera connects now; the player is told only then
	// whether the stream plays.
	s.AwaitLive(ctx, engine.AwaitStart)
	rd, err := s.NewReader(v)
	if err != nil {
		_ = cn.c.Refuse(req, err.Error())
	} else {
		err = cn.c.Start(req)
		if err == nil {
			err = cn.send(ctx, rd, v, req.StreamID)
		}
		rd.Close()
	}
	v.Leave()     // before the close, so that a client who sees it closed is no longer counted
	cn.nc.Close() // ends the reading goroutine
	if rerr := <-read; ctx.Err() != nil && rerr != nil {
		err = rerr
	}
	log.Info("player done", "reason", err)
}

// listen reads a player's messages until it leaves or the connection
// ends; players send acknowledgements, buffer lengths and goodbyes.
func (cn *conn) listen() error {
	for {
		m, err := cn.c.ReadMessage()
		if err != nil {
			var v *rtmpconn.Violation
			if errors.As(err, &v) && cn.srv.violations.allow() {
				cn.log.Warn("connection ended: the client broke a limit", "reason", v.Reason)
			}
			return err
		}
		if err := cn.c.During(m); err != nil {
			return err
		}
	}
}

// send writes the stream to the player until it ends, ctx ends or the
// player stalls.
func (cn *conn) send(ctx context.Context, rd *engine.Reader, v *engine.Viewer, streamID uint32) error {
	out := cn.c.NewSender(streamID)
	var batch []*engine.Packet
	var err error
	for {
		batch, err = rd.Next(ctx, batch[:0])
		if len(batch) > 0 {
			v.Writing()
			n, werr := out.Send(batch)
			if werr != nil {
				return fmt.Errorf("rtmp: write to player: %w", werr)
			}
			v.AddBytes(n)
		}
		if err != nil {
			return err
		}
	}
}
