package rtmp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	gortmp "github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"chalkcast/engine"
	"chalkcast/internal/rtmpguard"
	"chalkcast/media/flv"
)

// Chunk stream ids for media sent to players (as other servers use).
const (
	csAudio = 4
	csVideo = 6
)

// handler serves one RTMP connection: either a publisher or a player.
type handler struct {
	gortmp.DefaultHandler
	srv *Server
	c   *conn
	log *slog.Logger
	rc  *gortmp.Conn

	// publishing
	pub    *engine.Publisher
	stream string
	dep    flv.Depacketizer // readBody copies each message, so packets may keep it

	// playing
	play *stopper

	err error // why the connection ended, when it was our decision
}

// failed remembers the first error that ends the connection, so that the
// stream shows the reason rather than an unexplained disconnect.
func (h *handler) failed(err error) error {
	if h.err == nil {
		h.err = err
	}
	return err
}

func (h *handler) OnServe(c *gortmp.Conn) { h.rc = c }

// OnPublish admits a publisher whose stream name is a stream's key.
func (h *handler) OnPublish(_ *gortmp.StreamContext, _ uint32, cmd *rtmpmsg.NetStreamPublish) error {
	if h.pub != nil || h.play != nil {
		return errors.New("rtmp: publish on a connection already in use")
	}
	key, _, _ := strings.Cut(cmd.PublishingName, "?") // OBS and some CDNs append parameters
	s, ok := h.srv.hub.ByKey(key)
	if !ok {
		// The key itself is a secret: never log it.
		h.log.Warn("publish refused: wrong or missing stream key")
		return errors.New("rtmp: wrong stream key")
	}
	if t := s.Config().Source.Type; t != "rtmp" {
		// the stream's media comes from its own source (a camera, a test
		// pattern); a push would fight it for the stream
		h.log.Warn("publish refused: the stream does not take RTMP pushes", "stream", s.Name(), "source", t)
		return fmt.Errorf("rtmp: stream %s takes its media from its %s source, not from an RTMP push", s.Name(), t)
	}
	p, err := s.Publish(engine.SourceInfo{Protocol: "rtmp", Remote: h.c.remote})
	if err != nil {
		h.log.Warn("publish refused", "stream", s.Name(), "err", err)
		return fmt.Errorf("rtmp: publish %s: %w", s.Name(), err)
	}
	h.pub, h.stream = p, s.Name()
	h.c.admit(rtmpguard.Publisher)
	h.log = h.log.With("stream", s.Name())
	h.dep.Log = h.log
	h.log.Info("publisher connected")
	return nil
}

// readBody copies a message payload: go-rtmp recycles its buffers, while
// packets are shared by readers for as long as they need them.
func readBody(r io.Reader) ([]byte, error) {
	if b, ok := r.(*bytes.Buffer); ok {
		return bytes.Clone(b.Bytes()), nil
	}
	return io.ReadAll(r)
}

func (h *handler) publisher() (*engine.Publisher, error) {
	if h.pub == nil {
		return nil, errors.New("rtmp: media before publish")
	}
	if h.pub.Closed() {
		return nil, errors.New("rtmp: publishing session ended (the key was reset or the stream deleted)")
	}
	return h.pub, nil
}

func (h *handler) OnVideo(ts uint32, payload io.Reader) error { return h.media(true, ts, payload) }

func (h *handler) OnAudio(ts uint32, payload io.Reader) error { return h.media(false, ts, payload) }

// media publishes one video or audio message.
func (h *handler) media(video bool, ts uint32, payload io.Reader) error {
	p, err := h.publisher()
	if err != nil {
		return h.failed(err)
	}
	b, err := readBody(payload)
	if err != nil {
		return h.failed(fmt.Errorf("rtmp: read media: %w", err))
	}
	cfg, err := h.dep.Tag(p, video, ts, b)
	switch {
	case err != nil:
		return h.failed(fmt.Errorf("rtmp: stream %s: %w", h.stream, err))
	case cfg != nil && video:
		h.log.Info("video", "codec", cfg.Codec, "width", cfg.Width, "height", cfg.Height, "profile", cfg.Profile)
	case cfg != nil:
		h.log.Info("audio", "codec", cfg.Codec, "rate", cfg.SampleRate, "channels", cfg.Channels)
	}
	return nil
}

