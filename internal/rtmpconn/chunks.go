package rtmpconn

import (
	"encoding/binary"
	"net"
)

// appendHeader appends the type 0 chunk header of a message of n bytes on
// chunk stream id.
func appendHeader(h []byte, id, ts uint32, typ byte, streamID uint32, n int) []byte {
	h = appendBasic(h, 0, id)
	field := min(ts, 0xffffff)
	h = append(h, byte(field>>16), byte(field>>8), byte(field), byte(n>>16), byte(n>>8), byte(n), typ)
	h = binary.LittleEndian.AppendUint32(h, streamID)
	if field == 0xffffff {
		h = binary.BigEndian.AppendUint32(h, ts)
	}
	return h
}

// appendContinuation appends the type 3 header that starts each further
// chunk of a message: it repeats an extended timestamp.
func appendContinuation(h []byte, id, ts uint32) []byte {
	h = appendBasic(h, 3, id)
	if ts >= 0xffffff {
		h = binary.BigEndian.AppendUint32(h, ts)
	}
	return h
}

func appendBasic(h []byte, format byte, id uint32) []byte {
	switch {
	case id < 64:
		return append(h, format<<6|byte(id))
	case id < 320:
		return append(h, format<<6, byte(id-64))
	default:
		return append(h, format<<6|1, byte((id-64)%256), byte((id-64)/256))
	}
}

// chunk appends a message's header and body parts to bufs, splitting the
// body into chunks of size with cont before each chunk after the first.
// Nothing is copied: bufs holds slices of head, cont and the parts.
func chunk(bufs net.Buffers, head, cont []byte, size int, parts ...[]byte) net.Buffers {
	bufs = append(bufs, head)
	room := size
	for _, part := range parts {
		for len(part) > 0 {
			if room == 0 {
				bufs, room = append(bufs, cont), size
			}
			k := min(room, len(part))
			bufs = append(bufs, part[:k])
			part, room = part[k:], room-k
		}
	}
	return bufs
}

// AppendChunks appends a message as a peer sends it at chunkSize: a type
// 0 header, then type 3 headers. Tests of what reads RTMP use it to play
// the peer.
func AppendChunks(b []byte, id, ts uint32, typ byte, streamID uint32, chunkSize int, body []byte) []byte {
	for _, part := range chunk(nil, appendHeader(nil, id, ts, typ, streamID, len(body)), appendContinuation(nil, id, ts), chunkSize, body) {
		b = append(b, part...)
	}
	return b
}
