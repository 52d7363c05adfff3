package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"chalkcast/engine"
	"chalkcast/engine/flv"
	"chalkcast/internal/rtmpclient"
)

// runRTMP plays u into s until ctx ends or the stream fails. The stream
// goes live with the first media, not with the server's "play started"
// (servers say so before anybody publishes).
func (k *Kind) runRTMP(ctx context.Context, s *engine.Stream, u *url.URL) (err error) {
	shown := engine.RedactURL(u.String())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, name, err := rtmpclient.Dial(ctx, u.String())
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s: %w", shown, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, conn.Close)
	defer stop()
	if err := conn.Play(name); err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	// a stream that sends no media this long is called again
	var stalled atomic.Bool
	stall := time.AfterFunc(stallAfter, func() { stalled.Store(true); cancel() })
	defer stall.Stop()
	var (
		dep flv.Depacketizer
		pub *engine.Publisher
	)
	defer func() {
		if pub != nil {
			pub.Close(err)
		}
	}()
	for {
		m, ts, rerr := conn.Read()
		switch {
		case rerr == nil:
		case errors.Is(rerr, rtmpclient.ErrReadLimit):
			return rerr
		case stalled.Load():
			return fmt.Errorf("%s sent nothing for %v", shown, stallAfter)
		case ctx.Err() != nil:
			return nil
		default:
			return fmt.Errorf("%s closed the connection (%v)", shown, rerr)
		}
		switch m := m.(type) {
		case *rtmpmsg.CommandMessage:
			code, text := rtmpclient.Status(m)
			if strings.HasSuffix(code, "StreamNotFound") || strings.HasSuffix(code, ".Failed") ||
				code == "NetStream.Play.UnpublishNotify" || code == "NetStream.Play.Stop" {
				return fmt.Errorf("%s: %s", shown, text)
			}
		case *rtmpmsg.VideoMessage, *rtmpmsg.AudioMessage:
			stall.Reset(stallAfter)
			if pub == nil {
				if pub, err = s.Publish(engine.SourceInfo{Protocol: "pull", Remote: u.Host}); err != nil {
					return fmt.Errorf("%s: %w", shown, err)
				}
			}
			if err = publishMessage(pub, &dep, m, ts); err != nil {
				return fmt.Errorf("%s: the stream is broken: %w", shown, err)
			}
		}
	}
}

// publishMessage turns one RTMP media message into a packet.
func publishMessage(pub *engine.Publisher, dep *flv.Depacketizer, m rtmpmsg.Message, ts uint32) error {
	var (
		payload io.Reader
		video   bool
	)
	switch m := m.(type) {
	case *rtmpmsg.VideoMessage:
		payload, video = m.Payload, true
	case *rtmpmsg.AudioMessage:
		payload = m.Payload
	}
	b, err := io.ReadAll(payload) // a copy: the library reuses its buffers
	if err != nil {
		return err
	}
	var (
		p       *engine.Packet
		changed bool
	)
	t := engine.TrackAudio
	if video {
		t = engine.TrackVideo
		p, changed, err = dep.Video(ts, b)
	} else {
		p, changed, err = dep.Audio(ts, b)
	}
	if err != nil {
		return err
	}
	if changed {
		cfg := dep.AudioConfig
		if video {
			cfg = dep.VideoConfig
		}
		pub.SetConfig(t, cfg)
	}
	if p != nil {
		pub.WritePacket(p)
	}
	return nil
}
