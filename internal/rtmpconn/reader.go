// Package rtmpconn holds Chalkcast's RTMP conversations, server and
// client side, on one chunk layer of its own:
//
//   - Reader parses the peer's chunk stream within limits on chunk size,
//     message size, chunk streams, buffered bytes and AMF0 nesting and
//     counts, and yields whole, checked messages;
//   - Conn answers the chunk layer's control messages (acknowledgements,
//     pings) and writes messages in chunks with one writev;
//   - Dial and Accept run the client's and the server's side of the
//     NetConnection commands; Sender writes engine packets to a player or
//     to a server pushed to, sharing each packet's once-built bytes.
//
// go-rtmp is used for the handshake only. The package knows RTMP and FLV
// tags, not streams: it must not import a source, an output or the GUI.
package rtmpconn

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Limits bound one peer. Zero fields take the stated defaults.
type Limits struct {
	// MaxChunkSize is the largest chunk size the peer may set. Default
	// 1 MiB (OBS and ffmpeg use 4 KiB, others up to 64 KiB).
	MaxChunkSize uint32
	// MaxChunkStreams is how many chunk stream ids the peer may use.
	// Default 32 (publishers use about 5).
	MaxChunkStreams int
	// MaxCommand is the largest command, data or control message.
	// Default 64 KiB.
	MaxCommand uint32
	// MaxMedia is the largest audio or video message. Default 8 MiB (a
	// 4K keyframe at a high bitrate is about 2 MiB).
	MaxMedia uint32
	// MaxBuffered bounds the bytes of unfinished messages held at once,
	// over all chunk streams. Default MaxMedia + MaxCommand.
	MaxBuffered int
	// MaxDepth bounds the nesting of AMF0 objects and arrays. Default 16
	// (a connect command nests 2 deep).
	MaxDepth int
	// MaxValues bounds the AMF0 values of one message. Default 4096.
	MaxValues int
}

// Pending are the limits for a client that has not yet been admitted as a
// publisher or a player: a few KiB of commands and nothing else.
var Pending = Limits{MaxCommand: 8 << 10, MaxMedia: 8 << 10, MaxBuffered: 32 << 10}

// Player are the limits for an admitted player, who sends commands only.
var Player = Limits{MaxMedia: 64 << 10, MaxBuffered: 256 << 10}

// Publisher are the limits for an admitted publisher (and for a server
// that a push or pull talks to).
var Publisher = Limits{}

func (l Limits) withDefaults() Limits {
	if l.MaxChunkSize == 0 {
		l.MaxChunkSize = 1 << 20
	}
	if l.MaxChunkStreams == 0 {
		l.MaxChunkStreams = 32
	}
	if l.MaxCommand == 0 {
		l.MaxCommand = 64 << 10
	}
	if l.MaxMedia == 0 {
		l.MaxMedia = 8 << 20
	}
	if l.MaxBuffered == 0 {
		l.MaxBuffered = int(l.MaxMedia) + int(l.MaxCommand)
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = 16
	}
	if l.MaxValues == 0 {
		l.MaxValues = 4096
	}
	return l
}

// Violation is the error a Reader returns once the peer broke a limit or
// the chunk protocol; the connection must end. It says what the peer did
// and never quotes the bytes.
type Violation struct{ Reason string }

func (v *Violation) Error() string { return "rtmp: " + v.Reason }

func violation(format string, args ...any) error {
	return &Violation{Reason: fmt.Sprintf(format, args...)}
}

// Message type ids (RTMP specification, 5.4 and 7.1).
const (
	typeSetChunkSize = 1
	typeAbort        = 2
	typeAck          = 3
	typeUserControl  = 4
	typeWindowAck    = 5
	typePeerBW       = 6
	TypeAudio        = 8
	TypeVideo        = 9
	typeDataAMF3     = 15
	typeSharedAMF3   = 16
	typeCommandAMF3  = 17
	TypeData         = 18 // AMF0
	typeSharedAMF0   = 19
	TypeCommand      = 20 // AMF0
	typeAggregate    = 22
)

// chunkStream is the header state of one chunk stream id and the message
// it is receiving.
type chunkStream struct {
	timestamp uint32 // of the last message, absolute
	delta     uint32
	length    uint32
	typ       byte
	streamID  uint32
	extended  bool   // the last header's timestamp was extended: type 3 chunks carry it too
	receiving bool   // a message is partly received
	msg       []byte // what has arrived of it
}

