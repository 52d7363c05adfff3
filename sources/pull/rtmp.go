package pull

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	gortmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"chalkcast/engine"
	"chalkcast/engine/flv"
)

// rtmpPlayer plays an rtmp:// or rtmps:// stream. The RTMP library speaks
// the chunk protocol and the message encodings; its client can publish
// but not play, so the play conversation (connect, createStream, play) is
// held here.
type rtmpPlayer struct {
	cs      *gortmp.ChunkStreamer
	ctx     context.Context
	shown   string
	pending map[int64]string // transaction id → command waiting for its result
}

// runRTMP pulls u into s until ctx ends or the stream fails.
func (k *Kind) runRTMP(ctx context.Context, s *engine.Stream, u *url.URL) error {
	shown := engine.RedactURL(u.String())
	path := strings.Trim(u.Path, "/")
	i := strings.LastIndex(path, "/")
	if i < 0 {
		return fmt.Errorf("%s: the address needs an app and a stream name (rtmp://host/app/name)", shown)
	}
	app, name := path[:i], path[i+1:]
	if u.RawQuery != "" {
		name += "?" + u.RawQuery
	}
	host := u.Host
	if u.Port() == "" {
		port := "1935"
		if u.Scheme == "rtmps" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	var conn net.Conn
	var err error
	if u.Scheme == "rtmps" {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: u.Hostname()}}).DialContext(ctx, "tcp", host)
	} else {
		conn, err = d.DialContext(ctx, "tcp", host)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return explain(shown, host, err)
	}
	defer conn.Close()
	// a stream that stops sending is called again; ctx closes the socket
	stall := time.AfterFunc(stallAfter, func() { conn.Close() })
	defer stall.Stop()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := handshake.HandshakeWithServer(conn, conn, &handshake.Config{}); err != nil {
		return fmt.Errorf("%s does not answer like an RTMP server: %v", host, err)
	}
	p := &rtmpPlayer{cs: gortmp.NewChunkStreamer(conn, conn, nil), ctx: ctx, shown: shown, pending: map[int64]string{}}
	defer p.cs.Close()

	tcURL := u.Scheme + "://" + u.Host + "/" + app
	if err := p.command(3, 0, "connect", 1, &rtmpmsg.NetConnectionConnect{Command: rtmpmsg.NetConnectionConnectCommand{
		App: app, TCURL: tcURL, FlashVer: "LNX 9,0,124,2", Type: "nonprivate"}}); err != nil {
		return err
	}
	var (
		dep      flv.Depacketizer
		pub      *engine.Publisher
		streamID uint32
	)
	defer func() {
		if pub != nil {
			pub.Close(err)
		}
	}()
	for {
		var cm gortmp.ChunkMessage
		_, ts, rerr := p.cs.Read(&cm)
		if rerr != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case !stall.Stop():
				err = fmt.Errorf("%s stopped sending for %v", shown, stallAfter)
			default:
				err = fmt.Errorf("%s closed the connection (%v)", shown, rerr)
			}
			return err
		}
		stall.Reset(stallAfter)
		switch m := cm.Message.(type) {
		case *rtmpmsg.SetChunkSize:
			if err = p.cs.PeerState().SetChunkSize(m.ChunkSize); err != nil {
				return fmt.Errorf("%s: %w", shown, err)
			}
		case *rtmpmsg.CommandMessage:
			var done bool
			if streamID, done, err = p.reply(m, streamID, name); err != nil {
				return err
			}
			if done && pub == nil {
				if pub, err = s.Publish(engine.SourceInfo{Protocol: "pull", Remote: u.Host}); err != nil {
					return fmt.Errorf("%s: %w", shown, err)
				}
			}
		case *rtmpmsg.VideoMessage, *rtmpmsg.AudioMessage:
			if pub == nil {
				continue
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
		video   = false
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

// command sends an AMF0 command and remembers what its result answers.
func (p *rtmpPlayer) command(csid int, streamID uint32, name string, tid int64, body rtmpmsg.AMFConvertible) error {
	buf := new(bytes.Buffer)
	if err := rtmpmsg.EncodeBodyAnyValues(rtmpmsg.NewAMFEncoder(buf, rtmpmsg.EncodingTypeAMF0), body); err != nil {
		return fmt.Errorf("%s: encode %s: %w", p.shown, name, err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	err := p.cs.Write(ctx, csid, 0, &gortmp.ChunkMessage{StreamID: streamID, Message: &rtmpmsg.CommandMessage{
		CommandName: name, TransactionID: tid, Encoding: rtmpmsg.EncodingTypeAMF0, Body: buf}})
	if err != nil {
		return fmt.Errorf("%s: send %s: %w", p.shown, name, err)
	}
	if tid != 0 {
		p.pending[tid] = name
	}
	return nil
}

// reply handles the server's answers: connect → createStream → play, and
// the play status. done is true once the server plays the stream.
func (p *rtmpPlayer) reply(m *rtmpmsg.CommandMessage, streamID uint32, name string) (uint32, bool, error) {
	values := amfValues(m)
	switch m.CommandName {
	case "_result":
		switch p.pending[m.TransactionID] {
		case "connect":
			delete(p.pending, m.TransactionID)
			return streamID, false, p.command(3, 0, "createStream", 2, &rtmpmsg.NetConnectionCreateStream{})
		case "createStream":
			delete(p.pending, m.TransactionID)
			for _, v := range values {
				if f, ok := v.(float64); ok {
					streamID = uint32(f)
				}
			}
			return streamID, false, p.command(8, streamID, "play", 0, &playArgs{name: name})
		}
	case "_error":
		return streamID, false, fmt.Errorf("%s refused %s: %s", p.shown, p.pending[m.TransactionID], statusText(values))
	case "onStatus":
		code := statusCode(values)
		switch {
		case code == "NetStream.Play.Start":
			return streamID, true, nil
		case strings.HasPrefix(code, "NetStream.Play.StreamNotFound"), strings.HasSuffix(code, ".Failed"),
			code == "NetStream.Play.UnpublishNotify", code == "NetStream.Play.Stop":
			return streamID, false, fmt.Errorf("%s: %s", p.shown, statusText(values))
		}
	}
	return streamID, false, nil
}

// playArgs are the arguments of "play": no command object, the stream
// name, and start -2 (live, or recorded if there is no live stream).
// (The library's NetStreamPlay can be read but not written.)
type playArgs struct{ name string }

func (a *playArgs) FromArgs(...any) error { return nil }

func (a *playArgs) ToArgs(rtmpmsg.EncodingType) ([]any, error) {
	return []any{nil, a.name, float64(-2)}, nil
}

// amfValues decodes a command's arguments.
func amfValues(m *rtmpmsg.CommandMessage) []any {
	dec := rtmpmsg.NewAMFDecoder(m.Body, m.Encoding)
	var out []any
	for range 8 {
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		out = append(out, v)
	}
	return out
}

func statusCode(values []any) string {
	for _, v := range values {
		if obj, ok := v.(map[string]any); ok {
			if c, ok := obj["code"].(string); ok {
				return c
			}
		}
	}
	return ""
}

func statusText(values []any) string {
	for _, v := range values {
		if obj, ok := v.(map[string]any); ok {
			code, _ := obj["code"].(string)
			desc, _ := obj["description"].(string)
			if code != "" || desc != "" {
				return strings.TrimSpace(code + " " + desc)
			}
		}
	}
	return "no reason given"
}
