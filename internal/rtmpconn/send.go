package rtmpconn

import (
	"time"

	"chalkcast/engine"
	"chalkcast/media/flv"
)

// Sender writes a stream's packets to one peer as RTMP audio and video
// messages, whether the peer is a player of Chalkcast's server or a
// server that Chalkcast pushes to. Each packet goes out as the chunk
// header and FLV body prefix, then the payload itself, never copied;
// with no time base, those bytes are built once for every peer on the
// same message stream (engine.Packet.Wire). A batch is one writev, and
// nothing is allocated per packet.
type Sender struct {
	c        *Conn
	streamID uint32
	key      any // of the shared bytes in Packet.Wire
	build    func(*engine.Packet) []byte
	sent     flv.Sent
	base     time.Duration
	rebased  bool
	scratch  []byte // a rebased batch's frames
}

// wireKey keys a packet's RTMP frame in Packet.Wire.
type wireKey struct{ streamID uint32 }

// maxFrame bounds a frame: chunk header with extended timestamp (16),
// body prefix (8), continuation header (5).
const maxFrame = 32

// NewSender returns a Sender of media on message stream streamID.
func (c *Conn) NewSender(streamID uint32) *Sender {
	s := &Sender{c: c, streamID: streamID, key: wireKey{streamID}}
	s.build = func(p *engine.Packet) []byte { return s.appendFrame(nil, p, 0) }
	return s
}

// Rebase makes base the time zero of everything sent from now on: a push
// starts its stream at 0 whenever it joins. Frames are then built per
// Sender instead of shared.
func (s *Sender) Rebase(base time.Duration) { s.base, s.rebased = base, true }

// ts is p's timestamp in milliseconds after base.
func ts(p *engine.Packet, base time.Duration) uint32 {
	return uint32(max(p.DTS-base, 0) / time.Millisecond)
}

// channel is the chunk stream and message type of p's track.
func channel(p *engine.Packet) (uint32, byte) {
	if p.Track == engine.TrackVideo {
		return csVideo, TypeVideo
	}
	return csAudio, TypeAudio
}

// appendFrame appends p's chunk header and body prefix, then the header
// of the chunks that continue its body.
func (s *Sender) appendFrame(b []byte, p *engine.Packet, base time.Duration) []byte {
	csid, typ := channel(p)
	t := ts(p, base)
	at := len(b)
	b = appendHeader(b, csid, t, typ, s.streamID, 0)
	h := len(b)
	b = flv.AppendBodyPrefix(b, p)
	n := len(b) - h + len(p.Payload)
	b[at+4], b[at+5], b[at+6] = byte(n>>16), byte(n>>8), byte(n) // the message length, now known
	return appendContinuation(b, csid, t)
}

// Send writes the packets of batch that FLV can carry, each preceded by
// its configuration's sequence header when the peer has not had that
// configuration yet. It returns the bytes of media sent.
func (s *Sender) Send(batch []*engine.Packet) (int, error) {
	c := s.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.bufs = c.bufs[:0]
	if s.rebased {
		if need := len(batch) * maxFrame; cap(s.scratch) < need {
			s.scratch = make([]byte, 0, 2*need)
		}
		s.scratch = s.scratch[:0] // appends below never move it: frames stay valid
	}
	n := 0
	for _, p := range batch {
		if !flv.Carries(p.Codec) {
			continue
		}
		csid, typ := channel(p)
		t := ts(p, s.base)
		hl, cont := 12, 1 // chunk header and continuation header: both carry an extended timestamp
		if t >= 0xffffff {
			hl, cont = hl+4, cont+4
		}
		if s.sent.NeedsHeader(p) {
			if body := flv.HeaderBody(p.Config); body != nil {
				c.bufs = chunk(c.bufs, appendHeader(nil, csid, t, typ, s.streamID, len(body)), appendContinuation(nil, csid, t), c.chunkSize, body)
				n += len(body)
			}
		}
		var f []byte
		if s.rebased {
			at := len(s.scratch)
			s.scratch = s.appendFrame(s.scratch, p, s.base)
			f = s.scratch[at:]
		} else {
			f = p.Wire(s.key, s.build)
		}
		c.bufs = chunk(c.bufs, f[:hl], f[len(f)-cont:], c.chunkSize, f[hl:len(f)-cont], p.Payload)
		n += len(f) - hl - cont + len(p.Payload)
	}
	if len(c.bufs) == 0 {
		return 0, nil
	}
	return n, c.flush()
}
