// Package rtmpclient holds an RTMP client conversation, publishing or
// playing, on the chunk streamer and message codecs of go-rtmp: that
// library's own client can publish but not play, and waits for the server
// without a deadline. Here every step has one, pings are answered and
// acknowledgements sent, so servers such as nginx-rtmp keep the connection.
// It knows no streams: it must not import the engine.
package rtmpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gortmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"chalkcast/internal/rtmpguard"
)

// Timeout bounds connecting, the handshake and each answer the server owes.
const Timeout = 10 * time.Second

// maxRead is how much a connection may read: the chunk streamer
// acknowledges by itself after 1 GiB without a way to send it, so a
// player reconnects before (about an hour of a 2.5 Mbit/s stream).
const maxRead = 900 << 20

// ErrReadLimit ends a playing connection that read maxRead bytes; the
// caller connects again.
var ErrReadLimit = fmt.Errorf("the connection read %d MiB: connecting again", maxRead>>20)

// Conn is one RTMP connection with one stream.
type Conn struct {
	nc       net.Conn
	cs       *gortmp.ChunkStreamer
	in       *counter
	streamID uint32
	host     string
	pending  map[int64]string
	window   uint32 // acknowledgement window the server asked for
	acked    uint64
	closing  sync.Once
}

// counter counts the bytes read from the connection.
type counter struct {
	r io.Reader
	n atomic.Uint64
}

func (c *counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(uint64(n))
	return n, err
}

// Target splits an rtmp:// or rtmps:// URL into the address to dial, the
// app, and the stream name (the last path element, with the query:
// services sign names there).
func Target(raw string) (host, app, name string, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Hostname() == "" {
		return "", "", "", fmt.Errorf("not an rtmp:// or rtmps:// address")
	}
	path := strings.Trim(u.Path, "/")
	i := strings.LastIndex(path, "/")
	if i <= 0 || i == len(path)-1 {
		return "", "", "", fmt.Errorf("the address needs an app and a stream name (rtmp://host/app/name)")
	}
	app, name = path[:i], path[i+1:]
	if u.RawQuery != "" {
		name += "?" + u.RawQuery
	}
	host = u.Host
	if u.Port() == "" {
		port := "1935"
		if u.Scheme == "rtmps" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	return host, app, name, nil
}

// Dial connects to the server of raw, shakes hands, connects to its app
// and creates a stream, each step within Timeout. The connection closes
// when ctx ends.
func Dial(ctx context.Context, raw string) (*Conn, string, error) {
	host, app, name, err := Target(raw)
	if err != nil {
		return nil, "", err
	}
	u, _ := url.Parse(raw)
	d := net.Dialer{Timeout: Timeout}
	var nc net.Conn
	if u.Scheme == "rtmps" {
		nc, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: u.Hostname()}}).DialContext(ctx, "tcp", host)
	} else {
		nc, err = d.DialContext(ctx, "tcp", host)
	}
	if err != nil {
		return nil, "", fmt.Errorf("cannot reach %s: %w", host, err)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	c := &Conn{nc: nc, host: host, pending: map[int64]string{}}
	c.in = &counter{r: nc}
	fail := func(err error) (*Conn, string, error) {
		stop()
		nc.Close()
		return nil, "", err
	}
	_ = nc.SetDeadline(time.Now().Add(Timeout))
	if err := handshake.HandshakeWithServer(c.in, nc, &handshake.Config{}); err != nil {
		return fail(fmt.Errorf("%s does not answer like an RTMP server (%v)", host, err))
	}
	c.start()
	tcURL := u.Scheme + "://" + u.Host + "/" + app
	if err := c.command(3, 0, "connect", 1, &rtmpmsg.NetConnectionConnect{Command: rtmpmsg.NetConnectionConnectCommand{
		App: app, TCURL: tcURL, FlashVer: "FMLE/3.0 (compatible; Chalkcast)", Type: "nonprivate"}}); err != nil {
		return fail(err)
	}
	if _, err := c.await("connect"); err != nil {
		return fail(fmt.Errorf("%s refused the connection to app %q: %v", host, app, err))
	}
	if err := c.command(3, 0, "createStream", 2, &rtmpmsg.NetConnectionCreateStream{}); err != nil {
		return fail(err)
	}
	values, err := c.await("createStream")
	if err != nil {
		return fail(fmt.Errorf("%s: create stream: %v", host, err))
	}
	for _, v := range values {
		if f, ok := v.(float64); ok {
			c.streamID = uint32(f)
		}
	}
	_ = nc.SetDeadline(time.Time{})
	return c, name, nil
}

// start reads the server's chunk stream through a bounded front, so that
// a hostile server can make the client hold no more than a publisher
// could make Chalkcast's own server hold.
func (c *Conn) start() {
	c.cs = gortmp.NewChunkStreamer(rtmpguard.NewReader(c.in, 0, rtmpguard.Publisher), c.nc, nil)
}

// Close ends the connection; it may be called more than once.
func (c *Conn) Close() {
	c.closing.Do(func() {
		c.nc.Close()
		c.cs.Close()
	})
}

