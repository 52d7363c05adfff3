package rtmpconn

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/yutopp/go-rtmp/handshake"
)

// serverChunkSize is the chunk size the server sends with: a frame of
// most streams fits in one or two chunks.
const serverChunkSize = 64 << 10

// window is the acknowledgement window and peer bandwidth the server
// asks for.
const window = 2500000

// Request is what a client asked of the server: to publish or to play a
// stream by name (as sent: it may carry a query).
type Request struct {
	Publish  bool
	Name     string
	App      string
	StreamID uint32
}

// Accept shakes hands with the client on nc, whose deadline bounds it,
// and returns the connection, reading within lim. Writes that stall for
// writeTimeout fail.
func Accept(nc net.Conn, lim Limits, writeTimeout time.Duration) (*Conn, error) {
	if err := handshake.HandshakeWithClient(nc, nc, &handshake.Config{}); err != nil {
		return nil, fmt.Errorf("rtmp: handshake: %w", err)
	}
	return newConn(nc, lim, writeTimeout), nil
}

// Await answers the client's connection commands (connect, createStream,
// releaseStream, FCPublish and what clients send on the way) until it
// asks to publish or play, and returns that request, not yet answered:
// the caller calls Start or Refuse.
func (c *Conn) Await() (Request, error) {
	var app string
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return Request{}, err
		}
		switch m.Type {
		case TypeAudio, TypeVideo:
			if m.StreamID == 0 || m.StreamID > c.streams {
				return Request{}, fmt.Errorf("rtmp: media on message stream %d, which was never created", m.StreamID)
			}
			continue // media before publish reaches nothing, as with other servers
		case TypeCommand:
		default:
			continue // metadata and the like before publishing
		}
		cmd, err := ParseCommand(m.Body)
		if err != nil {
			return Request{}, err
		}
		switch cmd.Name {
		case "connect":
			app, _ = cmd.Object(0)["app"].(string)
			if err := c.connected(cmd.TID); err != nil {
				return Request{}, err
			}
		case "createStream":
			c.streams++
			err = c.Command(csCommand, 0, "_result", cmd.TID, nil, c.streams)
		case "releaseStream":
			err = c.Command(csCommand, 0, "_result", cmd.TID, nil, nil)
		case "FCPublish":
			err = c.Command(csCommand, 0, "onFCPublish", 0, nil, Object{{"code", "NetStream.Publish.Start"}, {"description", cmd.String(1)}})
		case "publish", "play":
			if app == "" {
				return Request{}, fmt.Errorf("rtmp: %s before connect", cmd.Name)
			}
			return Request{Publish: cmd.Name == "publish", Name: cmd.String(1), App: app, StreamID: m.StreamID}, nil
		}
		if err != nil {
			return Request{}, err
		}
	}
}

// connected answers connect: the window, bandwidth and chunk size the
// server works with, then success.
func (c *Conn) connected(tid float64) error {
	if err := c.control(typeWindowAck, be32(window)); err != nil {
		return err
	}
	if err := c.control(typePeerBW, append(be32(window), 2)); err != nil { // dynamic
		return err
	}
	if err := c.SetChunkSize(serverChunkSize); err != nil {
		return err
	}
	return c.Command(csCommand, 0, "_result", tid,
		Object{{"fmsVer", "FMS/3,0,1,123"}, {"capabilities", 31}},
		Object{{"level", "status"}, {"code", "NetConnection.Connect.Success"}, {"description", "Connection succeeded."}, {"objectEncoding", 0}})
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// Start grants a request: publishing starts, or the stream begins for a
// player, whose media may follow at once.
func (c *Conn) Start(req Request) error {
	if req.Publish {
		return c.status(req, "status", "NetStream.Publish.Start", "Publishing "+req.Name+".")
	}
	if err := c.control(typeUserControl, append([]byte{0, 0}, be32(req.StreamID)...)); err != nil { // Stream Begin
		return err
	}
	return c.status(req, "status", "NetStream.Play.Start", "Started playing "+req.Name+".")
}

// Refuse tells the client why its request failed; the caller then
// closes the connection.
func (c *Conn) Refuse(req Request, reason string) error {
	code := "NetStream.Play.Failed"
	if req.Publish {
		code = "NetStream.Publish.Failed"
	}
	return c.status(req, "error", code, reason)
}

func (c *Conn) status(req Request, level, code, desc string) error {
	return c.Command(csStream, req.StreamID, "onStatus", 0, nil, Object{{"level", level}, {"code", code}, {"description", desc}})
}

// ErrLeft is how the conversation of a client that said goodbye ends.
var ErrLeft = errors.New("rtmp: the client ended the stream")

// During acts on a message to a connection that already publishes or
// plays, once per message: it answers createStream, refuses a second
// publish or play (which ends the conversation) and returns ErrLeft for a
// goodbye (deleteStream, closeStream, FCUnpublish).
func (c *Conn) During(m Message) error {
	if m.Type != TypeCommand {
		return nil
	}
	cmd, err := ParseCommand(m.Body)
	if err != nil {
		return err
	}
	switch strings.ToLower(cmd.Name) {
	case "deletestream", "closestream", "fcunpublish":
		return ErrLeft
	case "createstream":
		c.streams++
		return c.Command(csCommand, 0, "_result", cmd.TID, nil, c.streams)
	case "publish", "play":
		req := Request{Publish: cmd.Name == "publish", Name: cmd.String(1), StreamID: m.StreamID}
		_ = c.Refuse(req, "the connection already publishes or plays a stream")
		return fmt.Errorf("rtmp: %s on a connection already in use", cmd.Name)
	}
	return nil
}