// Message is one whole message of the peer. Its Body belongs to the
// caller: the Reader never touches it again.
type Message struct {
	Type      byte
	StreamID  uint32
	Timestamp uint32 // milliseconds, absolute
	Body      []byte
}

// Reader parses one connection's incoming chunk stream. It is used by one
// goroutine, like the socket under it.
type Reader struct {
	src io.Reader
	lim Limits

	in         [4096]byte
	start, end int    // unparsed bytes are in[start:end]
	total      uint64 // bytes read from src

	chunkSize uint32
	streams   map[uint32]*chunkStream
	buffered  int
	cur       *chunkStream // whose chunk payload is arriving
	left      uint32       // bytes of that payload still to come

	ready *Message // a whole message, for ReadMessage to return
	err   error
	peak  int // most bytes ever buffered, for tests
}

// NewReader returns a Reader of the chunk stream that follows the
// handshake on src, checked against lim.
func NewReader(src io.Reader, lim Limits) *Reader {
	return &Reader{src: src, lim: lim.withDefaults(), chunkSize: 128, streams: map[uint32]*chunkStream{}}
}

// SetLimits changes the limits from the next chunk on, for example once a
// client is admitted as a publisher. Call it from the reading goroutine.
func (r *Reader) SetLimits(lim Limits) { r.lim = lim.withDefaults() }

// Err is the violation or read error that ended the Reader, if any.
func (r *Reader) Err() error { return r.err }

// Peak is the most bytes of unfinished messages the Reader ever held.
func (r *Reader) Peak() int { return r.peak }

// Total is how many bytes the Reader has read from its source.
func (r *Reader) Total() uint64 { return r.total }

// ReadMessage returns the peer's next whole message. Chunk-layer messages
// (chunk size, abort) are acted on here and not returned; after an error
// every call returns it again.
func (r *Reader) ReadMessage() (Message, error) {
	for r.ready == nil {
		if r.err != nil {
			return Message{}, r.err
		}
		progress, err := r.parse()
		if err != nil {
			r.fail(err)
			continue
		}
		if progress {
			continue
		}
		if r.start == r.end {
			r.start, r.end = 0, 0
		} else if r.start > 0 {
			r.end = copy(r.in[:], r.in[r.start:r.end])
			r.start = 0
		}
		n, err := r.src.Read(r.in[r.end:])
		r.end += n
		r.total += uint64(n)
		if err != nil && n == 0 {
			r.fail(err)
		}
	}
	m := *r.ready
	r.ready = nil
	return m, nil
}

// fail ends the Reader and lets go of everything it held.
func (r *Reader) fail(err error) {
	r.err = err
	r.streams, r.cur, r.buffered = nil, nil, 0
}

// parse consumes what it can of the unparsed bytes: part of a chunk's
// payload, or a whole chunk header. It reports whether it consumed any.
func (r *Reader) parse() (bool, error) {
	buf := r.in[r.start:r.end]
	if r.cur != nil {
		n := min(uint32(len(buf)), r.left)
		if n == 0 {
			return false, nil
		}
		if r.buffered+int(n) > r.lim.MaxBuffered {
			return false, violation("holds more than %d bytes of unfinished messages", r.lim.MaxBuffered)
		}
		cs := r.cur
		cs.msg = append(cs.msg, buf[:n]...)
		r.buffered += int(n)
		r.peak = max(r.peak, r.buffered)
		r.start += int(n)
		if r.left -= n; r.left == 0 {
			r.cur = nil
			if uint32(len(cs.msg)) == cs.length {
				return true, r.complete(cs)
			}
		}
		return true, nil
	}
	return r.header(buf)
}