// OnPlay admits a player of a stream by its public name.
func (h *handler) OnPlay(sctx *gortmp.StreamContext, _ uint32, cmd *rtmpmsg.NetStreamPlay) error {
	if h.pub != nil || h.play != nil {
		return errors.New("rtmp: play on a connection already in use")
	}
	name, _, _ := strings.Cut(cmd.StreamName, "?")
	s, ok := h.srv.hub.Get(name)
	if !ok {
		h.log.Info("play refused: no such stream", "stream", name)
		return fmt.Errorf("rtmp: play %s: %w", name, engine.ErrNotFound)
	}
	v, err := s.Join(engine.ViewerInfo{Protocol: "rtmp", Remote: h.c.remote})
	if err != nil {
		h.log.Warn("play refused", "stream", name, "err", err)
		return fmt.Errorf("rtmp: play %s: %w", name, err)
	}
	s.AwaitLive(context.Background(), engine.AwaitStart) // an on-demand camera connects now
	rd, err := s.NewReader(v)
	if err != nil {
		v.Leave()
		return fmt.Errorf("rtmp: play %s: %w", name, err)
	}
	h.c.admit(rtmpguard.Player)
	v.OnEvict(func() { h.c.Conn.Close() }) // a client that stopped reading gives its place to a new one
	ctx, cancel := context.WithCancel(context.Background())
	h.play = &stopper{cancel: cancel, done: make(chan struct{})}
	// A player only listens: no read timeout from now on.
	h.c.readTimeout.Store(0)
	_ = h.c.Conn.SetReadDeadline(time.Time{})
	h.log = h.log.With("stream", name)
	go func() {
		defer close(h.play.done)
		defer v.Leave()
		defer rd.Close()
		err := h.sendMedia(ctx, rd, v, sctx.StreamID)
		if ctx.Err() == nil {
			// The stream ended or the player stalled: close the socket so
			// the connection's read loop ends and OnClose runs.
			h.log.Info("player done", "reason", err)
			h.c.Conn.Close()
		}
	}()
	return nil
}

// sendMedia writes the stream to a player, starting with the codec
// configurations and sending new ones whenever they change.
func (h *handler) sendMedia(ctx context.Context, rd *engine.Reader, v *engine.Viewer, streamID uint32) error {
	var sent flv.Sent
	var batch []*engine.Packet
	for {
		var err error
		batch, err = rd.Next(ctx, batch[:0])
		for _, p := range batch {
			if !flv.Carries(p.Codec) {
				continue
			}
			if sent.NeedsHeader(p) {
				if err := h.writeConfig(ctx, p, streamID, v); err != nil {
					return err
				}
			}
			if err := h.write(ctx, p.Track, uint32(p.DTS.Milliseconds()), streamID, v, flv.BodyPrefix(p), p.Payload); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
	}
}

func (h *handler) writeConfig(ctx context.Context, p *engine.Packet, streamID uint32, v *engine.Viewer) error {
	var body []byte
	if p.Track == engine.TrackVideo {
		body = flv.VideoHeaderBody(p.Config)
	} else {
		body = flv.AudioHeaderBody(p.Config)
	}
	if body == nil {
		return nil
	}
	return h.write(ctx, p.Track, uint32(p.DTS.Milliseconds()), streamID, v, body)
}

func (h *handler) write(ctx context.Context, t engine.Track, ts, streamID uint32, v *engine.Viewer, parts ...[]byte) error {
	readers := make([]io.Reader, len(parts))
	n := 0
	for i, p := range parts {
		readers[i] = bytes.NewReader(p)
		n += len(p)
	}
	var msg rtmpmsg.Message
	cs := csVideo
	if t == engine.TrackVideo {
		msg = &rtmpmsg.VideoMessage{Payload: io.MultiReader(readers...)}
	} else {
		msg = &rtmpmsg.AudioMessage{Payload: io.MultiReader(readers...)}
		cs = csAudio
	}
	h.c.encMu.Lock()
	v.Writing()
	err := h.rc.Write(ctx, cs, ts, &gortmp.ChunkMessage{StreamID: streamID, Message: msg})
	h.c.encMu.Unlock()
	if err != nil {
		return fmt.Errorf("rtmp: write to player: %w", err)
	}
	v.AddBytes(n)
	return nil
}

func (h *handler) OnClose() {
	// OnClose runs on the read loop's goroutine, which may have stopped
	// on an error while holding the encoder lock (see conn).
	if h.c.readerHolds {
		h.c.readerHolds = false
		h.c.encMu.Unlock()
	}
	h.c.admitTimer.Stop()
	var v *rtmpguard.Violation
	if errors.As(h.c.front.Err(), &v) {
		if h.srv.violations.allow() {
			h.log.Warn("connection ended: the client broke a limit", "reason", v.Reason)
		}
		h.failed(v)
	}
	if h.pub != nil {
		reason := h.err
		if reason == nil && h.c.timedOut {
			reason = fmt.Errorf("rtmp: no data from the publisher for %v", h.srv.cfg.ReadTimeout)
		}
		h.pub.Close(reason)
		if reason != nil {
			h.log.Warn("publisher dropped", "err", reason, "dropped_before_config", h.dep.Dropped)
		} else {
			h.log.Info("publisher left", "dropped_before_config", h.dep.Dropped)
		}
	}
	if h.play != nil {
		h.play.stop()
	}
	h.srv.untrack(h.c)
}
