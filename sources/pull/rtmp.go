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
	f := k.newFeed(s, u)
	defer func() { f.close(err) }()
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
			if err = f.tag(isVideo(m), ts, body(m)); err != nil {
				return fmt.Errorf("%s: %w", shown, err)
			}
		}
	}
}

func isVideo(m rtmpmsg.Message) bool {
	_, ok := m.(*rtmpmsg.VideoMessage)
	return ok
}

// body copies a media message's payload: the library reuses its buffers.
func body(m rtmpmsg.Message) []byte {
	var r io.Reader
	switch m := m.(type) {
	case *rtmpmsg.VideoMessage:
		r = m.Payload
	case *rtmpmsg.AudioMessage:
		r = m.Payload
	}
	b, _ := io.ReadAll(r) // an in-memory buffer: reading cannot fail
	return b
}