// header parses one chunk header from buf, if it is all there.
func (r *Reader) header(buf []byte) (bool, error) {
	if len(buf) < 1 {
		return false, nil
	}
	format := buf[0] >> 6
	id := uint32(buf[0] & 0x3f)
	n := 1
	switch id {
	case 0:
		if len(buf) < 2 {
			return false, nil
		}
		id, n = uint32(buf[1])+64, 2
	case 1:
		if len(buf) < 3 {
			return false, nil
		}
		id, n = uint32(buf[2])*256+uint32(buf[1])+64, 3
	}
	size := n + [4]int{11, 7, 3, 0}[format]
	if len(buf) < size {
		return false, nil
	}
	cs := r.streams[id]
	var field uint32 // the 24-bit timestamp or delta
	extended := false
	if format < 3 {
		field = uint32(buf[n])<<16 | uint32(buf[n+1])<<8 | uint32(buf[n+2])
		extended = field == 0xffffff
	} else if cs != nil {
		extended = cs.extended
	}
	if extended {
		if len(buf) < size+4 {
			return false, nil
		}
		if format < 3 {
			field = binary.BigEndian.Uint32(buf[size:])
		}
		size += 4 // a type 3 chunk repeats it; the first chunk's value counts
	}
	if cs == nil {
		if len(r.streams) >= r.lim.MaxChunkStreams {
			return false, violation("uses more than %d chunk streams", r.lim.MaxChunkStreams)
		}
		cs = &chunkStream{}
		r.streams[id] = cs
	}
	if cs.receiving && format != 3 {
		return false, violation("starts a new message on chunk stream %d before the last one ended", id)
	}
	h := buf[n:]
	switch format {
	case 0:
		cs.timestamp, cs.delta = field, 0
		cs.length = uint32(h[3])<<16 | uint32(h[4])<<8 | uint32(h[5])
		cs.typ = h[6]
		cs.streamID = binary.LittleEndian.Uint32(h[7:11])
	case 1:
		cs.delta = field
		cs.length = uint32(h[3])<<16 | uint32(h[4])<<8 | uint32(h[5])
		cs.typ = h[6]
	case 2:
		cs.delta = field
	}
	if format < 3 {
		cs.extended = extended
	}
	r.start += size
	if cs.receiving {
		r.cur, r.left = cs, min(r.chunkSize, cs.length-uint32(len(cs.msg)))
		return true, nil
	}
	// The first chunk of a message: a delta adds to the last message's
	// time; type 0 set it.
	cs.timestamp += cs.delta
	if err := r.admissible(cs.typ, cs.length); err != nil {
		return false, err
	}
	if cs.length == 0 {
		return true, nil // an empty message says nothing
	}
	// Room for what a chunk or two brings; a message grows as its bytes
	// arrive, never from its declared length alone.
	cs.receiving, cs.msg = true, make([]byte, 0, min(cs.length, 2*r.chunkSize, 64<<10))
	r.cur, r.left = cs, min(r.chunkSize, cs.length)
	return true, nil
}

// admissible checks a message's type and declared length before any of
// its payload is kept.
func (r *Reader) admissible(typ byte, length uint32) error {
	var limit uint32
	switch typ {
	case typeSetChunkSize, typeAbort, typeAck, typeWindowAck, typePeerBW:
		minimum := uint32(4)
		if typ == typePeerBW {
			minimum = 5
		}
		if length < minimum || length > 64 {
			return violation("sends a control message (type %d) of %d bytes", typ, length)
		}
		return nil
	case typeUserControl:
		if length < 2 || length > 64 {
			return violation("sends a user control message of %d bytes", length)
		}
		return nil
	case TypeAudio, TypeVideo:
		limit = r.lim.MaxMedia
	case TypeData, TypeCommand:
		limit = r.lim.MaxCommand
	case typeDataAMF3, typeSharedAMF3, typeCommandAMF3, typeSharedAMF0:
		return violation("sends an AMF3 or shared-object message (type %d), which is not supported", typ)
	case typeAggregate:
		return violation("sends an aggregate message, which is not supported")
	default:
		return violation("sends a message of unknown type %d", typ)
	}
	if length > limit {
		return violation("sends a message (type %d) of %d bytes, more than the %d allowed", typ, length, limit)
	}
	return nil
}

// complete checks a whole message and makes it ready, or acts on it when
// it is about the chunk layer itself.
func (r *Reader) complete(cs *chunkStream) error {
	msg := cs.msg
	cs.msg, cs.receiving = nil, false
	r.buffered -= len(msg)
	switch cs.typ {
	case typeSetChunkSize:
		size := binary.BigEndian.Uint32(msg)
		if size == 0 || size > r.lim.MaxChunkSize {
			return violation("sets a chunk size of %d (at most %d allowed)", size, r.lim.MaxChunkSize)
		}
		r.chunkSize = size
		return nil
	case typeAbort:
		if other := r.streams[binary.BigEndian.Uint32(msg)]; other != nil && other.receiving {
			r.buffered -= len(other.msg)
			other.msg, other.receiving = nil, false
		}
		return nil
	case TypeData, TypeCommand:
		if err := CheckAMF0(msg, r.lim.MaxDepth, r.lim.MaxValues); err != nil {
			return violation("sends a malformed command: %v", err)
		}
	}
	r.ready = &Message{Type: cs.typ, StreamID: cs.streamID, Timestamp: cs.timestamp, Body: msg}
	return nil
}
