package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxIndexed bounds the fragments an index holds: a day of one-second
// fragments, four times over.
const maxIndexed = 4 * 86400

// mp4Index is where a fragmented MP4's fragments are and what time each
// covers, read from its box headers (moov, moof and their children; no
// media data). It is what a replay's playlist is made of.
type mp4Index struct {
	init   int64  // bytes before the first fragment: ftyp and moov
	track  uint32 // the track that times the fragments: the first (video, if any)
	scales map[uint32]uint32
	first  map[uint32]uint64 // per track: the decode time of its first sample
	end    map[uint32]uint64 // and the end of its last whole fragment
	frags  []mp4Fragment
}

// mp4Fragment is one whole moof+mdat, its time in the timing track's scale.
type mp4Fragment struct {
	off, size  int64
	start, end uint64
}

// maxHeaderBox bounds a moov or moof box, which is read whole: the
// recorder's are a few kilobytes.
const maxHeaderBox = 16 << 20

// readIndex indexes the whole fragments of an MP4 file of size bytes: a
// file cut off in its last fragment (a crash, one still being written)
// indexes up to the fragments before it. It reads the box headers and
// the moov and moof boxes, seeking over the media data.
func readIndex(r io.ReaderAt, size int64) (*mp4Index, error) {
	ix := &mp4Index{scales: map[uint32]uint32{}, first: map[uint32]uint64{}, end: map[uint32]uint64{}}
	pending := map[uint32][2]uint64{} // the open fragment's span per track
	moof := int64(-1)
	var head [16]byte
	for off := int64(0); off+8 <= size; {
		if _, err := r.ReadAt(head[:8], off); err != nil {
			return ix.or(fmt.Errorf("record: read MP4 at %d: %w", off, err))
		}
		n, hdr, typ := int64(binary.BigEndian.Uint32(head[:4])), int64(8), string(head[4:8])
		switch n {
		case 0:
			n = size - off // to the end of the file
		case 1:
			if _, err := r.ReadAt(head[8:16], off+8); err != nil {
				return ix.or(fmt.Errorf("record: read MP4 at %d: %w", off, err))
			}
			n, hdr = int64(binary.BigEndian.Uint64(head[8:16])), 16
		}
		if n < hdr || n > size-off {
			break // torn, or not a box: what came before stands
		}
		switch typ {
		case "moov", "moof":
			if n > maxHeaderBox {
				return ix.or(fmt.Errorf("record: a %s box of %d bytes", typ, n))
			}
			b := make([]byte, n-hdr)
			if _, err := r.ReadAt(b, off+hdr); err != nil {
				return ix.or(fmt.Errorf("record: read MP4 at %d: %w", off, err))
			}
			var err error
			if typ == "moov" {
				err = ix.tracks(b)
			} else {
				if len(ix.frags) >= maxIndexed {
					return ix.or(fmt.Errorf("record: more than %d fragments", maxIndexed))
				}
				if len(ix.frags) == 0 {
					ix.init = off
				}
				moof = off
				clear(pending)
				err = fragmentSpans(b, pending)
			}
			if err != nil {
				return ix.or(err)
			}
		case "mdat":
			if moof >= 0 {
				ix.add(moof, off+n, pending)
				moof = -1
			}
		}
		off += n
	}
	return ix.or(nil)
}

// or is the index, unless it has no fragment and err says why.
func (ix *mp4Index) or(err error) (*mp4Index, error) {
	if err != nil && len(ix.frags) == 0 {
		return nil, err
	}
	return ix, nil
}

// add indexes the fragment from off to end whose tracks span spans.
func (ix *mp4Index) add(off, end int64, spans map[uint32][2]uint64) {
	f := mp4Fragment{off: off, size: end - off}
	if n := len(ix.frags); n > 0 {
		f.start = ix.frags[n-1].end
	}
	f.end = f.start
	for id, span := range spans {
		if _, ok := ix.first[id]; !ok {
			ix.first[id] = span[0]
		}
		ix.end[id] = max(ix.end[id], span[1])
		if id == ix.track {
			f.start, f.end = span[0], span[1]
		}
	}
	ix.frags = append(ix.frags, f)
}

