package encode

import (
	"errors"
	"fmt"
)

// OpenH264 gives every IDR new SPS and PPS ids (0, 1, 2...), which makes
// each GOP look like a new decoder configuration to FLV, MP4 and HLS
// players. zeroParamSetIDs rewrites the ids of one NAL unit to 0 so that
// the parameter sets, and with them the stream's configuration, stay the
// same for the whole stream.

// H.264 NAL unit types this file rewrites.
const (
	nalSlice    = 1
	nalSliceIDR = 5
	nalSPS      = 7
	nalPPS      = 8
)

var errNoStopBit = errors.New("h264: NAL unit has no RBSP stop bit")

// zeroParamSetIDs returns nal (with its one-byte header) with its
// parameter-set ids set to 0: seq_parameter_set_id of an SPS,
// pic_parameter_set_id and seq_parameter_set_id of a PPS,
// pic_parameter_set_id of a slice. Other NAL units, and units whose ids are
// already 0, come back as they are.
func zeroParamSetIDs(nal []byte) ([]byte, error) {
	if len(nal) < 2 {
		return nal, nil
	}
	// which leading ue(v) fields to zero, after how many fixed bits
	var skip int
	var zero []bool
	switch nal[0] & 0x1f {
	case nalSPS: // profile_idc, constraint flags, level_idc; sps id
		skip, zero = 8+24, []bool{true}
	case nalPPS: // pps id, sps id
		skip, zero = 8, []bool{true, true}
	case nalSlice, nalSliceIDR: // first_mb_in_slice, slice_type, pps id
		skip, zero = 8, []bool{false, false, true}
	default:
		return nal, nil
	}
	rbsp := unescapeRBSP(nal)
	r := bitReader{b: rbsp, pos: skip}
	vals := make([]uint32, len(zero))
	changed := false
	for i := range zero {
		v, err := r.ue()
		if err != nil {
			return nil, fmt.Errorf("h264: NAL type %d: %w", nal[0]&0x1f, err)
		}
		vals[i] = v
		if zero[i] && v != 0 {
			changed = true
		}
	}
	if !changed {
		return nal, nil
	}
	stop, err := stopBit(rbsp)
	if err != nil {
		return nil, err
	}
	if stop < r.pos {
		return nil, fmt.Errorf("h264: NAL type %d: stop bit inside the header", nal[0]&0x1f)
	}
	var w bitWriter
	w.b = make([]byte, 0, len(rbsp)+1)
	for i := 0; i < skip/8; i++ {
		w.bits(uint64(rbsp[i]), 8)
	}
	for i, v := range vals {
		if zero[i] {
			v = 0
		}
		w.ue(v)
	}
	// the rest of the payload, then the stop bit and alignment
	for r.pos+8 <= stop {
		w.bits(uint64(r.byteAt()), 8)
		r.pos += 8
	}
	for r.pos < stop {
		w.bits(uint64(r.bit()), 1)
	}
	w.bits(1, 1)
	for w.n%8 != 0 {
		w.bits(0, 1)
	}
	return escapeRBSP(w.b), nil
}

// unescapeRBSP removes emulation-prevention bytes (00 00 03 -> 00 00).
func unescapeRBSP(nal []byte) []byte {
	out := make([]byte, 0, len(nal))
	zeros := 0
	for _, c := range nal {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// escapeRBSP inserts emulation-prevention bytes where two zero bytes are
// followed by a byte of 3 or less.
func escapeRBSP(rbsp []byte) []byte {
	out := make([]byte, 0, len(rbsp)+len(rbsp)/64+4)
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// stopBit is the bit position of the RBSP stop bit: the last 1 bit.
func stopBit(rbsp []byte) (int, error) {
	for i := len(rbsp) - 1; i >= 0; i-- {
		if c := rbsp[i]; c != 0 {
			bit := 7
			for c&1 == 0 {
				c >>= 1
				bit--
			}
			return i*8 + bit, nil
		}
	}
	return 0, errNoStopBit
}

type bitReader struct {
	b   []byte
	pos int // in bits
}

func (r *bitReader) bit() uint32 {
	v := uint32(r.b[r.pos/8]>>(7-r.pos%8)) & 1
	r.pos++
	return v
}

// byteAt reads the 8 bits at pos without moving; pos+8 <= len(b)*8.
func (r *bitReader) byteAt() byte {
	i, off := r.pos/8, r.pos%8
	if off == 0 {
		return r.b[i]
	}
	return r.b[i]<<off | r.b[i+1]>>(8-off)
}

var errShortUE = errors.New("truncated Exp-Golomb value")

// ue reads an unsigned Exp-Golomb value.
func (r *bitReader) ue() (uint32, error) {
	zeros := 0
	for {
		if r.pos >= len(r.b)*8 {
			return 0, errShortUE
		}
		if r.bit() == 1 {
			break
		}
		zeros++
		if zeros > 31 {
			return 0, errors.New("Exp-Golomb value too long")
		}
	}
	if r.pos+zeros > len(r.b)*8 {
		return 0, errShortUE
	}
	v := uint32(0)
	for range zeros {
		v = v<<1 | r.bit()
	}
	return v + (1<<zeros - 1), nil
}

type bitWriter struct {
	b   []byte
	n   int // bits written
	acc byte
}

// bits writes the low n bits of v, most significant first.
func (w *bitWriter) bits(v uint64, n int) {
	if n == 8 { // a whole byte at any alignment: the payload copy
		off := w.n % 8
		w.b = append(w.b, w.acc<<(8-off)|byte(v)>>off)
		w.acc = byte(v) & (1<<off - 1)
		w.n += 8
		return
	}
	for i := n - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | byte(v>>i&1)
		w.n++
		if w.n%8 == 0 {
			w.b = append(w.b, w.acc)
			w.acc = 0
		}
	}
}

func (w *bitWriter) ue(v uint32) {
	x := uint64(v) + 1
	n := 0
	for t := x; t > 1; t >>= 1 {
		n++
	}
	w.bits(0, n)
	w.bits(x, n+1)
}
