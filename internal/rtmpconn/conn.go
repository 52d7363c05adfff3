package rtmpconn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"chalkcast/internal/connlimit"
)

// Chunk stream ids, as other servers and clients use them.
const (
	csControl = 2
	csCommand = 3
	csStream  = 5 // a stream's commands and status
	csAudio   = 4
	csVideo   = 6
)

// Conn is one RTMP connection after its handshake, either side. One
// goroutine reads (ReadMessage); writes may come from any goroutine, each
// message or batch whole under one lock, so that nobody holds a lock from
// one read to the next.
type Conn struct {
	nc  net.Conn
	raw net.Conn // what writes go to: the socket itself, so that a batch is one writev
	rd  *Reader

	// reading side
	readTimeout time.Duration // renewed before every read; 0: none
	readBy      time.Time     // no read past this; zero: no such bound
	timedOut    bool
	window      uint32 // the peer's acknowledgement window
	acked       uint64
	streams     uint32 // message streams created for a client, numbered from 1

	wmu          sync.Mutex
	chunkSize    int // of what we send
	writeTimeout time.Duration
	deadline     time.Time // the write deadline set on the socket
	bufs         net.Buffers
	sending      net.Buffers
}

// newConn wraps nc, whose handshake is done, reading within lim.
func newConn(nc net.Conn, lim Limits, writeTimeout time.Duration) *Conn {
	c := &Conn{nc: nc, raw: connlimit.Socket(nc), chunkSize: 128, writeTimeout: writeTimeout}
	c.rd = NewReader(socket{c}, lim)
	return c
}

// socket is what the Reader reads: the connection, with the read deadline
// renewed before every read, so that a peer that keeps sending is never
// timed out however long one message (a big keyframe on a slow link)
// takes to arrive whole.
type socket struct{ c *Conn }

func (s socket) Read(b []byte) (int, error) {
	c := s.c
	var d time.Time
	if c.readTimeout > 0 {
		d = time.Now().Add(c.readTimeout)
	}
	if !c.readBy.IsZero() && (d.IsZero() || c.readBy.Before(d)) {
		d = c.readBy
	}
	_ = c.nc.SetReadDeadline(d)
	n, err := c.nc.Read(b)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.timedOut = true
	}
	return n, err
}

// SetReadTimeout ends reading when the peer sends nothing for d (0: wait
// for ever). Call it from the reading goroutine.
func (c *Conn) SetReadTimeout(d time.Duration) { c.readTimeout = d }

// SetReadBy ends reading at t whatever arrives (zero: no bound). Call it
// from the reading goroutine.
func (c *Conn) SetReadBy(t time.Time) { c.readBy = t }

// TimedOut reports whether reading ended because a timeout passed.
func (c *Conn) TimedOut() bool { return c.timedOut }

// SetLimits changes what the peer may send from its next chunk on. Call
// it from the reading goroutine.
func (c *Conn) SetLimits(lim Limits) { c.rd.SetLimits(lim) }

// Err is why reading ended: a Violation, a timeout, the peer closing.
func (c *Conn) Err() error { return c.rd.Err() }

// Close closes the connection; reads and writes then fail.
func (c *Conn) Close() error { return c.nc.Close() }

// ReadMessage returns the peer's next media, data or command message. It
// acknowledges what was read whenever the peer's window is full and
// answers pings on the way.
func (c *Conn) ReadMessage() (Message, error) {
	for {
		m, err := c.rd.ReadMessage()
		if err != nil {
			return m, err
		}
		if n := c.rd.Total(); c.window > 0 && n-c.acked >= uint64(c.window) {
			c.acked = n
			if err := c.control(typeAck, binary.BigEndian.AppendUint32(nil, uint32(n))); err != nil {
				return Message{}, err
			}
		}
		switch m.Type {
		case typeWindowAck:
			c.window = binary.BigEndian.Uint32(m.Body)
		case typeUserControl:
			// a ping request (event 6) is answered with its timestamp
			if len(m.Body) >= 6 && binary.BigEndian.Uint16(m.Body) == 6 {
				if err := c.control(typeUserControl, append([]byte{0, 7}, m.Body[2:6]...)); err != nil {
					return Message{}, err
				}
			}
		case typeAck, typePeerBW:
		default:
			return m, nil
		}
	}
}

// control sends a control message on chunk stream 2.
func (c *Conn) control(typ byte, body []byte) error {
	return c.WriteMessage(csControl, typ, 0, 0, body)
}

// SetChunkSize tells the peer the chunk size of everything sent after it.
func (c *Conn) SetChunkSize(size int) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	body := binary.BigEndian.AppendUint32(nil, uint32(size))
	c.bufs = chunk(c.bufs[:0], appendHeader(nil, csControl, 0, typeSetChunkSize, 0, len(body)), nil, c.chunkSize, body)
	if err := c.flush(); err != nil {
		return err
	}
	c.chunkSize = size
	return nil
}

// WriteMessage sends one message on chunk stream csid.
func (c *Conn) WriteMessage(csid uint32, typ byte, streamID, ts uint32, body []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.bufs = chunk(c.bufs[:0], appendHeader(nil, csid, ts, typ, streamID, len(body)), appendContinuation(nil, csid, ts), c.chunkSize, body)
	return c.flush()
}

// Command sends an AMF0 command on chunk stream csid.
func (c *Conn) Command(csid, streamID uint32, name string, tid float64, values ...any) error {
	if err := c.WriteMessage(csid, TypeCommand, streamID, 0, appendCommand(nil, name, tid, values...)); err != nil {
		return fmt.Errorf("send %s: %w", name, err)
	}
	return nil
}

// flush writes c.bufs with one writev; the caller holds wmu. The write
// deadline moves forward only when less than half of the write timeout
// is left, which bounds a stalled write between half the timeout and the
// timeout without a deadline update on every write.
func (c *Conn) flush() error {
	if c.writeTimeout > 0 {
		if now := time.Now(); c.deadline.Sub(now) < c.writeTimeout/2 {
			c.deadline = now.Add(c.writeTimeout)
			_ = c.raw.SetWriteDeadline(c.deadline)
		}
	}
	c.sending = c.bufs // WriteTo consumes its receiver; a field, so that nothing escapes
	_, err := c.sending.WriteTo(c.raw)
	clear(c.bufs) // let go of the payloads
	return err
}
