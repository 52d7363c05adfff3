package webrtc

import (
	"encoding/binary"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"

	"chalkcast/engine"
	"chalkcast/engine/codec"
)

// PayloadMax is the largest RTP payload sent: with the RTP header, SRTP's
// tag and IP/UDP (or ICE-TCP framing), a packet stays under every
// network's MTU, tunnels and PPPoE included.
const PayloadMax = 1150

// rtpH264 is the key of a packet's RTP payloads in engine.Packet.Wire.
type rtpH264 struct{}

// packetizeH264 cuts an H.264 access unit into RTP payloads (RFC 6184
// packetization mode 1: single NAL units, STAP-A, FU-A), a keyframe with
// its parameter sets first, and returns them as one buffer of 2-byte
// big-endian lengths each followed by its payload. A malformed access unit
// gives nothing: it is not sent.
func packetizeH264(p *engine.Packet) []byte {
	var params [][]byte
	if p.Keyframe && p.Config != nil {
		if rec, err := codec.ParseAVCRecord(p.Config.Record); err == nil {
			params = append(append(params, rec.SPS...), rec.PPS...)
		}
	}
	au, err := codec.NALUnits(p, params)
	if err != nil {
		return nil
	}
	ssrc, seq := uint32(0), uint16(0)
	enc := &rtph264.Encoder{PayloadMaxSize: PayloadMax, PacketizationMode: 1, SSRC: &ssrc, InitialSequenceNumber: &seq}
	if err := enc.Init(); err != nil {
		return nil
	}
	pkts, err := enc.Encode(au)
	if err != nil {
		return nil
	}
	size := 0
	for _, pk := range pkts {
		size += 2 + len(pk.Payload)
	}
	out := make([]byte, 0, size)
	for _, pk := range pkts {
		out = binary.BigEndian.AppendUint16(out, uint16(len(pk.Payload)))
		out = append(out, pk.Payload...)
	}
	return out
}