// Publish starts publishing name and waits for the server to accept it.
func (c *Conn) Publish(name string) error {
	_ = c.nc.SetDeadline(time.Now().Add(Timeout))
	defer c.nc.SetDeadline(time.Time{})
	if err := c.command(4, c.streamID, "publish", 0, &rtmpmsg.NetStreamPublish{PublishingName: name, PublishingType: "live"}); err != nil {
		return err
	}
	for {
		m, _, err := c.Read()
		if err != nil {
			return fmt.Errorf("%s did not accept the stream: %v", c.host, err)
		}
		if cm, ok := m.(*rtmpmsg.CommandMessage); ok && cm.CommandName == "onStatus" {
			values := amfValues(cm)
			switch code := statusCode(values); {
			case code == "NetStream.Publish.Start":
				return nil
			case strings.Contains(code, "Publish."):
				return fmt.Errorf("%s refused the stream: %s", c.host, statusText(values))
			}
		}
	}
}

// Play asks to play name; media and the play status follow through Read.
func (c *Conn) Play(name string) error {
	return c.command(8, c.streamID, "play", 0, &playArgs{name: name})
}

// playArgs are the arguments of "play": no command object, the stream
// name, and start -2 (live, or recorded if nothing is live). The library's
// NetStreamPlay can be read but not written.
type playArgs struct{ name string }

func (a *playArgs) FromArgs(...any) error { return nil }

func (a *playArgs) ToArgs(rtmpmsg.EncodingType) ([]any, error) {
	return []any{nil, a.name, float64(-2)}, nil
}

// Read returns the next message the caller cares about (media, commands,
// data), answering the control messages on the way.
func (c *Conn) Read() (rtmpmsg.Message, uint32, error) {
	for {
		if c.in.n.Load() > maxRead {
			return nil, 0, ErrReadLimit
		}
		var cm gortmp.ChunkMessage
		_, ts, err := c.cs.Read(&cm)
		if err != nil {
			return nil, 0, err
		}
		if err := c.ack(); err != nil {
			return nil, 0, err
		}
		switch m := cm.Message.(type) {
		case *rtmpmsg.SetChunkSize:
			if err := c.cs.PeerState().SetChunkSize(m.ChunkSize); err != nil {
				return nil, 0, err
			}
		case *rtmpmsg.WinAckSize:
			c.window = uint32(m.Size)
		case *rtmpmsg.UserCtrl:
			if ping, ok := m.Event.(*rtmpmsg.UserCtrlEventPingRequest); ok {
				if err := c.write(2, 0, 0, &rtmpmsg.UserCtrl{Event: &rtmpmsg.UserCtrlEventPingResponse{Timestamp: ping.Timestamp}}); err != nil {
					return nil, 0, err
				}
			}
		case *rtmpmsg.Ack, *rtmpmsg.SetPeerBandwidth:
		default:
			return cm.Message, ts, nil
		}
	}
}

// ack acknowledges what was read once the server's window is full.
func (c *Conn) ack() error {
	n := c.in.n.Load()
	if c.window == 0 || n-c.acked < uint64(c.window) {
		return nil
	}
	c.acked = n
	return c.write(2, 0, 0, &rtmpmsg.Ack{SequenceNumber: uint32(n)})
}

// WriteMedia sends one FLV tag body of track video or audio.
func (c *Conn) WriteMedia(video bool, ts uint32, body []byte) error {
	var msg rtmpmsg.Message = &rtmpmsg.AudioMessage{Payload: bytes.NewReader(body)}
	cs := 4
	if video {
		msg, cs = &rtmpmsg.VideoMessage{Payload: bytes.NewReader(body)}, 6
	}
	return c.write(cs, c.streamID, ts, msg)
}

func (c *Conn) write(csid int, streamID, ts uint32, msg rtmpmsg.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return c.cs.Write(ctx, csid, ts, &gortmp.ChunkMessage{StreamID: streamID, Message: msg})
}

// command sends an AMF0 command and remembers what its result answers.
func (c *Conn) command(csid int, streamID uint32, name string, tid int64, body rtmpmsg.AMFConvertible) error {
	buf := new(bytes.Buffer)
	if err := rtmpmsg.EncodeBodyAnyValues(rtmpmsg.NewAMFEncoder(buf, rtmpmsg.EncodingTypeAMF0), body); err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	err := c.write(csid, streamID, 0, &rtmpmsg.CommandMessage{CommandName: name, TransactionID: tid, Encoding: rtmpmsg.EncodingTypeAMF0, Body: buf})
	if err != nil {
		return fmt.Errorf("%s: send %s: %w", c.host, name, err)
	}
	if tid != 0 {
		c.pending[tid] = name
	}
	return nil
}

// await reads until the result of command arrives and returns its values.
func (c *Conn) await(command string) ([]any, error) {
	for {
		m, _, err := c.Read()
		if err != nil {
			return nil, err
		}
		cm, ok := m.(*rtmpmsg.CommandMessage)
		if !ok || c.pending[cm.TransactionID] != command {
			continue
		}
		delete(c.pending, cm.TransactionID)
		values := amfValues(cm)
		if cm.CommandName == "_error" {
			return nil, fmt.Errorf("%s", statusText(values))
		}
		return values, nil
	}
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

// Status is the code and text of an onStatus command ("" for others).
func Status(m *rtmpmsg.CommandMessage) (code, text string) {
	if m.CommandName != "onStatus" {
		return "", ""
	}
	values := amfValues(m)
	return statusCode(values), statusText(values)
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
