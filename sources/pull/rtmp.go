package pull

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/rtmpconn"
)

// runRTMP plays u into s until ctx ends or the stream fails. The stream
// goes live with the first media, not with the server's "play started"
// (servers say so before anybody publishes).
func (k *Kind) runRTMP(ctx context.Context, s *engine.Stream, u *url.URL) (err error) {
	shown := engine.RedactURL(u.String())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, name, err := rtmpconn.Dial(ctx, u.String())
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s: %w", shown, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
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
		m, rerr := conn.ReadMessage()
		switch {
		case rerr == nil:
		case stalled.Load():
			return fmt.Errorf("%s sent nothing for %v", shown, stallAfter)
		case ctx.Err() != nil:
			return nil
		default:
			return fmt.Errorf("%s closed the connection (%v)", shown, rerr)
		}
		switch m.Type {
		case rtmpconn.TypeCommand:
			cmd, err := rtmpconn.ParseCommand(m.Body)
			if err != nil || cmd.Name != "onStatus" {
				continue
			}
			if code := cmd.Status(); strings.HasSuffix(code, "StreamNotFound") || strings.HasSuffix(code, ".Failed") ||
				code == "NetStream.Play.UnpublishNotify" || code == "NetStream.Play.Stop" {
				return fmt.Errorf("%s: %s", shown, cmd.Reason())
			}
		case rtmpconn.TypeVideo, rtmpconn.TypeAudio:
			stall.Reset(stallAfter)
			// the body is the connection's no more: packets keep it
			if err = f.tag(m.Type == rtmpconn.TypeVideo, m.Timestamp, m.Body); err != nil {
				return fmt.Errorf("%s: %w", shown, err)
			}
		}
	}
}
