package rtctest

import (
	"encoding/binary"
	"sync"
	"time"
)

// arrivalSlots is how many recent RTP packets' arrival times a player
// keeps: far more than one frame's packets.
const arrivalSlots = 4096

// arrivals are the times RTP packets reached a player's socket, by SSRC
// and sequence number (an SRTP packet's header is not encrypted).
type arrivals struct {
	mu    sync.Mutex
	slots [arrivalSlots]arrival
}

type arrival struct {
	ssrc uint32
	seq  uint16
	at   time.Time
}

// note records the arrival of a packet off the wire, if it is RTP.
func (a *arrivals) note(pkt []byte, at time.Time) {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return // STUN, DTLS
	}
	if pt := pkt[1] & 0x7f; pt >= 64 && pt <= 95 {
		return // RTCP
	}
	seq, ssrc := binary.BigEndian.Uint16(pkt[2:]), binary.BigEndian.Uint32(pkt[8:])
	a.mu.Lock()
	a.slots[seq%arrivalSlots] = arrival{ssrc: ssrc, seq: seq, at: at}
	a.mu.Unlock()
}

// get is when the packet ssrc/seq reached the socket, if that was noted.
func (a *arrivals) get(ssrc uint32, seq uint16) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.slots[seq%arrivalSlots]
	if s.ssrc != ssrc || s.seq != seq || s.at.IsZero() {
		return time.Time{}, false
	}
	return s.at, true
}