// tracks reads the track IDs and time scales of a moov box's payload.
func (ix *mp4Index) tracks(moov []byte) error {
	return children(moov, func(typ string, trak []byte) error {
		if typ != "trak" {
			return nil
		}
		var id uint32
		return children(trak, func(typ string, b []byte) error {
			switch typ {
			case "tkhd":
				v, ok := fullBox(b, 12, 20)
				if !ok {
					return errors.New("record: short tkhd box")
				}
				id = binary.BigEndian.Uint32(b[v:])
				if ix.track == 0 {
					ix.track = id
				}
			case "mdia":
				return children(b, func(typ string, b []byte) error {
					if typ == "mdhd" {
						v, ok := fullBox(b, 12, 20)
						if !ok {
							return errors.New("record: short mdhd box")
						}
						ix.scales[id] = binary.BigEndian.Uint32(b[v:])
					}
					return nil
				})
			}
			return nil
		})
	})
}

// fragmentSpans adds each track's span of decode times in a moof box's
// payload to spans.
func fragmentSpans(moof []byte, spans map[uint32][2]uint64) error {
	return children(moof, func(typ string, traf []byte) error {
		if typ != "traf" {
			return nil
		}
		var track uint32
		var base uint64
		return children(traf, func(typ string, b []byte) error {
			switch typ {
			case "tfhd":
				if len(b) < 8 {
					return errors.New("record: short tfhd box")
				}
				track = binary.BigEndian.Uint32(b[4:])
			case "tfdt":
				switch {
				case len(b) >= 12 && b[0] == 1:
					base = binary.BigEndian.Uint64(b[4:])
				case len(b) >= 8 && b[0] == 0:
					base = uint64(binary.BigEndian.Uint32(b[4:]))
				default:
					return errors.New("record: bad tfdt box")
				}
			case "trun":
				d, err := trunDuration(b)
				if err != nil {
					return err
				}
				span, ok := spans[track]
				if !ok {
					span = [2]uint64{base, base}
				}
				spans[track] = [2]uint64{min(span[0], base), max(span[1], base+d)}
			}
			return nil
		})
	})
}

// fullBox is where a field lies in a full box's payload: at v0 for
// version 0 and v1 for version 1 (its wider times), if the payload holds
// four bytes there.
func fullBox(b []byte, v0, v1 int) (int, bool) {
	if len(b) < 4 {
		return 0, false
	}
	at := v0
	if b[0] == 1 {
		at = v1
	}
	return at, len(b) >= at+4
}

// children calls f with the type and payload of each box in b.
func children(b []byte, f func(typ string, payload []byte) error) error {
	for len(b) >= 8 {
		n, hdr := uint64(binary.BigEndian.Uint32(b)), uint64(8)
		switch n {
		case 0:
			n = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return errors.New("record: short box header")
			}
			n, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if n < hdr || n > uint64(len(b)) {
			return fmt.Errorf("record: a box of %d bytes in %d", n, len(b))
		}
		if err := f(string(b[4:8]), b[hdr:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// duration is the longest track's span.
func (ix *mp4Index) duration() time.Duration {
	var longest time.Duration
	for id, e := range ix.end {
		if s := ix.scales[id]; s > 0 {
			longest = max(longest, fromScale(int64(e-ix.first[id]), s))
		}
	}
	return longest
}

// playlist is an HLS VOD playlist of the file at uri: its init section and
// each fragment (which starts with a keyframe) as a segment, by byte
// range. Segment times are the timing track's.
func (ix *mp4Index) playlist(uri string) []byte {
	scale := float64(ix.scales[ix.track])
	if scale == 0 {
		scale = 1
	}
	longest := 1.0
	for _, f := range ix.frags {
		longest = max(longest, float64(f.end-f.start)/scale)
	}
	q := strconv.Quote(uri)
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n", int(math.Ceil(longest)))
	fmt.Fprintf(&b, "#EXT-X-MAP:URI=%s,BYTERANGE=\"%d@0\"\n", q, ix.init)
	for _, f := range ix.frags {
		fmt.Fprintf(&b, "#EXTINF:%.3f,\n#EXT-X-BYTERANGE:%d@%d\n%s\n", float64(f.end-f.start)/scale, f.size, f.off, uri)
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return []byte(b.String())
}
